/* Building the initramfs a VM boots with: host files and directories are
 * written to a cpio archive (cpio_write.h) under their guest paths.
 *
 * Two ways to add a path:
 *  - mirrored (image_add_mirror): the guest path is the host path, and the
 *    guest sees the host's layout, symlinks included. Every component that is
 *    a symlink on the host (/lib -> usr/lib on merged-/usr systems) is stored
 *    as that symlink and its target is added too, so any path that works on
 *    the host works in the guest. Used for the program, its libraries and
 *    --add HOST.
 *  - placed (image_add_tree): HOST (followed if it is a symlink) goes to an
 *    explicit GUEST path; missing parents are created as 0755 directories and
 *    the guest path is resolved through symlinks already in the image. Used
 *    for --add HOST:GUEST.
 * Inside an added directory, symlinks are stored as symlinks (not followed),
 * directories recurse, regular files are copied, anything else (devices,
 * sockets, fifos) is skipped with a warning. Entries are written in sorted
 * order so the same inputs give the same archive.
 *
 * Errors are reported with err_msg (one line) and return -1. */
#ifndef WISP_IMAGE_H
#define WISP_IMAGE_H

#include <stdint.h>
#include <time.h>

#include "cpio_write.h"
#include "pathmap.h"

struct image {
	struct cpio_writer w;
	struct pathmap map;
	int fd;
	uint8_t *buf; /* write buffer: cpio emits many small pieces */
	size_t buf_len;
	time_t now;
	unsigned long n_entries;
	uint64_t file_bytes;
};

void image_init(struct image *im, int fd);
/* path: absolute host path; recurse: add a directory's contents too. */
int image_add_mirror(struct image *im, const char *path, int recurse);
/* host: any host path; guest: absolute guest path. */
int image_add_tree(struct image *im, const char *host, const char *guest);
/* A generated file (mode e.g. 0644) at guest, with missing parents, unless
 * the image already has something at that path. Returns 0 when added, 1
 * when something was there, -1 on error. */
int image_add_text(struct image *im, const char *guest, const char *text, unsigned mode);
/* Trailer and flush. */
int image_finish(struct image *im);
void image_free(struct image *im);

#endif
