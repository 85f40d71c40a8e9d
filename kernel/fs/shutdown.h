/*
 * File systems that hold state in memory register here, so that sync(2)
 * writes them all and the machine's power-off (machine_exit) leaves them
 * clean on disk first.
 */
#pragma once

struct fs_hook {
	const char *name;
	int (*sync)(void *arg);          /* write everything, flush the device */
	void (*shutdown)(void *arg);     /* sync and mark clean; no use after */
	void *arg;
	struct fs_hook *next;
};

void fs_hook_add(struct fs_hook *h);
/* sync(2): every registered file system; the first error. */
int fs_sync_all(void);
/* Called by machine_exit. Runs the shutdown hooks once, and only on a
 * normal exit: after a panic or a fatal exception in the kernel
 * (panic_in_progress) the power-off leaves the disks as a crash would. */
void fs_shutdown_all(void);

/*
 * Work the program's end does before the machine stops, in the exiting
 * thread, once, before machine_exit (program_exit, linux/task.c): the
 * network delivers what TCP still holds. Not run after a panic. A hook may
 * sleep; it must bound its own time.
 */
struct exit_hook {
	const char *name;
	void (*run)(void *arg);
	void *arg;
	struct exit_hook *next;
};

void exit_hook_add(struct exit_hook *h);
void exit_hooks_run(void);
