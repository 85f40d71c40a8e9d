/* The registry of fs_hooks (shutdown.h). */
#include "fs/shutdown.h"
#include "lib/klog.h"

static struct fs_hook *hooks;
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
