/* Reading PT_INTERP and the dynamic section of an ELF file; see elfdeps.h. */
#include "elfdeps.h"

#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

int elf_is_x86_64(const void *buf, size_t len)
{
	const Elf64_Ehdr *eh = buf;

	return len >= sizeof(Elf64_Ehdr) && memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 &&
	       eh->e_ident[EI_CLASS] == ELFCLASS64 && eh->e_ident[EI_DATA] == ELFDATA2LSB &&
	       eh->e_machine == EM_X86_64;
}

void elf_deps_free(struct elf_deps *d)
{
	for (size_t i = 0; i < d->n_needed; i++)
		free(d->needed[i]);
	free(d->needed);
	free(d->interp);
	free(d->rpath);
	free(d->runpath);
	free(d->soname);
	memset(d, 0, sizeof(*d));
}

/* A NUL-terminated string that lies entirely in [base, base+size), or NULL. */
static char *bounded_str(const uint8_t *base, uint64_t size, uint64_t off)
{
	const uint8_t *nul;

	if (off >= size)
		return NULL;
	nul = memchr(base + off, 0, size - off);
	return nul ? xstrdup((const char *)base + off) : NULL;
}

/* Dynamic-section addresses are virtual: map one to a file offset through the
 * PT_LOAD segment that contains it. */
static int vaddr_to_off(const Elf64_Phdr *ph, unsigned n, uint64_t va, uint64_t *off)
{
	for (unsigned i = 0; i < n; i++)
		if (ph[i].p_type == PT_LOAD && va >= ph[i].p_vaddr &&
		    va - ph[i].p_vaddr < ph[i].p_filesz) {
			*off = va - ph[i].p_vaddr + ph[i].p_offset;
			return 0;
		}
	return -1;
}

static int parse_dynamic(const uint8_t *b, size_t len, const Elf64_Phdr *ph, unsigned nph,
			 const Elf64_Phdr *dyn, struct elf_deps *out, const char **why)
{
	const Elf64_Dyn *d;
	size_t nd;
	uint64_t strtab_va = 0, strsz = 0, stroff;
	int have_strtab = 0;
	/* String-table offsets, resolved once DT_STRTAB is known (it may come
	 * after the entries that use it). */
	uint64_t rpath = (uint64_t)-1, runpath = (uint64_t)-1, soname = (uint64_t)-1;
	size_t n_needed = 0;

	if (dyn->p_offset > len || dyn->p_filesz > len - dyn->p_offset) {
		*why = "dynamic section outside the file";
		return -1;
	}
	d = (const Elf64_Dyn *)(b + dyn->p_offset);
	nd = dyn->p_filesz / sizeof(Elf64_Dyn);
	if (dyn->p_offset % _Alignof(Elf64_Dyn)) {
		*why = "misaligned dynamic section";
		return -1;
	}
	for (size_t i = 0; i < nd && d[i].d_tag != DT_NULL; i++) {
		switch (d[i].d_tag) {
		case DT_STRTAB: strtab_va = d[i].d_un.d_ptr; have_strtab = 1; break;
		case DT_STRSZ: strsz = d[i].d_un.d_val; break;
		case DT_NEEDED: n_needed++; break;
		case DT_RPATH: rpath = d[i].d_un.d_val; break;
		case DT_RUNPATH: runpath = d[i].d_un.d_val; break;
		case DT_SONAME: soname = d[i].d_un.d_val; break;
		}
	}
	if (!have_strtab) {
		if (n_needed || rpath != (uint64_t)-1 || runpath != (uint64_t)-1) {
			*why = "dynamic section without a string table";
			return -1;
		}
		return 0;
	}
	if (vaddr_to_off(ph, nph, strtab_va, &stroff) < 0 || stroff > len) {
		*why = "string table outside the file";
		return -1;
	}
	/* Never read past the file even if DT_STRSZ claims more. */
	if (strsz > len - stroff)
		strsz = len - stroff;

	out->needed = xcalloc(n_needed + 1, sizeof(char *));
	for (size_t i = 0; i < nd && d[i].d_tag != DT_NULL; i++) {
		if (d[i].d_tag != DT_NEEDED)
			continue;
		char *s = bounded_str(b + stroff, strsz, d[i].d_un.d_val);
		if (!s || !*s) {
			free(s);
			*why = "bad DT_NEEDED string";
			return -1;
		}
		out->needed[out->n_needed++] = s;
	}
	if (rpath != (uint64_t)-1 && !(out->rpath = bounded_str(b + stroff, strsz, rpath))) {
		*why = "bad DT_RPATH string";
		return -1;
	}
	if (runpath != (uint64_t)-1 && !(out->runpath = bounded_str(b + stroff, strsz, runpath))) {
		*why = "bad DT_RUNPATH string";
		return -1;
	}
	if (soname != (uint64_t)-1 && !(out->soname = bounded_str(b + stroff, strsz, soname))) {
		*why = "bad DT_SONAME string";
		return -1;
	}
	return 0;
}

int elf_deps_parse(const void *buf, size_t len, struct elf_deps *out, const char **why)
{
	const uint8_t *b = buf;
	const Elf64_Ehdr *eh = buf;
	const Elf64_Phdr *ph, *dyn = NULL;
	unsigned nph;

	memset(out, 0, sizeof(*out));
	if (len < SELFMAG || memcmp(b, ELFMAG, SELFMAG) != 0) {
		*why = "not an ELF file";
		return -1;
	}
	if (len < EI_NIDENT) {
		*why = "a truncated ELF file";
		return -1;
	}
	if (b[EI_CLASS] != ELFCLASS64) {
		*why = b[EI_CLASS] == ELFCLASS32 ? "a 32-bit ELF file (wisp runs x86-64 programs)"
						 : "an ELF file of unknown class";
		return -1;
	}
	if (len < sizeof(Elf64_Ehdr)) {
		*why = "a truncated ELF file";
		return -1;
	}
	if (b[EI_DATA] != ELFDATA2LSB || eh->e_machine != EM_X86_64) {
		*why = "an ELF file for another machine (wisp runs x86-64 programs)";
		return -1;
	}
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN) {
		*why = "an ELF file that is neither an executable nor a shared object";
		return -1;
	}
	out->type = eh->e_type;
	nph = eh->e_phnum;
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > len ||
	    (uint64_t)nph * sizeof(Elf64_Phdr) > len - eh->e_phoff ||
	    eh->e_phoff % _Alignof(Elf64_Phdr)) {
		*why = "bad program header table";
		return -1;
	}
	ph = (const Elf64_Phdr *)(b + eh->e_phoff);
	for (unsigned i = 0; i < nph; i++) {
		if (ph[i].p_type == PT_INTERP && !out->interp) {
			if (ph[i].p_offset > len || ph[i].p_filesz > len - ph[i].p_offset ||
			    ph[i].p_filesz == 0 ||
			    !(out->interp = bounded_str(b + ph[i].p_offset, ph[i].p_filesz, 0)) ||
			    !out->interp[0]) {
				*why = "bad PT_INTERP";
				return -1;
			}
		} else if (ph[i].p_type == PT_DYNAMIC && !dyn) {
			dyn = &ph[i];
		}
	}
	if (!dyn)
		return 0;
	out->dynamic = 1;
	return parse_dynamic(b, len, ph, nph, dyn, out, why);
}

char *elf_expand_tokens(const char *s, const char *origin)
{
	static const struct { const char *name; const char *value; } tok[] = {
		{ "ORIGIN", NULL }, { "LIB", "lib/x86_64-linux-gnu" }, { "PLATFORM", "x86_64" },
	};
	struct strbuf out;

	strbuf_init(&out);
	while (*s) {
		size_t i, n = 0;
		int braced = 0;

		if (*s != '$') {
			strbuf_addc(&out, *s++);
			continue;
		}
		braced = s[1] == '{';
		for (i = 0; i < sizeof(tok) / sizeof(tok[0]); i++) {
			n = strlen(tok[i].name);
			const char *name = s + 1 + braced;
			/* "$ORIGINX" is not a token: the name must end here. */
			if (strncmp(name, tok[i].name, n) == 0 &&
			    (braced ? name[n] == '}'
				    : !(name[n] == '_' || (name[n] >= 'A' && name[n] <= 'Z') ||
					(name[n] >= 'a' && name[n] <= 'z') ||
					(name[n] >= '0' && name[n] <= '9'))))
				break;
		}
		if (i == sizeof(tok) / sizeof(tok[0])) {
			strbuf_addc(&out, *s++);
			continue;
		}
		strbuf_adds(&out, tok[i].value ? tok[i].value : origin);
		s += 1 + braced + n + braced;
	}
	return strbuf_detach(&out);
}
