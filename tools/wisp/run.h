/* `wisp run`: package a program with what it needs and boot it now. */
#ifndef WISP_RUN_H
#define WISP_RUN_H

/* argv[0] is "run". Returns the process exit status. */
int cmd_run(int argc, char **argv);
void run_usage(int to_stderr);
/* `wisp build -o IMAGE ... PROGRAM` and `wisp boot IMAGE`: argv[0] is the
 * command's name. */
int cmd_build(int argc, char **argv);
int cmd_boot(int argc, char **argv);
void build_usage(int to_stderr);
void boot_usage(int to_stderr);

#endif
