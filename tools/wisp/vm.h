/* Running one VM: start QEMU, relay the framed console between it and our
 * stdin/stdout/stderr, and turn the outcome into wisp's exit status.
 *
 *   program's exit status (exit frame)  -> that status, 0..255
 *   --timeout expired                   -> 124, QEMU killed
 *   SIGINT / SIGTERM / SIGHUP to wisp   -> 128 + signal, QEMU killed
 *   QEMU ended without an exit frame    -> 125 with one error line
 *
 * QEMU runs in its own process group (a terminal's ^C reaches only wisp,
 * which then kills the VM) and dies with wisp (PR_SET_PDEATHSIG). Its stdin
 * is /dev/null and its stdout goes to our stderr, so nothing but the
 * program's own output ever reaches our stdout. */
#ifndef WISP_VM_H
#define WISP_VM_H

struct vm_params {
	char **argv;          /* QEMU's argv; argv[0] is an absolute path */
	int console_fd;       /* our end of the console socketpair */
	int child_fds[2];     /* descriptors QEMU inherits (the socketpair's other
			       * end, the initrd); -1 if unused */
	double timeout;       /* seconds; 0 = none */
	const char *timeout_text; /* as the user wrote it, for the message */
};

/* Returns the exit status wisp should exit with. */
int vm_run(const struct vm_params *p);

#endif
