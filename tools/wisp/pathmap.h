/* The image's name space while it is being built: guest path -> what the
 * archive already holds there. Lets the builder skip duplicates (two
 * libraries in one directory add the directory once), detect conflicts, and
 * resolve guest paths through symlinks it already wrote.
 * Pure: a hash table of normalized absolute guest paths. */
#ifndef WISP_PATHMAP_H
#define WISP_PATHMAP_H

#include <stddef.h>

enum pm_type { PM_DIR = 1, PM_FILE, PM_LINK };

struct pm_entry {
	char *path;   /* "/usr/bin" */
	enum pm_type type;
	char *target; /* PM_LINK: the symlink's text */
	char *source; /* PM_FILE: the host file it came from */
};

struct pathmap {
	struct pm_entry *slots; /* open addressing; path == NULL is empty */
	size_t cap, count;
};

void pathmap_init(struct pathmap *m);
void pathmap_free(struct pathmap *m);
struct pm_entry *pathmap_get(const struct pathmap *m, const char *path);
/* Adds path (which must be absent); target/source may be NULL. The strings
 * are copied. Returns the new entry (valid until the next put). */
struct pm_entry *pathmap_put(struct pathmap *m, const char *path, enum pm_type type,
			     const char *target, const char *source);

#endif
