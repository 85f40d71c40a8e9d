#include "lib/cmdline.h"

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n'; }

/* Reads one token starting at *p into dst (which may alias the input:
 * unquoting only ever shortens). Returns false at end of input. */
static bool next_token(char **p, char **tok, bool *quoted_any)
{
	char *s = *p;
	while (is_blank(*s))
		s++;
	if (!*s) {
		*p = s;
		return false;
	}
	char *dst = s;
	*tok = dst;
	*quoted_any = false;
	bool in_quotes = false;
	while (*s && (in_quotes || !is_blank(*s))) {
		if (*s == '"') {
			in_quotes = !in_quotes;
			*quoted_any = true;
			s++;
		} else if (*s == '\\' && in_quotes && (s[1] == '"' || s[1] == '\\')) {
			*dst++ = s[1];
			s += 2;
		} else {
			*dst++ = *s++;
		}
	}
	bool more = *s != 0;
	*dst = 0;
	*p = more ? s + 1 : s;
	return true;
}

int cmdline_parse(char *buf, struct cmdline *out)
{
	int rc = 0;
	out->nopts = 0;
	out->argc = 0;
	bool args = false;
	char *tok, *p = buf;
	bool quoted;
	while (next_token(&p, &tok, &quoted)) {
		if (!args && !quoted && tok[0] == '-' && tok[1] == '-' && tok[2] == 0) {
			args = true;
			continue;
		}
		if (args) {
			if (out->argc < CMDLINE_MAX_ARGS)
				out->argv[out->argc++] = tok;
			else
				rc = -1;
			continue;
		}
		if (out->nopts >= CMDLINE_MAX_OPTS) {
			rc = -1;
			continue;
		}
		struct cmdline_opt *o = &out->opts[out->nopts++];
		o->key = tok;
		o->value = "";
		for (char *e = tok; *e; e++) {
			if (*e == '=') {
				*e = 0;
				o->value = e + 1;
				break;
			}
		}
	}
	out->argv[out->argc] = NULL;
	return rc;
}

static bool str_eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

const char *cmdline_get(const struct cmdline *c, const char *key)
{
	for (int i = c->nopts - 1; i >= 0; i--)
		if (str_eq(c->opts[i].key, key))
			return c->opts[i].value;
	return NULL;
}

bool cmdline_has_flag(const char *raw, const char *flag)
{
	const char *s = raw;
	for (;;) {
		while (is_blank(*s))
			s++;
		if (!*s)
			return false;
		const char *start = s;
		while (*s && !is_blank(*s))
			s++;
		size_t n = (size_t)(s - start);
		if (n == 2 && start[0] == '-' && start[1] == '-')
			return false;
		size_t i = 0;
		while (i < n && flag[i] && start[i] == flag[i])
			i++;
		if (i == n && !flag[i])
			return true;
	}
}
