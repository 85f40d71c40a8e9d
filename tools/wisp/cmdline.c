/* Kernel command line and option values; see cmdline.h. */
#include "cmdline.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void kcmd_add_token(struct strbuf *b, const char *tok)
{
	if (*tok && !strpbrk(tok, " \t\n\r\"\\")) {
		strbuf_adds(b, tok);
		return;
	}
	strbuf_addc(b, '"');
	for (; *tok; tok++) {
		if (*tok == '"' || *tok == '\\')
			strbuf_addc(b, '\\');
		strbuf_addc(b, *tok);
	}
	strbuf_addc(b, '"');
}

char *kcmd_build(const char *const *opts, size_t n_opts, const char *const *argv, size_t argc)
{
	struct strbuf b;

	strbuf_init(&b);
	for (size_t i = 0; i < n_opts; i++) {
		kcmd_add_token(&b, opts[i]);
		strbuf_addc(&b, ' ');
	}
	/* An unquoted "--" separates the kernel's options from the program. */
	strbuf_adds(&b, "--");
	for (size_t i = 0; i < argc; i++) {
		strbuf_addc(&b, ' ');
		kcmd_add_token(&b, argv[i]);
	}
	return strbuf_detach(&b);
}

int parse_mem_mib(const char *s, unsigned long *mib)
{
	char *end;
	unsigned long long v;
	unsigned long long kib;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || v == 0)
		return -1;
	switch (toupper((unsigned char)*end)) {
	case 0:
		kib = v << 10; /* a bare number is MiB, as with QEMU's -m */
		break;
	case 'K': kib = v; end++; break;
	case 'M': kib = v << 10; end++; break;
	case 'G': kib = v << 20; end++; break;
	case 'T': kib = v << 30; end++; break;
	default:
		return -1;
	}
	/* Shifting back must give v again, or the value overflowed. */
	if (v > (1ull << 30))
		return -1;
	if (strcasecmp(end, "") != 0 && strcasecmp(end, "B") != 0 && strcasecmp(end, "iB") != 0)
		return -1;
	if (kib % 1024 || kib / 1024 == 0 || kib / 1024 > (1ull << 20))
		return -1;
	*mib = (unsigned long)(kib / 1024);
	return 0;
}

int parse_count(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	/* strtod also takes "inf", "nan" and hex floats; a timeout is digits. */
	if (!isdigit((unsigned char)*s) && *s != '.')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v <= 0 || v > 30 * 86400.0)
		return -1;
	*out = v;
	return 0;
}
