/* Dependency closure of a dynamic ELF program; see libresolve.h. */
#include "libresolve.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elfdeps.h"
#include "paths.h"

static const char *const default_dirs[] = {
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/lib", "/usr/lib",
};
#define N_DEFAULT_DIRS (sizeof(default_dirs) / sizeof(default_dirs[0]))

static int ldconf_parse_depth(const char *path, struct strvec *dirs, int depth);

static void ldconf_include(const char *conf_path, const char *pattern, struct strvec *dirs,
			   int depth)
{
	char *dir = path_dirname(conf_path);
	char *full = path_join(dir, pattern); /* relative includes: next to the file */
	glob_t g;

	if (glob(full, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++)
			ldconf_parse_depth(g.gl_pathv[i], dirs, depth + 1);
		globfree(&g);
	}
	free(full);
	free(dir);
}

/* The format ldconfig reads: '#' comments, "include GLOB...", "hwcap ..."
 * (obsolete, ignored), otherwise one directory per line. */
static int ldconf_parse_depth(const char *path, struct strvec *dirs, int depth)
{
	FILE *f;
	char *line = NULL;
	size_t cap = 0;

	if (depth > 8)
		return 0; /* an include cycle; ldconfig would loop, we stop */
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (getline(&line, &cap, f) >= 0) {
		char *s = line, *e;

		*strchrnul(s, '#') = 0;
		while (isspace((unsigned char)*s))
			s++;
		e = s + strlen(s);
		while (e > s && isspace((unsigned char)e[-1]))
			*--e = 0;
		if (!*s)
			continue;
		if (strncmp(s, "include", 7) == 0 && isblank((unsigned char)s[7])) {
			char *save = NULL;
			for (char *tok = strtok_r(s + 8, " \t", &save); tok;
			     tok = strtok_r(NULL, " \t", &save))
				ldconf_include(path, tok, dirs, depth);
		} else if (strncasecmp(s, "hwcap", 5) == 0 && isblank((unsigned char)s[5])) {
			continue;
		} else if (s[0] == '/') {
			/* Old syntax "dir=TYPE": the type is irrelevant here. */
			char *eq = strchr(s, '=');
			if (eq)
				*eq = 0;
			char *norm = path_normalize(s);
			if (strvec_find(dirs, norm) < 0)
				strvec_push(dirs, norm);
			free(norm);
		}
	}
	free(line);
	fclose(f);
	return 0;
}

int ldconf_parse(const char *path, struct strvec *dirs)
{
	return ldconf_parse_depth(path, dirs, 0);
}

/* A loaded object while the closure is computed. */
struct object {
	char *path;   /* as found */
	char *origin; /* directory for $ORIGIN */
	struct elf_deps deps;
};

struct resolver {
	struct strvec conf_dirs;
	struct strvec names;     /* DT_NEEDED names and sonames already satisfied */
	struct strvec realpaths; /* files already parsed */
	struct object *objs;
	size_t n_objs, cap_objs;
	struct deps_result *res;
	struct strbuf *err;
};

/* Map a whole file read-only. Returns 0, or -1 with errno. */
static int map_file(const char *path, void **p, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		return -1;
	}
	*len = (size_t)st.st_size;
	if (*len == 0) {
		close(fd);
		*p = NULL;
		return 0;
	}
	*p = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	return *p == MAP_FAILED ? -1 : 0;
}

/* Whether path is a readable ELF64 x86-64 file. */
static int is_candidate(const char *path)
{
	unsigned char hdr[64];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? read(fd, hdr, sizeof(hdr)) : -1;
	close(fd);
	return n > 0 && elf_is_x86_64(hdr, (size_t)n);
}

/* Try each element of a ':'-separated search path. Returns a malloc'd path. */
static char *search_list(const char *list, const char *origin, const char *name)
{
	char *expanded = elf_expand_tokens(list, origin);
	char *found = NULL, *save = NULL;

	/* strtok_r skips empty elements; ld.so would read them as the current
	 * directory, which means nothing inside the guest. */
	for (char *dir = strtok_r(expanded, ":", &save); dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		/* Concatenated, not normalized: ".." must be resolved by the
		 * file system (through symlinks), as ld.so's open() does. */
		char *cand = xasprintf("%s/%s", dir, name);
		if (dir[0] == '/' && is_candidate(cand))
			found = cand;
		else
			free(cand);
	}
	free(expanded);
	return found;
}

static char *search(struct resolver *r, const struct object *o, const char *name)
{
	const struct object *exe = &r->objs[0];
	char *p;

	if (strchr(name, '/'))
		return is_candidate(name) ? xstrdup(name) : NULL;
	if (!o->deps.runpath) {
		if (o->deps.rpath && (p = search_list(o->deps.rpath, o->origin, name)))
			return p;
		if (o != exe && !exe->deps.runpath && exe->deps.rpath &&
		    (p = search_list(exe->deps.rpath, exe->origin, name)))
			return p;
	}
	if (o->deps.runpath && (p = search_list(o->deps.runpath, o->origin, name)))
		return p;
	for (size_t i = 0; i < r->conf_dirs.n; i++) {
		p = path_join(r->conf_dirs.v[i], name);
		if (is_candidate(p)) {
			int is_default = 0;
			for (size_t k = 0; k < N_DEFAULT_DIRS; k++)
				is_default |= strcmp(r->conf_dirs.v[i], default_dirs[k]) == 0;
			if (!is_default)
				r->res->used_conf_dir = 1;
			return p;
		}
		free(p);
	}
	for (size_t i = 0; i < N_DEFAULT_DIRS; i++) {
		p = path_join(default_dirs[i], name);
		if (is_candidate(p))
			return p;
		free(p);
	}
	return NULL;
}

/* Parse the object at path and queue it. origin_dir NULL: its own directory. */
static int add_object(struct resolver *r, const char *path, const char *origin_dir)
{
	struct object *o;
	void *map;
	size_t len;
	const char *why = "unreadable";
	char *real = realpath(path, NULL);

	if (!real) {
		strbuf_addf(r->err, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (strvec_find(&r->realpaths, real) >= 0) {
		free(real); /* the same file under another name: parsed already */
		return 0;
	}
	strvec_push(&r->realpaths, real);
	free(real);
	if (r->n_objs == r->cap_objs) {
		r->cap_objs = r->cap_objs ? r->cap_objs * 2 : 16;
		r->objs = xrealloc(r->objs, r->cap_objs * sizeof(*r->objs));
	}
	o = &r->objs[r->n_objs];
	memset(o, 0, sizeof(*o));
	if (map_file(path, &map, &len) < 0) {
		strbuf_addf(r->err, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (elf_deps_parse(map, len, &o->deps, &why) < 0) {
		elf_deps_free(&o->deps);
		if (len)
			munmap(map, len);
		strbuf_addf(r->err, "%s is %s", path, why);
		return -1;
	}
	if (len)
		munmap(map, len);
	o->path = xstrdup(path);
	o->origin = origin_dir ? xstrdup(origin_dir) : path_dirname(path);
	if (o->deps.soname && strvec_find(&r->names, o->deps.soname) < 0)
		strvec_push(&r->names, o->deps.soname);
	r->n_objs++;
	return 0;
}

static int is_elf_file(const char *path)
{
	unsigned char m[4];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, m, 4) : -1;

	if (fd >= 0)
		close(fd);
	return n == 4 && memcmp(m, "\177ELF", 4) == 0;
}

int deps_resolve(const char *program, const char *conf, struct deps_result *res,
		 struct strbuf *err)
{
	struct resolver r;
	char *real, *origin;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	strvec_init(&res->files);
	if (!is_elf_file(program))
		return 0;
	res->is_elf = 1;

	memset(&r, 0, sizeof(r));
	r.res = res;
	r.err = err;
	strvec_init(&r.conf_dirs);
	strvec_init(&r.names);
	strvec_init(&r.realpaths);

	/* glibc takes the executable's $ORIGIN from the kernel's resolved path. */
	real = realpath(program, NULL);
	origin = real ? path_dirname(real) : path_dirname(program);
	free(real);
	rc = add_object(&r, program, origin);
	free(origin);
	if (rc < 0)
		goto out;
	rc = -1;
	if (!r.objs[0].deps.interp && r.objs[0].deps.n_needed == 0) {
		rc = 0; /* static or static-PIE: nothing to load */
		goto out;
	}
	res->is_dynamic = 1;
	if (r.objs[0].deps.interp) {
		if (!is_candidate(r.objs[0].deps.interp)) {
			strbuf_addf(err, "%s needs the interpreter %s, which is not an x86-64 ELF "
				    "file on this host", program, r.objs[0].deps.interp);
			goto out;
		}
		strvec_push(&res->files, r.objs[0].deps.interp);
		/* Parsed for its soname: libc's DT_NEEDED on ld-linux-x86-64.so.2
		 * is satisfied by the interpreter, as in ld.so. */
		if (add_object(&r, r.objs[0].deps.interp, NULL) < 0)
			goto out;
	}
	ldconf_parse(conf, &r.conf_dirs);

	/* Breadth first, like ld.so's load order; objs grows while we walk it. */
	for (size_t i = 0; i < r.n_objs; i++) {
		for (size_t k = 0; k < r.objs[i].deps.n_needed; k++) {
			const char *name = r.objs[i].deps.needed[k];
			char *found;

			if (strvec_find(&r.names, name) >= 0)
				continue;
			found = search(&r, &r.objs[i], name);
			if (!found) {
				strbuf_addf(err, "%s needs %s", program, name);
				if (i > 0)
					strbuf_addf(err, " (through %s)", r.objs[i].path);
				strbuf_adds(err, ", which was not found on this host");
				goto out;
			}
			strvec_push(&r.names, name);
			if (strvec_find(&res->files, found) < 0)
				strvec_push(&res->files, found);
			if (add_object(&r, found, NULL) < 0) {
				free(found);
				goto out;
			}
			free(found);
		}
	}
	rc = 0;
out:
	for (size_t i = 0; i < r.n_objs; i++) {
		free(r.objs[i].path);
		free(r.objs[i].origin);
		elf_deps_free(&r.objs[i].deps);
	}
	free(r.objs);
	strvec_free(&r.conf_dirs);
	strvec_free(&r.names);
	strvec_free(&r.realpaths);
	return rc;
}

void deps_result_free(struct deps_result *res)
{
	strvec_free(&res->files);
}
