/* Growable strings and string vectors for the host tool.
 *
 * Pure helpers (no I/O besides the out-of-memory message): every module of the
 * tool that builds text or argument lists uses these, so allocation failure is
 * handled in exactly one place. */
#ifndef WISP_BUF_H
#define WISP_BUF_H

#include <stdarg.h>
#include <stddef.h>

/* A NUL-terminated growable string; s is never NULL after strbuf_init. */
struct strbuf {
	char *s;
	size_t len, cap;
};

/* A NULL-terminated vector of malloc'd strings (usable as an argv). */
struct strvec {
	char **v;
	size_t n, cap;
};

/* Out of memory: one error line, exit status 125. Never returns. */
__attribute__((noreturn)) void buf_oom(void);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void strbuf_init(struct strbuf *b);
void strbuf_free(struct strbuf *b);
void strbuf_addn(struct strbuf *b, const void *p, size_t n);
void strbuf_adds(struct strbuf *b, const char *s);
void strbuf_addc(struct strbuf *b, char c);
void strbuf_addf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hand the string to the caller; b is then freed (strbuf_init to reuse). */
char *strbuf_detach(struct strbuf *b);

void strvec_init(struct strvec *v);
void strvec_free(struct strvec *v);
void strvec_push(struct strvec *v, const char *s);
void strvec_pushf(struct strvec *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Index of s in v, or -1. */
long strvec_find(const struct strvec *v, const char *s);

#endif
