/*
 * Path resolution internals, shared by vfs.c, open.c and the syscalls.
 * Everything here runs with the VFS lock held and takes no references.
 */
#pragma once
#include "fs/vfs.h"

/* Nested symlink resolutions (a link in the middle of a link's target):
 * each costs a stack frame, so they are bounded apart from the budget of
 * 40 links per walk. */
#define NAMEI_MAX_NEST 16

struct nameidata {
	struct path root;          /* where "/" and ".." at the top lead */
	unsigned flags;            /* LOOKUP_* */
	int links;                 /* symlinks followed so far */
	int depth;                 /* nesting of follow_link */
};

/* The last component of a path. len 0: the path named its start ("/"). */
struct namei_last {
	const char *name;
	size_t len;
	bool slash;                /* followed by '/' */
};

void namei_init(struct nameidata *nd, unsigned flags);
/* Sets nd up for (dirfd, path) and the starting directory in *start
 * (the root for absolute paths, the cwd, or dirfd's file). */
int namei_start(struct nameidata *nd, int dirfd, const char *path, unsigned flags,
		struct path *start);
/* Walks all but the last component from *cur: *cur becomes the parent
 * directory, *last the final name. */
int namei_parent(struct nameidata *nd, struct path *cur, const char *path,
		 struct namei_last *last);
/* Walks the whole path from *cur (flags: LOOKUP_FOLLOW, LOOKUP_DIRECTORY). */
int namei_walk(struct nameidata *nd, struct path *cur, const char *path, unsigned flags);
/* One component from the directory cur, mounts crossed. */
int namei_step(struct nameidata *nd, const struct path *cur, const char *name, size_t len,
	       struct path *next);
struct mount *vfs_root_mount(void);
