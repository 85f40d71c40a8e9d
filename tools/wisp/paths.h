/* Lexical path helpers (pure: they never look at the file system, so they do
 * not resolve symlinks; callers that need that do it themselves). */
#ifndef WISP_PATHS_H
#define WISP_PATHS_H

/* Collapse "//", "." and ".." textually. Absolute paths stay absolute and ".."
 * stops at "/"; a relative path keeps leading ".." components; "" becomes ".".
 * Returns a malloc'd string. */
char *path_normalize(const char *p);
/* b if it is absolute, else dir/b; normalized, malloc'd. */
char *path_join(const char *dir, const char *b);
/* "/a/b" -> "/a", "/a" -> "/", "a" -> ".", "/" -> "/"; malloc'd. Trailing
 * slashes are ignored. */
char *path_dirname(const char *p);
/* Pointer into p after its last '/' (p itself if none); "" for "/" or "a/". */
const char *path_basename(const char *p);
/* Whether p is "/" or a prefix directory of q: "/a" is a parent of "/a/b"
 * but not of "/ab". Both must be normalized. */
int path_is_parent(const char *p, const char *q);

#endif
