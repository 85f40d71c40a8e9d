/* The initramfs builder; see image.h. */
#include "image.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "paths.h"
#include "util.h"

#define IMAGE_BUF_SIZE (256 * 1024)
#define MAX_LINK_DEPTH 40 /* as the kernel's MAXSYMLINKS */

static int flush(struct image *im)
{
	if (im->buf_len && write_all(im->fd, im->buf, im->buf_len) < 0)
		return -1;
	im->buf_len = 0;
	return 0;
}

static int sink(void *ctx, const void *p, size_t n)
{
	struct image *im = ctx;

	if (im->buf_len + n > IMAGE_BUF_SIZE && flush(im) < 0)
		return -1;
	if (n >= IMAGE_BUF_SIZE)
		return write_all(im->fd, p, n);
	memcpy(im->buf + im->buf_len, p, n);
	im->buf_len += n;
	return 0;
}

void image_init(struct image *im, int fd)
{
	memset(im, 0, sizeof(*im));
	im->fd = fd;
	im->buf = xmalloc(IMAGE_BUF_SIZE);
	im->now = time(NULL);
	pathmap_init(&im->map);
	cpio_init(&im->w, sink, im);
}

void image_free(struct image *im)
{
	pathmap_free(&im->map);
	free(im->buf);
	im->buf = NULL;
}

static const char *type_name(enum pm_type t)
{
	return t == PM_DIR ? "a directory" : t == PM_LINK ? "a symlink" : "a file";
}

/* Archive names are relative: "usr/bin", never "/usr/bin". */
static const char *cpio_name(const char *guest)
{
	return guest + 1;
}

static int write_failed(const char *guest)
{
	err_msg("cannot write the image (at %s): %s", guest, strerror(errno));
	return -1;
}

/* An entry already in the image is fine if it is the same thing again;
 * anything else would make one of the two adds silently lose. Returns 1 when
 * present and compatible, 0 when absent, -1 on conflict. */
static int existing(struct image *im, const char *guest, enum pm_type type,
		    const char *target, const char *source)
{
	struct pm_entry *e = pathmap_get(&im->map, guest);

	if (!e)
		return 0;
	if (e->type == type &&
	    (type == PM_DIR || (type == PM_LINK && strcmp(e->target, target) == 0) ||
	     (type == PM_FILE && strcmp(e->source, source) == 0)))
		return 1;
	err_msg("%s is added twice to the image: as %s%s%s and as %s%s%s", guest,
		type_name(e->type), e->source ? " from " : "", e->source ? e->source : "",
		type_name(type), source ? " from " : "", source ? source : "");
	return -1;
}

static int put_dir(struct image *im, const char *guest, mode_t mode, time_t mtime)
{
	int r;

	if (strcmp(guest, "/") == 0)
		return 0; /* the root exists in every guest */
	if ((r = existing(im, guest, PM_DIR, NULL, NULL)) != 0)
		return r < 0 ? -1 : 0;
	if (cpio_add_dir(&im->w, cpio_name(guest), mode & 07777, mtime) < 0)
		return write_failed(guest);
	pathmap_put(&im->map, guest, PM_DIR, NULL, NULL);
	im->n_entries++;
	return 0;
}

static int put_link(struct image *im, const char *guest, const char *target, time_t mtime)
{
	int r;

	if ((r = existing(im, guest, PM_LINK, target, NULL)) != 0)
		return r < 0 ? -1 : 0;
	if (cpio_add_symlink(&im->w, cpio_name(guest), target, mtime) < 0)
		return write_failed(guest);
	pathmap_put(&im->map, guest, PM_LINK, target, NULL);
	im->n_entries++;
	return 0;
}

static int put_file(struct image *im, const char *guest, const char *host)
{
	struct stat st;
	char *chunk;
	uint64_t left;
	int fd, r;

	if ((r = existing(im, guest, PM_FILE, NULL, host)) != 0)
		return r < 0 ? -1 : 0;
	fd = open(host, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		err_msg("cannot read %s: %s", host, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if ((uint64_t)st.st_size > CPIO_MAX_FILE_SIZE) {
		err_msg("cannot add %s: files over 4 GiB do not fit in an initramfs", host);
		close(fd);
		return -1;
	}
	if (cpio_begin(&im->w, cpio_name(guest), S_IFREG | (st.st_mode & 07777), st.st_mtime,
		       (uint64_t)st.st_size) < 0) {
		close(fd);
		return write_failed(guest);
	}
	chunk = xmalloc(64 * 1024);
	for (left = (uint64_t)st.st_size; left;) {
		ssize_t n = read(fd, chunk, left < 65536 ? (size_t)left : 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* The header already promised st_size bytes. */
			err_msg("cannot read %s: %s", host,
				n < 0 ? strerror(errno) : "the file shrank while being packed");
			free(chunk);
			close(fd);
			return -1;
		}
		if (cpio_data(&im->w, chunk, (size_t)n) < 0) {
			free(chunk);
			close(fd);
			return write_failed(guest);
		}
		left -= (uint64_t)n;
	}
	free(chunk);
	close(fd);
	if (cpio_end(&im->w) < 0)
		return write_failed(guest);
	pathmap_put(&im->map, guest, PM_FILE, NULL, host);
	im->n_entries++;
	im->file_bytes += (uint64_t)st.st_size;
	return 0;
}

static char *read_link(const char *path)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);

	if (n < 0) {
		err_msg("cannot read the symlink %s: %s", path, strerror(errno));
		return NULL;
	}
	buf[n] = 0;
	return xstrdup(buf);
}

/* Mirror a host path into the image; see image.h. On success *final is the
 * host path after all symlinks (malloc'd).
 *
 * The walk keeps cur a real directory (no symlinks in it), so ".." is simply
 * cur's parent: resolved physically, as the kernel and ld.so do, not
 * textually (x/link/.. is not x when link points elsewhere). */
static int mirror(struct image *im, const char *path, int depth, char **final)
{
	char *cur = xstrdup("/");
	const char *s = path;
	int rc = -1;

	if (depth > MAX_LINK_DEPTH) {
		err_msg("cannot add %s: too many levels of symbolic links", path);
		goto out;
	}
	if (path[0] != '/') {
		err_msg("cannot add %s: not an absolute path", path);
		goto out;
	}
	while (*s == '/')
		s++;
	while (*s) {
		size_t n = strcspn(s, "/");
		char *comp = xstrndup(s, n);
		char *next;
		struct stat st;

		s += n;
		while (*s == '/')
			s++;
		if (strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0) {
			next = strcmp(comp, ".") == 0 ? xstrdup(cur) : path_dirname(cur);
			free(comp);
			free(cur);
			cur = next;
			continue;
		}
		next = path_join(cur, comp);
		free(comp);
		if (lstat(next, &st) < 0) {
			err_msg("cannot add %s: %s: %s", path, next, strerror(errno));
			free(next);
			goto out;
		}
		if (S_ISLNK(st.st_mode)) {
			char *target = read_link(next), *again;
			if (!target || put_link(im, next, target, st.st_mtime) < 0) {
				free(target);
				free(next);
				goto out;
			}
			/* Go on with the link's target, then what remained of the
			 * path; both may hold ".." and further links. */
			again = xasprintf("%s%s%s%s%s", target[0] == '/' ? "" : cur,
					  target[0] == '/' || strcmp(cur, "/") == 0 ? "" : "/",
					  target, *s ? "/" : "", s);
			rc = mirror(im, again, depth + 1, final);
			free(target);
			free(again);
			free(next);
			goto out_rc;
		}
		if (S_ISDIR(st.st_mode)) {
			if (put_dir(im, next, st.st_mode, st.st_mtime) < 0) {
				free(next);
				goto out;
			}
		} else if (*s) {
			err_msg("cannot add %s: %s is not a directory", path, next);
			free(next);
			goto out;
		} else if (S_ISREG(st.st_mode)) {
			if (put_file(im, next, next) < 0) {
				free(next);
				goto out;
			}
		} else {
			err_msg("cannot add %s: not a regular file, directory or symlink", next);
			free(next);
			goto out;
		}
		free(cur);
		cur = next;
	}
	*final = xstrdup(cur);
	rc = 0;
	goto out_rc;
out:
	rc = -1;
out_rc:
	free(cur);
	return rc;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* The contents of host directory hdir go under guest directory gdir. */
static int add_contents(struct image *im, const char *hdir, const char *gdir, int depth)
{
	struct dirent **ents;
	int n = scandir(hdir, &ents, NULL, by_name), rc = 0;

	if (n < 0) {
		err_msg("cannot read the directory %s: %s", hdir, strerror(errno));
		return -1;
	}
	if (depth > 256) {
		err_msg("cannot add %s: directories nested too deep", hdir);
		rc = -1;
	}
	for (int i = 0; i < n && rc == 0; i++) {
		const char *name = ents[i]->d_name;
		char *h, *g;
		struct stat st;

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		h = path_join(hdir, name);
		g = path_join(gdir, name);
		if (lstat(h, &st) < 0) {
			err_msg("cannot add %s: %s", h, strerror(errno));
			rc = -1;
		} else if (S_ISLNK(st.st_mode)) {
			char *target = read_link(h);
			rc = target ? put_link(im, g, target, st.st_mtime) : -1;
			free(target);
		} else if (S_ISDIR(st.st_mode)) {
			rc = put_dir(im, g, st.st_mode, st.st_mtime);
			if (rc == 0)
				rc = add_contents(im, h, g, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			rc = put_file(im, g, h);
		} else {
			warn_msg("skipping %s: not a regular file, directory or symlink", h);
		}
		free(h);
		free(g);
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return rc;
}

int image_add_mirror(struct image *im, const char *path, int recurse)
{
	char *final = NULL;
	struct stat st;
	int rc;

	if (mirror(im, path, 0, &final) < 0)
		return -1;
	rc = 0;
	if (recurse && stat(final, &st) == 0 && S_ISDIR(st.st_mode))
		rc = add_contents(im, final, final, 0);
	free(final);
	return rc;
}

/* Resolve a guest path through the symlinks already in the image, so that
 * --add x:/lib/y lands in usr/lib when /lib is a mirrored symlink. */
static char *resolve_guest(struct image *im, const char *guest)
{
	char *path = path_normalize(guest);

	for (int depth = 0; depth < MAX_LINK_DEPTH; depth++) {
		char *prefix = xstrdup("/");
		const char *s = path + 1;
		int changed = 0;

		while (*s && !changed) {
			size_t n = strcspn(s, "/");
			char *comp = xstrndup(s, n);
			char *next = path_join(prefix, comp);
			struct pm_entry *e = pathmap_get(&im->map, next);

			free(comp);
			s += n;
			while (*s == '/')
				s++;
			if (e && e->type == PM_LINK) {
				char *dir = path_dirname(next);
				char *target = path_join(dir, e->target);
				char *np = path_join(target, s);
				free(dir);
				free(target);
				free(path);
				path = np;
				changed = 1;
			}
			free(prefix);
			prefix = next;
		}
		free(prefix);
		if (!changed)
			return path;
	}
	return path; /* a loop in the image's links; let the kernel report it */
}

int image_add_tree(struct image *im, const char *host, const char *guest_in)
{
	struct stat st;
	char *guest, *p;
	int rc = -1;

	if (stat(host, &st) < 0) {
		err_msg("cannot add %s: %s", host, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
		err_msg("cannot add %s: not a regular file or directory", host);
		return -1;
	}
	guest = resolve_guest(im, guest_in);
	/* Missing parents become plain directories. */
	for (p = strchr(guest + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = 0;
		struct pm_entry *e = pathmap_get(&im->map, guest);
		int r = e && e->type != PM_DIR ? existing(im, guest, PM_DIR, NULL, NULL)
					       : put_dir(im, guest, 0755, im->now);
		*p = '/';
		if (r < 0)
			goto out;
	}
	if (S_ISDIR(st.st_mode))
		rc = put_dir(im, guest, st.st_mode, st.st_mtime) < 0 ? -1
								      : add_contents(im, host, guest, 0);
	else
		rc = put_file(im, guest, host);
out:
	free(guest);
	return rc;
}

int image_add_text(struct image *im, const char *guest_in, const char *text, unsigned mode)
{
	char *guest, *p;
	size_t n = strlen(text);
	int rc = -1;

	/* Anything already there (a file, a link, a directory) wins. */
	if (pathmap_get(&im->map, guest_in))
		return 1;
	guest = resolve_guest(im, guest_in);
	if (pathmap_get(&im->map, guest)) {
		free(guest);
		return 1;
	}
	for (p = strchr(guest + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = 0;
		struct pm_entry *e = pathmap_get(&im->map, guest);
		int r = e && e->type != PM_DIR ? existing(im, guest, PM_DIR, NULL, NULL)
					       : put_dir(im, guest, 0755, im->now);
		*p = '/';
		if (r < 0)
			goto out;
	}
	if (cpio_add_file(&im->w, cpio_name(guest), mode & 07777, im->now, text, n) < 0) {
		write_failed(guest);
		goto out;
	}
	/* No host source: a later add of a real file here is a conflict. */
	pathmap_put(&im->map, guest, PM_FILE, NULL, "(generated by wisp)");
	im->n_entries++;
	im->file_bytes += n;
	rc = 0;
out:
	free(guest);
	return rc;
}

int image_finish(struct image *im)
{
	if (cpio_finish(&im->w) < 0 || flush(im) < 0) {
		err_msg("cannot write the image: %s", strerror(errno));
		return -1;
	}
	return 0;
}
