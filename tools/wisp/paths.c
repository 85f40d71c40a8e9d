/* Lexical path helpers; see paths.h. */
#include "paths.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"

char *path_normalize(const char *p)
{
	size_t len = strlen(p);
	int abs = p[0] == '/';
	/* Stack of kept components as (start, length) pairs into p. */
	const char **comp = xmalloc((len / 2 + 1) * sizeof(*comp));
	size_t *clen = xmalloc((len / 2 + 1) * sizeof(*clen));
	size_t depth = 0, lead_dotdot = 0;
	struct strbuf out;

	for (const char *s = p; *s;) {
		size_t n;

		while (*s == '/')
			s++;
		if (!*s)
			break;
		n = strcspn(s, "/");
		if (n == 1 && s[0] == '.') {
			/* "." changes nothing */
		} else if (n == 2 && s[0] == '.' && s[1] == '.') {
			if (depth > lead_dotdot) {
				depth--;
			} else if (!abs) {
				/* "../x" cannot be collapsed without the file system */
				comp[depth] = s;
				clen[depth++] = 2;
				lead_dotdot++;
			} /* "/.." is "/" */
		} else {
			comp[depth] = s;
			clen[depth++] = n;
		}
		s += n;
	}
	strbuf_init(&out);
	if (abs)
		strbuf_addc(&out, '/');
	for (size_t i = 0; i < depth; i++) {
		if (i)
			strbuf_addc(&out, '/');
		strbuf_addn(&out, comp[i], clen[i]);
	}
	if (out.len == 0)
		strbuf_addc(&out, '.');
	free(comp);
	free(clen);
	return strbuf_detach(&out);
}

char *path_join(const char *dir, const char *b)
{
	char *tmp, *res;

	if (b[0] == '/')
		return path_normalize(b);
	tmp = xasprintf("%s/%s", dir, b);
	res = path_normalize(tmp);
	free(tmp);
	return res;
}

char *path_dirname(const char *p)
{
	size_t n = strlen(p);

	while (n > 1 && p[n - 1] == '/')
		n--;
	while (n > 0 && p[n - 1] != '/')
		n--;
	if (n == 0)
		return xstrdup(".");
	while (n > 1 && p[n - 1] == '/')
		n--;
	return xstrndup(p, n);
}

const char *path_basename(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

int path_is_parent(const char *p, const char *q)
{
	size_t n = strlen(p);

	if (strcmp(p, "/") == 0)
		return q[0] == '/' && q[1] != 0;
	return strncmp(p, q, n) == 0 && q[n] == '/';
}
