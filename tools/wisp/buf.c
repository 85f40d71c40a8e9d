/* Growable strings and string vectors; see buf.h. */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void buf_oom(void)
{
	static const char msg[] = "wisp: error: out of memory\n";
	/* write(2), not stdio: stdio itself may need memory. */
	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nothing more we can do */
	}
	exit(125);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		buf_oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		buf_oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		buf_oom();
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	struct strbuf b;
	va_list ap;
	int n;

	strbuf_init(&b);
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		buf_oom();
	b.s = xrealloc(b.s, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(b.s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return b.s;
}

void strbuf_init(struct strbuf *b)
{
	b->cap = 16;
	b->len = 0;
	b->s = xmalloc(b->cap);
	b->s[0] = 0;
}

void strbuf_free(struct strbuf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

static void strbuf_grow(struct strbuf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	if (extra > (size_t)-1 / 4 - b->len)
		buf_oom();
	while (b->len + extra + 1 > b->cap)
		b->cap *= 2;
	b->s = xrealloc(b->s, b->cap);
}

void strbuf_addn(struct strbuf *b, const void *p, size_t n)
{
	strbuf_grow(b, n);
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = 0;
}

void strbuf_adds(struct strbuf *b, const char *s)
{
	strbuf_addn(b, s, strlen(s));
}

void strbuf_addc(struct strbuf *b, char c)
{
	strbuf_addn(b, &c, 1);
}

void strbuf_addf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		buf_oom();
	strbuf_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *strbuf_detach(struct strbuf *b)
{
	char *s = b->s;
	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

void strvec_init(struct strvec *v)
{
	v->n = 0;
	v->cap = 8;
	v->v = xcalloc(v->cap, sizeof(char *));
}

void strvec_free(struct strvec *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	v->v = NULL;
	v->n = v->cap = 0;
}

static void strvec_append(struct strvec *v, char *owned)
{
	if (v->n + 2 > v->cap) {
		v->cap *= 2;
		v->v = xrealloc(v->v, v->cap * sizeof(char *));
	}
	v->v[v->n++] = owned;
	v->v[v->n] = NULL;
}

void strvec_push(struct strvec *v, const char *s)
{
	strvec_append(v, xstrdup(s));
}

void strvec_pushf(struct strvec *v, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *s;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		buf_oom();
	s = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	strvec_append(v, s);
}

long strvec_find(const struct strvec *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->v[i], s) == 0)
			return (long)i;
	return -1;
}
