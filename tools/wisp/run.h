/* `wisp run`: package a program with what it needs and boot it now. */
#ifndef WISP_RUN_H
#define WISP_RUN_H

/* argv[0] is "run". Returns the process exit status. */
int cmd_run(int argc, char **argv);
void run_usage(int to_stderr);

#endif
