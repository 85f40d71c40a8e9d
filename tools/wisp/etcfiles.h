/* The small /etc a networked Linux program expects: names (hosts,
 * hostname, resolv.conf, nsswitch.conf, services, protocols) and users
 * (passwd, group: nginx and redis look up users at start). The image
 * builder adds each one that the program's own files (--add) do not
 * provide. Pure: the texts only. See docs/usage.md. */
#ifndef WISP_ETCFILES_H
#define WISP_ETCFILES_H

#include <stddef.h>

#define WISP_HOSTNAME "wisp" /* what the kernel's uname() reports */

struct etc_file {
	const char *path;   /* absolute guest path */
	char *text;         /* malloc'd */
};

/* The files, in a fixed order. dns: the nameserver for resolv.conf, or
 * NULL for none known (the file is then left out). Returns the count;
 * free with etc_files_free. */
size_t etc_files(const char *dns, struct etc_file **out);
void etc_files_free(struct etc_file *f, size_t n);

#endif
