/*
 * ELF64 validation. The order of the checks is the order a reader needs the
 * fields in, so the reason given is always about the first thing that is
 * wrong: identification, header, program-header table, each segment, then
 * the relations between segments.
 */
#include "linux/elf.h"

#ifdef HOST_TEST
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#else
#include "lib/printf.h"
#include "lib/string.h"
#endif

static int refuse(struct elf_info *info, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int refuse(struct elf_info *info, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(info->why, sizeof(info->why), fmt, ap);
	va_end(ap);
	return -1;
}

const char *elf_kind_name(enum elf_kind k)
{
	switch (k) {
	case ELF_STATIC:     return "static";
	case ELF_STATIC_PIE: return "static-pie";
	case ELF_DYNAMIC:    return "dynamic";
	}
	return "?";
}

const char *elf_machine_name(uint16_t m)
{
	switch (m) {
	case EM_386:     return "i386";
	case EM_ARM:     return "arm";
	case EM_X86_64:  return "x86-64";
	case EM_AARCH64: return "aarch64";
	case EM_RISCV:   return "riscv";
	case 8:          return "mips";
	case 20:         return "powerpc";
	case 21:         return "powerpc64";
	case 22:         return "s390";
	case 258:        return "loongarch";
	}
	return NULL;
}

static const char *ptype_name(uint32_t t)
{
	switch (t) {
	case PT_LOAD:    return "PT_LOAD";
	case PT_DYNAMIC: return "PT_DYNAMIC";
	case PT_INTERP:  return "PT_INTERP";
	case PT_TLS:     return "PT_TLS";
	}
	return "segment";
}

static bool bad_align(uint64_t a)
{
	return a > 1 && (a & (a - 1));
}

static struct elf_segment seg(const struct elf64_phdr *p)
{
	return (struct elf_segment){
		.offset = p->p_offset, .vaddr = p->p_vaddr, .filesz = p->p_filesz,
		.memsz = p->p_memsz, .align = p->p_align, .flags = p->p_flags,
	};
}

/* The machine named for a refusal, as "aarch64" or "e_machine 1234". */
static void machine_str(char *buf, size_t n, uint16_t m)
{
	const char *name = elf_machine_name(m);
	if (name)
		snprintf(buf, n, "%s", name);
	else
		snprintf(buf, n, "e_machine %u", m);
}

static int check_ident(const uint8_t *f, size_t size, struct elf_info *info)
{
	if (size == 0)
		return refuse(info, "empty file");
	if (size >= 2 && f[0] == '#' && f[1] == '!')
		return refuse(info, "a script (#!), not an ELF program: run its interpreter instead");
	if (memcmp(f, "\177ELF", size < 4 ? size : 4))
		return refuse(info, "not an ELF file (bad magic)");
	if (size < EI_NIDENT)
		return refuse(info, "truncated ELF header: %zu of 64 bytes", size);

	char mach[32] = "unknown machine";
	if (size >= 20) {
		/* e_machine is at offset 18 in both classes, in the file's byte order. */
		uint16_t m = f[EI_DATA] == ELFDATA2MSB ? (uint16_t)(f[18] << 8 | f[19])
						       : (uint16_t)(f[19] << 8 | f[18]);
		machine_str(mach, sizeof(mach), m);
	}
	if (f[EI_CLASS] == ELFCLASS32)
		return refuse(info, "not ELF64: a 32-bit ELF file (%s)", mach);
	if (f[EI_CLASS] != ELFCLASS64)
		return refuse(info, "bad ELF class %u", f[EI_CLASS]);
	if (f[EI_DATA] == ELFDATA2MSB)
		return refuse(info, "not little-endian: a big-endian ELF file (%s)", mach);
	if (f[EI_DATA] != ELFDATA2LSB)
		return refuse(info, "bad ELF data encoding %u", f[EI_DATA]);
	if (f[EI_VERSION] != EV_CURRENT)
		return refuse(info, "bad ELF version %u", f[EI_VERSION]);
	/* 0 = System V (what most linkers write), 3 = GNU/Linux. */
	if (f[EI_OSABI] != 0 && f[EI_OSABI] != 3)
		return refuse(info, "not a Linux program (ELF OS ABI %u)", f[EI_OSABI]);
	return 0;
}

int elf_parse(const void *file, size_t size, struct elf_info *info)
{
	const uint8_t *f = file;
	memset(info, 0, sizeof(*info));

	if (check_ident(f, size, info) < 0)
		return -1;
	struct elf64_ehdr eh;
	if (size < sizeof(eh))
		return refuse(info, "truncated ELF header: %zu of 64 bytes", size);
	memcpy(&eh, f, sizeof(eh));

	if (eh.e_machine != EM_X86_64) {
		char mach[32];
		machine_str(mach, sizeof(mach), eh.e_machine);
		return refuse(info, "wrong machine: %s, not x86-64", mach);
	}
	switch (eh.e_type) {
	case ET_EXEC:
	case ET_DYN:
		break;
	case ET_REL:
		return refuse(info, "a relocatable object (ET_REL), not an executable");
	case ET_CORE:
		return refuse(info, "a core dump (ET_CORE), not an executable");
	default:
		return refuse(info, "bad ELF type (e_type %u)", eh.e_type);
	}
	if (eh.e_phentsize != sizeof(struct elf64_phdr))
		return refuse(info, "bad e_phentsize %u (ELF64 program headers are 56 bytes)",
			      eh.e_phentsize);
	if (eh.e_phnum == 0)
		return refuse(info, "no program headers");
	if (eh.e_phnum > ELF_MAX_PHDRS)
		return refuse(info, "too many program headers: %u (at most %u)", eh.e_phnum,
			      ELF_MAX_PHDRS);
	uint64_t phsize = (uint64_t)eh.e_phnum * sizeof(struct elf64_phdr);
	if (eh.e_phoff > size || phsize > size - eh.e_phoff)
		return refuse(info, "truncated program headers: %u at offset %#lx, file is %zu bytes",
			      eh.e_phnum, (unsigned long)eh.e_phoff, size);

	info->pie = eh.e_type == ET_DYN;
	info->entry = eh.e_entry;
	info->phoff = eh.e_phoff;
	info->phnum = eh.e_phnum;
	info->phentsize = eh.e_phentsize;
	bool has_phdr = false;

	for (unsigned i = 0; i < eh.e_phnum; i++) {
		struct elf64_phdr ph;
		memcpy(&ph, f + eh.e_phoff + i * sizeof(ph), sizeof(ph));

		if (ph.p_type == PT_LOAD || ph.p_type == PT_INTERP || ph.p_type == PT_TLS ||
		    ph.p_type == PT_DYNAMIC) {
			if (ph.p_offset > size || ph.p_filesz > size - ph.p_offset)
				return refuse(info, "program header %u (%s): segment beyond the end "
					      "of the file (offset %#lx + size %#lx > %#zx)", i,
					      ptype_name(ph.p_type), (unsigned long)ph.p_offset,
					      (unsigned long)ph.p_filesz, size);
		}

		switch (ph.p_type) {
		case PT_LOAD:
			if (info->nload == ELF_MAX_LOADS)
				return refuse(info, "too many PT_LOAD segments (at most %u)",
					      ELF_MAX_LOADS);
			if (ph.p_filesz > ph.p_memsz)
				return refuse(info, "program header %u (PT_LOAD): p_filesz %#lx > "
					      "p_memsz %#lx", i, (unsigned long)ph.p_filesz,
					      (unsigned long)ph.p_memsz);
			if (bad_align(ph.p_align))
				return refuse(info, "program header %u (PT_LOAD): p_align %#lx is "
					      "not a power of two", i, (unsigned long)ph.p_align);
			if ((ph.p_offset - ph.p_vaddr) % ELF_PAGE_SIZE)
				return refuse(info, "program header %u (PT_LOAD): p_offset %#lx and "
					      "p_vaddr %#lx are misaligned (differ modulo the page "
					      "size)", i, (unsigned long)ph.p_offset,
					      (unsigned long)ph.p_vaddr);
			if (ph.p_vaddr >= ELF_USER_END || ph.p_memsz > ELF_USER_END - ph.p_vaddr)
				return refuse(info, "program header %u (PT_LOAD): %#lx + %#lx is "
					      "outside user space", i, (unsigned long)ph.p_vaddr,
					      (unsigned long)ph.p_memsz);
			info->load[info->nload++] = seg(&ph);
			break;
		case PT_INTERP: {
			if (info->interp)
				return refuse(info, "more than one PT_INTERP");
			if (ph.p_filesz < 2)
				return refuse(info, "PT_INTERP is empty");
			if (ph.p_filesz > ELF_INTERP_MAX)
				return refuse(info, "PT_INTERP longer than %u bytes", ELF_INTERP_MAX);
			const char *s = (const char *)f + ph.p_offset;
			if (s[ph.p_filesz - 1] != 0)
				return refuse(info, "PT_INTERP is not NUL-terminated");
			if (memchr(s, 0, ph.p_filesz - 1))
				return refuse(info, "PT_INTERP has a NUL inside the path");
			info->interp = s;
			info->interp_len = ph.p_filesz - 1;
			break;
		}
		case PT_TLS:
			if (info->has_tls)
				return refuse(info, "more than one PT_TLS");
			if (ph.p_filesz > ph.p_memsz)
				return refuse(info, "program header %u (PT_TLS): p_filesz %#lx > "
					      "p_memsz %#lx", i, (unsigned long)ph.p_filesz,
					      (unsigned long)ph.p_memsz);
			if (bad_align(ph.p_align))
				return refuse(info, "program header %u (PT_TLS): p_align %#lx is "
					      "not a power of two", i, (unsigned long)ph.p_align);
			info->has_tls = true;
			info->tls = seg(&ph);
			break;
		case PT_GNU_STACK:
			info->exec_stack = ph.p_flags & PF_X;
			info->stack_size = ph.p_memsz;
			break;
		case PT_GNU_RELRO:
			info->has_relro = true;
			info->relro = seg(&ph);
			break;
		case PT_DYNAMIC:
			info->has_dynamic = true;
			info->dynamic = seg(&ph);
			break;
		case PT_PHDR:
			has_phdr = true;
			info->phdr_vaddr = ph.p_vaddr;
			break;
		}
	}

	if (info->nload == 0)
		return refuse(info, "no PT_LOAD segment: nothing to load");

	uint64_t lo = UINT64_MAX, hi = 0;
	for (unsigned i = 0; i < info->nload; i++) {
		const struct elf_segment *a = &info->load[i];
		for (unsigned j = i + 1; j < info->nload; j++) {
			const struct elf_segment *b = &info->load[j];
			if (a->memsz && b->memsz && a->vaddr < b->vaddr + b->memsz &&
			    b->vaddr < a->vaddr + a->memsz)
				return refuse(info, "PT_LOAD segments overlap: [%#lx, %#lx) and "
					      "[%#lx, %#lx)", (unsigned long)a->vaddr,
					      (unsigned long)(a->vaddr + a->memsz),
					      (unsigned long)b->vaddr,
					      (unsigned long)(b->vaddr + b->memsz));
		}
		if (a->memsz == 0)
			continue;       /* maps nothing: not part of the span */
		if (a->vaddr < lo)
			lo = a->vaddr;
		if (a->vaddr + a->memsz > hi)
			hi = a->vaddr + a->memsz;
	}
	if (hi == 0)
		return refuse(info, "every PT_LOAD segment is empty: nothing to load");
	info->load_start = lo & ~(uint64_t)(ELF_PAGE_SIZE - 1);
	info->load_end = (hi + ELF_PAGE_SIZE - 1) & ~(uint64_t)(ELF_PAGE_SIZE - 1);
	/* Linux refuses mappings below vm.mmap_min_addr (64 KiB by default). */
	if (!info->pie && info->load_start < 0x10000)
		return refuse(info, "ET_EXEC loads at %#lx, below 64 KiB",
			      (unsigned long)info->load_start);

	bool entry_ok = false;
	for (unsigned i = 0; i < info->nload; i++) {
		const struct elf_segment *a = &info->load[i];
		if ((a->flags & PF_X) && info->entry >= a->vaddr &&
		    info->entry - a->vaddr < a->memsz)
			entry_ok = true;
	}
	if (!entry_ok)
		return refuse(info, "entry point %#lx is not in an executable segment%s",
			      (unsigned long)info->entry,
			      info->entry == 0 ? " (a shared library?)" : "");

	/* Without PT_PHDR, the headers are visible if a PT_LOAD maps them. */
	if (!has_phdr) {
		for (unsigned i = 0; i < info->nload; i++) {
			const struct elf_segment *a = &info->load[i];
			if (eh.e_phoff >= a->offset && eh.e_phoff - a->offset <= a->filesz &&
			    phsize <= a->filesz - (eh.e_phoff - a->offset)) {
				info->phdr_vaddr = a->vaddr + (eh.e_phoff - a->offset);
				break;
			}
		}
	}

	info->kind = info->interp ? ELF_DYNAMIC : info->pie ? ELF_STATIC_PIE : ELF_STATIC;
	return 0;
}
