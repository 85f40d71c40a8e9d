/*
 * Starting the one program. For now (until the Linux ABI lands) this finds
 * the program in the image and identifies it; the ABI work replaces the body
 * of program_start with the real loader.
 */
#pragma once

/* Exit statuses when there is no program to run, following the shell and
 * `docker run`: 125 the image (or command line) is unusable, 126 the program
 * exists but cannot be executed, 127 it is not there. */
#define EXIT_BAD_IMAGE      125
#define EXIT_NOT_EXECUTABLE 126
#define EXIT_NOT_FOUND      127

/* Runs argv[0] (argc >= 1; argv and envp NULL-terminated), looked up in the
 * root file system. Returns the status the VM should exit with. */
int program_start(int argc, char **argv, char **envp);

/* The program's path in the image (what /proc/self/exe names). */
const char *program_exe_path(void);
