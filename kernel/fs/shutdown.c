/* The registry of fs_hooks (shutdown.h). */
#include "fs/shutdown.h"
#include "lib/klog.h"

static struct fs_hook *hooks;
static struct exit_hook *exit_hooks;
static int shut_down;

void fs_hook_add(struct fs_hook *h)
{
	/* Mounts happen at boot, one at a time. */
	h->next = hooks;
	hooks = h;
}

int fs_sync_all(void)
{
	int err = 0;
	for (struct fs_hook *h = hooks; h; h = h->next) {
		int r = h->sync ? h->sync(h->arg) : 0;
		if (r < 0 && !err)
			err = r;
	}
	return err;
}

void fs_shutdown_all(void)
{
	if (!hooks || panic_in_progress || __atomic_exchange_n(&shut_down, 1, __ATOMIC_ACQ_REL))
		return;
	for (struct fs_hook *h = hooks; h; h = h->next)
		if (h->shutdown)
			h->shutdown(h->arg);
}

void exit_hook_add(struct exit_hook *h)
{
	/* Added once each, by subsystems as they start (may be under their
	 * own spinlocks): a compare-and-swap push, no lock of ours. */
	struct exit_hook *old = __atomic_load_n(&exit_hooks, __ATOMIC_ACQUIRE);
	do
		h->next = old;
	while (!__atomic_compare_exchange_n(&exit_hooks, &old, h, false, __ATOMIC_ACQ_REL,
					    __ATOMIC_ACQUIRE));
}

void exit_hooks_run(void)
{
	static int ran;
	if (panic_in_progress || __atomic_exchange_n(&ran, 1, __ATOMIC_ACQ_REL))
		return;
	for (struct exit_hook *h = __atomic_load_n(&exit_hooks, __ATOMIC_ACQUIRE); h; h = h->next)
		h->run(h->arg);
}
