/* wisp: the command users type. Subcommands live in their own files; this
 * only dispatches. See docs/usage.md. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "run.h"
#include "util.h"

static void usage(FILE *f)
{
	fputs("usage: wisp COMMAND [OPTIONS]\n"
	      "\n"
	      "commands:\n"
	      "  run [OPTIONS] [--] PROGRAM [ARGS...]   package PROGRAM and boot it now\n"
	      "  build -o IMAGE [OPTIONS] [--] PROGRAM  write a bootable ext2 disk image\n"
	      "  boot IMAGE [OPTIONS]                   boot an image made by 'wisp build'\n"
	      "  version                                print the version\n"
	      "\n"
	      "'wisp run --help' lists the options. Exit status: the program's own,\n"
	      "124 on --timeout, 125 when wisp itself fails.\n",
	      f);
}

/* Descriptors 0-2 must be open before anything else is: a socket or the
 * initrd landing on fd 1 would receive the program's output. */
static int ensure_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", fd ? O_WRONLY : O_RDONLY) != fd)
			return -1;
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (ensure_std_fds() < 0)
		return EXIT_TOOL;
	if (!cmd) {
		usage(stderr);
		return EXIT_TOOL;
	}
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("wisp %s\n", WISP_VERSION);
		return 0;
	}
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "build") == 0)
		return cmd_build(argc - 1, argv + 1);
	if (strcmp(cmd, "boot") == 0)
		return cmd_boot(argc - 1, argv + 1);
	err_msg("unknown command '%s' (see 'wisp --help')", cmd);
	return EXIT_TOOL;
}
