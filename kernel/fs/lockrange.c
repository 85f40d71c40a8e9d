/* Lock range lists: see lockrange.h. */
#include "fs/lockrange.h"
#include "fs/ramfs.h"          /* fs_alloc, fs_free */

static bool overlaps(const struct file_lock *l, uint64_t start, uint64_t end)
{
	return l->start <= end && start <= l->end;
}

const struct file_lock *lock_conflict(const struct file_lock *list, int cls, const void *owner,
				      int type, uint64_t start, uint64_t end)
{
	for (const struct file_lock *l = list; l; l = l->next) {
		if (l->cls != cls || l->owner == owner || !overlaps(l, start, end))
			continue;
		if (type == LK_WRITE || l->type == LK_WRITE)
			return l;
	}
	return NULL;
}

int lock_apply(struct file_lock **list, int cls, const void *owner, int pid, int type,
	       uint64_t start, uint64_t end)
{
	/* Allocate everything that may be needed first (a split needs one
	 * more node, the new lock one), so that failing changes nothing. */
	struct file_lock *spare[2] = { NULL, NULL };
	for (int i = 0; i < 2; i++) {
		spare[i] = fs_alloc(sizeof(struct file_lock));
		if (!spare[i]) {
			fs_free(spare[0]);
			return -ENOMEM;
		}
	}
	/* Cut [start, end] out of every range of owner. */
	struct file_lock **pp = list;
	while (*pp) {
		struct file_lock *l = *pp;
		if (l->cls != cls || l->owner != owner || !overlaps(l, start, end)) {
			pp = &l->next;
			continue;
		}
		bool left = l->start < start, right = l->end > end;
		if (left && right) {
			struct file_lock *r = spare[1];
			spare[1] = NULL;
			*r = *l;
			r->start = end + 1;
			l->end = start - 1;
			r->next = l->next;
			l->next = r;
			pp = &r->next;
		} else if (left) {
			l->end = start - 1;
			pp = &l->next;
		} else if (right) {
			l->start = end + 1;
			pp = &l->next;
		} else {
			*pp = l->next;
			fs_free(l);
		}
	}
	if (type != LK_UNLOCK) {
		/* Merge with owner's adjacent ranges of the same type. */
		for (pp = list; *pp; ) {
			struct file_lock *l = *pp;
			bool adj = l->cls == cls && l->owner == owner && l->type == type &&
				   ((end != LOCK_EOF && l->start == end + 1) ||
				    (start != 0 && l->end == start - 1));
			if (adj) {
				if (l->start < start)
					start = l->start;
				if (l->end > end)
					end = l->end;
				*pp = l->next;
				fs_free(l);
				continue;
			}
			pp = &l->next;
		}
		struct file_lock *n = spare[0];
		spare[0] = NULL;
		*n = (struct file_lock){ *list, start, end, owner, type, cls, pid };
		*list = n;
	}
	fs_free(spare[0]);
	fs_free(spare[1]);
	return 0;
}

void lock_remove_owner(struct file_lock **list, int cls, const void *owner)
{
	struct file_lock **pp = list;
	while (*pp) {
		struct file_lock *l = *pp;
		if (l->cls == cls && l->owner == owner) {
			*pp = l->next;
			fs_free(l);
		} else {
			pp = &l->next;
		}
	}
}
