/*
 * ELF64 executables: the file format definitions the kernel needs, and a
 * validator that decides whether a file is an x86-64 Linux program wisp can
 * load, and describes it for the loader.
 *
 * Pure: the host unit tests include elf.c. The validator reads only the ELF
 * header, the program headers and the PT_INTERP string; every offset is
 * checked against the file size first, and fields are copied out with
 * memcpy, so a misaligned or truncated file is refused, never read past.
 */
#pragma once

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

/* --- the format (System V gABI, x86-64 psABI) ------------------------------ */
#define EI_NIDENT     16
#define EI_CLASS      4
#define EI_DATA       5
#define EI_VERSION    6
#define EI_OSABI      7
#define ELFCLASS32    1
#define ELFCLASS64    2
#define ELFDATA2LSB   1
#define ELFDATA2MSB   2
#define EV_CURRENT    1

#define ET_REL        1
#define ET_EXEC       2
#define ET_DYN        3
#define ET_CORE       4

#define EM_386        3
#define EM_ARM        40
#define EM_X86_64     62
#define EM_AARCH64    183
#define EM_RISCV      243

#define PT_NULL       0
#define PT_LOAD       1
#define PT_DYNAMIC    2
#define PT_INTERP     3
#define PT_NOTE       4
#define PT_PHDR       6
#define PT_TLS        7
#define PT_GNU_EH_FRAME 0x6474e550
#define PT_GNU_STACK  0x6474e551
#define PT_GNU_RELRO  0x6474e552
#define PT_GNU_PROPERTY 0x6474e553

#define PF_X          1
#define PF_W          2
#define PF_R          4

struct elf64_ehdr {
	uint8_t  e_ident[EI_NIDENT];
	uint16_t e_type;
	uint16_t e_machine;
	uint32_t e_version;
	uint64_t e_entry;
	uint64_t e_phoff;
	uint64_t e_shoff;
	uint32_t e_flags;
	uint16_t e_ehsize;
	uint16_t e_phentsize;
	uint16_t e_phnum;
	uint16_t e_shentsize;
	uint16_t e_shnum;
	uint16_t e_shstrndx;
};

struct elf64_phdr {
	uint32_t p_type;
	uint32_t p_flags;
	uint64_t p_offset;
	uint64_t p_vaddr;
	uint64_t p_paddr;
	uint64_t p_filesz;
	uint64_t p_memsz;
	uint64_t p_align;
};

/* --- the validator ---------------------------------------------------------- */

#define ELF_MAX_PHDRS     128    /* real programs have about 10-15 */
#define ELF_MAX_LOADS     16     /* PT_LOAD segments; real programs have 2-5 */
#define ELF_INTERP_MAX    4096   /* PT_INTERP incl. its NUL, like PATH_MAX */
#define ELF_PAGE_SIZE     4096
#define ELF_USER_END      0x0000800000000000ull   /* x86-64 lower half */

enum elf_kind {
	ELF_STATIC,          /* ET_EXEC without PT_INTERP: load at its addresses */
	ELF_STATIC_PIE,      /* ET_DYN without PT_INTERP (also ld.so itself) */
	ELF_DYNAMIC,         /* PT_INTERP present (ET_EXEC or ET_DYN): load the interpreter too */
};

/* A segment as the loader needs it. */
struct elf_segment {
	uint64_t offset, vaddr, filesz, memsz, align;
	uint32_t flags;      /* PF_R | PF_W | PF_X */
};

struct elf_info {
	enum elf_kind kind;
	bool pie;                    /* ET_DYN: addresses are relative to a chosen base */
	uint64_t entry;              /* e_entry (relative to the base when pie) */

	/* Program headers (for AT_PHDR/AT_PHENT/AT_PHNUM). phdr_vaddr is where
	 * they appear in memory once loaded (PT_PHDR, else found inside a
	 * PT_LOAD), 0 when they are not in any loaded segment. */
	uint64_t phoff;
	uint16_t phnum, phentsize;
	uint64_t phdr_vaddr;

	/* PT_LOAD segments in file order, and the page-aligned span
	 * [load_start, load_end) they cover: what to reserve before mapping. */
	struct elf_segment load[ELF_MAX_LOADS];
	unsigned nload;
	uint64_t load_start, load_end;

	/* PT_INTERP: the interpreter path, NUL-terminated inside the file. */
	const char *interp;
	size_t interp_len;

	bool has_tls;                /* PT_TLS: the initial TLS image */
	struct elf_segment tls;
	bool has_relro;              /* PT_GNU_RELRO: made read-only after relocation */
	struct elf_segment relro;
	bool has_dynamic;            /* PT_DYNAMIC */
	struct elf_segment dynamic;
	bool exec_stack;             /* PT_GNU_STACK has PF_X (absent: not executable,
	                              * as on x86-64 Linux since 5.8) */
	uint64_t stack_size;         /* PT_GNU_STACK p_memsz when non-zero, else 0 */

	/* When elf_parse fails: why, in words (e.g. "wrong machine: aarch64"). */
	char why[128];
};

/* Validates file[0..size) as an x86-64 Linux ELF64 executable and fills
 * *info. Returns 0, or -1 with info->why set. Refuses: a bad magic (a
 * `#!` script is named as such), a 32-bit or big-endian file, another
 * machine, a type other than ET_EXEC/ET_DYN, a truncated header or
 * program-header table, more than ELF_MAX_PHDRS program headers, a segment
 * beyond the end of the file or of user space, p_filesz > p_memsz, p_offset
 * and p_vaddr not congruent modulo the page size, a bad p_align, overlapping
 * PT_LOAD segments, no PT_LOAD, a malformed or repeated PT_INTERP, and an
 * entry point outside every executable segment. */
int elf_parse(const void *file, size_t size, struct elf_info *info);

/* "static", "static-pie" or "dynamic". */
const char *elf_kind_name(enum elf_kind k);
/* "x86-64", "aarch64", "i386"... or NULL when unknown. */
const char *elf_machine_name(uint16_t machine);
