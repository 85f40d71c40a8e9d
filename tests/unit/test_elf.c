/* Unit tests for kernel/linux/elf.c: real programs of every kind (Debian's
 * busybox and lua5.4, ld.so, programs built here with gcc and musl-gcc), a
 * hand-built image broken in each way the validator names, every truncation,
 * and random byte flips. Each parse works on a malloc'ed copy of exactly the
 * given size, so ASan reports any read past the end. */
#include "../../kernel/linux/elf.c"

#include "check.h"

#include <stdlib.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static int parse_copy(const void *p, size_t len, struct elf_info *info)
{
	unsigned char *c = malloc(len ? len : 1);
	memcpy(c, p, len);
	int r = elf_parse(c, len, info);
	/* The interpreter string points into the file: copy it out first. */
	static char interp[ELF_INTERP_MAX];
	if (r == 0 && info->interp) {
		memcpy(interp, info->interp, info->interp_len + 1);
		info->interp = interp;
	}
	free(c);
	return r;
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *p = malloc(n ? n : 1);
	if (fread(p, 1, n, f) != (size_t)n) {
		free(p);
		p = NULL;
	}
	fclose(f);
	*len = n;
	return p;
}

/* --- a hand-built image ------------------------------------------------------ */

#define IMG_SIZE 0x4000
#define INTERP_OFF 0x3f00
static const char interp_path[] = "/lib/ld-musl-x86_64.so.1";

struct img {
	struct elf64_ehdr eh;
	struct elf64_phdr ph[ELF_MAX_PHDRS + 8];
	unsigned n;
};

static void add(struct img *m, uint32_t type, uint32_t flags, uint64_t off, uint64_t vaddr,
		uint64_t filesz, uint64_t memsz, uint64_t align)
{
	m->ph[m->n++] = (struct elf64_phdr){ type, flags, off, vaddr, vaddr, filesz, memsz, align };
}

/* A static ET_EXEC like a small musl program: R, RX, RW segments, TLS, a
 * non-executable stack, program headers mapped by the first segment. */
static struct img base(void)
{
	struct img m;
	memset(&m, 0, sizeof(m));
	memcpy(m.eh.e_ident, "\177ELF", 4);
	m.eh.e_ident[EI_CLASS] = ELFCLASS64;
	m.eh.e_ident[EI_DATA] = ELFDATA2LSB;
	m.eh.e_ident[EI_VERSION] = EV_CURRENT;
	m.eh.e_type = ET_EXEC;
	m.eh.e_machine = EM_X86_64;
	m.eh.e_version = EV_CURRENT;
	m.eh.e_entry = 0x401010;
	m.eh.e_phoff = 64;
	m.eh.e_ehsize = 64;
	m.eh.e_phentsize = sizeof(struct elf64_phdr);
	add(&m, PT_LOAD, PF_R, 0, 0x400000, 0x1000, 0x1000, 0x1000);
	add(&m, PT_LOAD, PF_R | PF_X, 0x1000, 0x401000, 0x800, 0x800, 0x1000);
	add(&m, PT_LOAD, PF_R | PF_W, 0x1800, 0x402800, 0x100, 0x2000, 0x1000);
	add(&m, PT_TLS, PF_R, 0x1800, 0x402800, 0x10, 0x20, 8);
	add(&m, PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0, 16);
	return m;
}

/* base() made dynamic PIE: based at 0, with PT_PHDR and PT_INTERP. */
static struct img dyn(void)
{
	struct img m = base();
	m.eh.e_type = ET_DYN;
	m.eh.e_entry = 0x1010;
	for (unsigned i = 0; i < m.n; i++)
		if (m.ph[i].p_vaddr)
			m.ph[i].p_vaddr -= 0x400000;
	memmove(&m.ph[2], &m.ph[0], m.n * sizeof(m.ph[0]));
	m.n += 2;
	m.ph[0] = (struct elf64_phdr){ PT_PHDR, PF_R, 64, 64, 64, 0, 0, 8 };
	m.ph[1] = (struct elf64_phdr){ PT_INTERP, PF_R, INTERP_OFF, INTERP_OFF, INTERP_OFF,
				       sizeof(interp_path), sizeof(interp_path), 1 };
	return m;
}

static unsigned char *build(struct img *m, size_t *len)
{
	unsigned char *p = calloc(1, IMG_SIZE);
	m->eh.e_phnum = (uint16_t)m->n;
	for (unsigned i = 0; i < m->n; i++)
		if (m->ph[i].p_type == PT_PHDR)
			m->ph[i].p_filesz = m->ph[i].p_memsz = m->n * sizeof(struct elf64_phdr);
	memcpy(p, &m->eh, sizeof(m->eh));
	size_t phbytes = m->n * sizeof(struct elf64_phdr);
	if (m->eh.e_phoff <= IMG_SIZE && phbytes <= IMG_SIZE - m->eh.e_phoff)
		memcpy(p + m->eh.e_phoff, m->ph, phbytes);
	memcpy(p + INTERP_OFF, interp_path, sizeof(interp_path));
	*len = IMG_SIZE;
	return p;
}

/* Parses m; returns the refusal (NULL when accepted). */
static const char *why(struct img m, struct elf_info *out)
{
	static struct elf_info info;
	size_t len;
	unsigned char *p = build(&m, &len);
	int r = parse_copy(p, len, &info);
	free(p);
	if (out)
		*out = info;
	CHECK((r == 0) == (info.why[0] == 0));
	return r == 0 ? NULL : info.why;
}

static int has(const char *s, const char *sub)
{
	if (!s || !strstr(s, sub)) {
		fprintf(stderr, "  expected \"%s\" in \"%s\"\n", sub, s ? s : "(accepted)");
		return 0;
	}
	return 1;
}

static void crafted(void)
{
	struct elf_info info;
	struct img m;

	/* The good ones. */
	CHECK(why(base(), &info) == NULL);
	CHECK(info.kind == ELF_STATIC && !info.pie && info.entry == 0x401010);
	CHECK(info.nload == 3 && info.load_start == 0x400000 && info.load_end == 0x405000);
	CHECK(info.load[2].filesz == 0x100 && info.load[2].memsz == 0x2000 &&
	      info.load[2].flags == (PF_R | PF_W));
	CHECK(info.has_tls && info.tls.memsz == 0x20 && info.tls.align == 8);
	CHECK(!info.exec_stack && info.interp == NULL);
	CHECK(info.phdr_vaddr == 0x400040 && info.phnum == 5 && info.phentsize == 56);
	CHECK(strcmp(elf_kind_name(info.kind), "static") == 0);

	CHECK(why(dyn(), &info) == NULL);
	CHECK(info.kind == ELF_DYNAMIC && info.pie && info.entry == 0x1010);
	CHECK(info.interp && !strcmp(info.interp, interp_path) &&
	      info.interp_len == strlen(interp_path));
	CHECK(info.phdr_vaddr == 64 && info.load_start == 0 && info.load_end == 0x5000);

	m = dyn();
	m.ph[1].p_type = PT_NOTE;      /* no interpreter: static-pie */
	CHECK(why(m, &info) == NULL && info.kind == ELF_STATIC_PIE);
	m = base();
	m.ph[4].p_flags |= PF_X;
	CHECK(why(m, &info) == NULL && info.exec_stack);
	m = base();
	m.n--;                         /* no PT_GNU_STACK: not executable */
	CHECK(why(m, &info) == NULL && !info.exec_stack);

	/* Identification. */
	m = base(); m.eh.e_ident[0] = 0x7e;
	CHECK(has(why(m, NULL), "bad magic"));
	m = base(); m.eh.e_ident[EI_CLASS] = ELFCLASS32; m.eh.e_machine = EM_386;
	CHECK(has(why(m, NULL), "not ELF64: a 32-bit ELF file (i386)"));
	m = base(); m.eh.e_ident[EI_CLASS] = 7;
	CHECK(has(why(m, NULL), "bad ELF class 7"));
	m = base(); m.eh.e_ident[EI_DATA] = ELFDATA2MSB; m.eh.e_machine = 0x1500; /* 21 in BE */
	CHECK(has(why(m, NULL), "not little-endian: a big-endian ELF file (powerpc64)"));
	m = base(); m.eh.e_ident[EI_DATA] = 0;
	CHECK(has(why(m, NULL), "bad ELF data encoding"));
	m = base(); m.eh.e_ident[EI_VERSION] = 2;
	CHECK(has(why(m, NULL), "bad ELF version"));
	m = base(); m.eh.e_ident[EI_OSABI] = 9;    /* FreeBSD */
	CHECK(has(why(m, NULL), "not a Linux program"));
	m = base(); m.eh.e_ident[EI_OSABI] = 3;    /* GNU/Linux is fine */
	CHECK(why(m, NULL) == NULL);

	/* Header. */
	m = base(); m.eh.e_machine = EM_AARCH64;
	CHECK(has(why(m, NULL), "wrong machine: aarch64"));
	m = base(); m.eh.e_machine = 4321;
	CHECK(has(why(m, NULL), "wrong machine: e_machine 4321"));
	m = base(); m.eh.e_type = ET_REL;
	CHECK(has(why(m, NULL), "relocatable object"));
	m = base(); m.eh.e_type = ET_CORE;
	CHECK(has(why(m, NULL), "core dump"));
	m = base(); m.eh.e_type = 0xfe00;
	CHECK(has(why(m, NULL), "bad ELF type"));
	m = base(); m.eh.e_phentsize = 32;
	CHECK(has(why(m, NULL), "bad e_phentsize 32"));
	m = base(); m.n = 0;
	CHECK(has(why(m, NULL), "no program headers"));
	m = base();
	while (m.n < ELF_MAX_PHDRS)
		add(&m, PT_NOTE, PF_R, 0, 0, 0, 0, 4);
	CHECK(why(m, NULL) == NULL);                  /* exactly the limit */
	add(&m, PT_NOTE, PF_R, 0, 0, 0, 0, 4);
	CHECK(has(why(m, NULL), "too many program headers: 129"));
	m = base(); m.eh.e_phoff = IMG_SIZE - 100;
	CHECK(has(why(m, NULL), "truncated program headers"));
	m = base(); m.eh.e_phoff = UINT64_MAX - 10;
	CHECK(has(why(m, NULL), "truncated program headers"));

	/* Segments. */
	m = base(); m.ph[1].p_filesz = IMG_SIZE;
	CHECK(has(why(m, NULL), "program header 1 (PT_LOAD): segment beyond the end of the file"));
	m = base(); m.ph[1].p_offset = UINT64_MAX - 4;
	CHECK(has(why(m, NULL), "beyond the end of the file"));
	m = base(); m.ph[3].p_filesz = 0x4000;
	CHECK(has(why(m, NULL), "(PT_TLS): segment beyond the end"));
	m = base(); m.ph[2].p_filesz = 0x2001;
	CHECK(has(why(m, NULL), "p_filesz 0x2001 > p_memsz 0x2000"));
	m = base(); m.ph[1].p_offset = 0x1010;
	CHECK(has(why(m, NULL), "misaligned"));
	m = base(); m.ph[1].p_align = 0x3000;
	CHECK(has(why(m, NULL), "not a power of two"));
	m = base(); m.ph[1].p_align = 0;               /* 0 and 1 mean none */
	CHECK(why(m, NULL) == NULL);
	m = base(); m.ph[2].p_vaddr = 0x7ffffffff000; m.ph[2].p_offset = 0x1000;
	CHECK(has(why(m, NULL), "outside user space"));
	m = base(); m.ph[2].p_vaddr = 0xffffffff80000800;
	CHECK(has(why(m, NULL), "outside user space"));
	m = base(); m.ph[1].p_memsz = 0x1801;          /* runs into the RW segment */
	CHECK(has(why(m, NULL), "PT_LOAD segments overlap: [0x401000, 0x402801) and [0x402800"));
	m = base(); m.ph[1].p_memsz = 0x1800;          /* touching is not overlapping */
	CHECK(why(m, NULL) == NULL);
	m = base(); m.ph[2].p_vaddr = 0x3ff800; m.ph[2].p_offset = 0x1800;
	CHECK(has(why(m, NULL), "overlap"));           /* overlap from below */
	m = base();
	for (unsigned i = 0; i < m.n; i++)
		if (m.ph[i].p_type == PT_LOAD)
			m.ph[i].p_type = PT_NOTE;
	CHECK(has(why(m, NULL), "no PT_LOAD segment"));
	m = base();
	while (m.n < 4 + ELF_MAX_LOADS)
		add(&m, PT_LOAD, PF_R, 0, 0x500000 + m.n * 0x1000, 0, 0, 0x1000);
	CHECK(has(why(m, NULL), "too many PT_LOAD segments"));
	m = base();
	add(&m, PT_LOAD, PF_R, 0, 0, 0, 0, 0x1000);    /* empty: ignored by the span */
	CHECK(why(m, &info) == NULL && info.load_start == 0x400000 && info.nload == 4);
	m = base();
	for (unsigned i = 0; i < 3; i++)
		m.ph[i].p_memsz = m.ph[i].p_filesz = 0;
	CHECK(has(why(m, NULL), "every PT_LOAD segment is empty"));
	m = base(); m.eh.e_entry = 0x400010;           /* in the R segment */
	CHECK(has(why(m, NULL), "entry point 0x400010 is not in an executable segment"));
	m = base(); m.eh.e_entry = 0x401800;           /* one past the RX segment */
	CHECK(has(why(m, NULL), "not in an executable segment"));
	m = base(); m.eh.e_entry = 0;
	CHECK(has(why(m, NULL), "(a shared library?)"));
	m = base();
	for (unsigned i = 0; i < 3; i++)
		m.ph[i].p_vaddr -= 0x3f0000;
	m.eh.e_entry -= 0x3f0000;                      /* ET_EXEC at 0x10000: fine */
	CHECK(why(m, NULL) == NULL);
	for (unsigned i = 0; i < 3; i++)
		m.ph[i].p_vaddr -= 0x10000;
	m.eh.e_entry -= 0x10000;
	CHECK(has(why(m, NULL), "ET_EXEC loads at 0, below 64 KiB"));

	/* PT_INTERP. */
	m = dyn(); m.ph[1].p_filesz = 1;
	CHECK(has(why(m, NULL), "PT_INTERP is empty"));
	m = dyn(); m.ph[1].p_filesz = sizeof(interp_path) - 1;
	CHECK(has(why(m, NULL), "PT_INTERP is not NUL-terminated"));
	m = dyn(); m.ph[1].p_filesz = sizeof(interp_path) + 1;
	CHECK(has(why(m, NULL), "PT_INTERP has a NUL inside the path"));
	m = dyn(); m.ph[1].p_offset = 0x1000; m.ph[1].p_filesz = ELF_INTERP_MAX + 1;
	CHECK(has(why(m, NULL), "PT_INTERP longer than 4096"));
	m = dyn(); m.ph[1].p_offset = IMG_SIZE - 3;
	CHECK(has(why(m, NULL), "program header 1 (PT_INTERP): segment beyond the end"));
	m = dyn(); add(&m, PT_INTERP, PF_R, INTERP_OFF, 0, sizeof(interp_path), 0, 1);
	CHECK(has(why(m, NULL), "more than one PT_INTERP"));
	m = dyn(); m.ph[1].p_offset = INTERP_OFF - 1;  /* "\0/lib/ld-musl-x86_64.so.\0" */
	m.ph[1].p_filesz = sizeof(interp_path) + 1;
	CHECK(has(why(m, NULL), "PT_INTERP has a NUL inside the path"));
	m = base(); add(&m, PT_TLS, PF_R, 0x1800, 0x402800, 0x10, 0x20, 8);
	CHECK(has(why(m, NULL), "more than one PT_TLS"));
	m = base(); m.ph[3].p_memsz = 1;
	CHECK(has(why(m, NULL), "(PT_TLS): p_filesz"));

	/* Not ELF at all. */
	CHECK(parse_copy("", 0, &info) < 0 && has(info.why, "empty file"));
	CHECK(parse_copy("#!/bin/sh\necho hi\n", 18, &info) < 0 && has(info.why, "a script (#!)"));
	CHECK(parse_copy("hello, world\n", 13, &info) < 0 && has(info.why, "bad magic"));
	CHECK(parse_copy("\177EL", 3, &info) < 0 && has(info.why, "truncated ELF header: 3 of 64"));
	CHECK(parse_copy("\177EX", 3, &info) < 0 && has(info.why, "bad magic"));
}

/* Every prefix of the image is refused until the last byte anything needs
 * (here the end of the RW segment's file data), and then accepted. */
static void truncations(struct img m)
{
	size_t len;
	unsigned char *p = build(&m, &len);
	size_t need = 64 + m.n * sizeof(struct elf64_phdr);
	for (unsigned i = 0; i < m.n; i++) {
		uint32_t t = m.ph[i].p_type;
		if (t == PT_LOAD || t == PT_INTERP || t == PT_TLS || t == PT_DYNAMIC)
			if (m.ph[i].p_offset + m.ph[i].p_filesz > need)
				need = m.ph[i].p_offset + m.ph[i].p_filesz;
	}
	int bad = 0;
	struct elf_info info;
	for (size_t n = 0; n <= len; n++) {
		int r = parse_copy(p, n, &info);
		if (r != (n < need ? -1 : 0)) {
			fprintf(stderr, "  prefix %zu: %d (%s)\n", n, r, info.why);
			bad++;
		}
	}
	CHECK(bad == 0);
	free(p);
}

static void fuzz(void)
{
	struct img m = dyn();
	size_t len;
	unsigned char *good = build(&m, &len);
	unsigned seed = 777;
	int ok = 0;
	struct elf_info info;
	for (int round = 0; round < 20000; round++) {
		unsigned char *c = malloc(len);
		memcpy(c, good, len);
		for (int k = 0; k < 1 + round % 5; k++) {
			seed = seed * 1103515245 + 12345;
			/* Hit the headers much more often than the filler. */
			size_t at = (seed >> 8) % (round & 1 ? 64 + m.n * 56 : len);
			seed = seed * 1103515245 + 12345;
			c[at] = (unsigned char)(seed >> 16);
		}
		if (elf_parse(c, len, &info) == 0) {
			ok++;
			/* Whatever was accepted must be self-consistent. */
			CHECK(info.nload >= 1 && info.load_start <= info.load_end);
			CHECK(info.load_end <= ELF_USER_END);
			if (info.interp)
				CHECK(strlen(info.interp) == info.interp_len);
		} else {
			CHECK(info.why[0] != 0);
		}
		free(c);
	}
	CHECK(ok > 0);
	free(good);
}

/* --- real programs ----------------------------------------------------------- */

static char tmpdir[64];

static int sh(const char *cmd)
{
	char full[1024];
	snprintf(full, sizeof(full), "cd %s && %s", tmpdir, cmd);
	return system(full);
}

/* Parses a file; returns 0 when accepted. */
static int parse_file(const char *path, struct elf_info *info)
{
	size_t len;
	unsigned char *p = slurp(path, &len);
	if (!p) {
		fprintf(stderr, "  cannot read %s\n", path);
		snprintf(info->why, sizeof(info->why), "unreadable");
		return -2;
	}
	int r = parse_copy(p, len, info);
	free(p);
	return r;
}

static void expect_kind(const char *path, enum elf_kind kind, bool pie, const char *interp)
{
	struct elf_info info;
	int r = parse_file(path, &info);
	if (r == -2)
		return;       /* not installed here */
	if (r != 0)
		fprintf(stderr, "  %s refused: %s\n", path, info.why);
	CHECK(r == 0);
	CHECK(info.kind == kind);
	CHECK(info.pie == pie);
	if (interp)
		CHECK(info.interp && !strcmp(info.interp, interp));
	else
		CHECK(info.interp == NULL);
	CHECK(info.nload >= 1 && info.load_start < info.load_end);
	CHECK(info.phdr_vaddr != 0);
	CHECK(!info.exec_stack);
}

static void expect_refused(const char *path, const char *reason)
{
	struct elf_info info;
	int r = parse_file(path, &info);
	if (r == -2)
		return;
	CHECK(r == -1 && has(info.why, reason));
}

/* Writes a copy of src with `n` bytes at `off` replaced. */
static void patched(const char *src, const char *dst, size_t off, const void *bytes, size_t n,
		    size_t truncate_to)
{
	size_t len;
	unsigned char *p = slurp(src, &len);
	if (!p)
		return;
	if (n)
		memcpy(p + off, bytes, n);
	if (truncate_to && truncate_to < len)
		len = truncate_to;
	FILE *f = fopen(dst, "wb");
	fwrite(p, 1, len, f);
	fclose(f);
	free(p);
}

static void real_programs(void)
{
	expect_kind("/bin/busybox", ELF_STATIC, false, NULL);
	expect_kind("/usr/bin/lua5.4", ELF_DYNAMIC, true, "/lib64/ld-linux-x86-64.so.2");
	expect_kind("/lib64/ld-linux-x86-64.so.2", ELF_STATIC_PIE, true, NULL);
	expect_refused("/usr/lib/x86_64-linux-gnu/libm.so.6", "(a shared library?)");

	strcpy(tmpdir, "/tmp/test_elf.XXXXXX");
	CHECK(mkdtemp(tmpdir) != NULL);
	FILE *f = fopen(strcat(strcpy((char[128]){ 0 }, tmpdir), "/hello.c"), "w");
	fputs("#include <stdio.h>\n__thread int t = 1;\n"
	      "int main(void) { printf(\"hello %d\\n\", t); return 0; }\n", f);
	fclose(f);

	char path[160];
#define P(name) (snprintf(path, sizeof(path), "%s/%s", tmpdir, name), path)
	if (sh("musl-gcc -static -O2 -o musl-static hello.c 2>/dev/null") == 0) {
		expect_kind(P("musl-static"), ELF_STATIC, false, NULL);
		struct elf_info info;
		CHECK(parse_file(P("musl-static"), &info) == 0 && info.has_tls);
	} else {
		fprintf(stderr, "  (musl-gcc missing: skipped)\n");
	}
	/* (Debian's musl-gcc wrapper cannot make a real static-pie: its
	 * -static-pie output still names the musl interpreter.) */
	if (sh("musl-gcc -O2 -o musl-dyn hello.c 2>/dev/null") == 0)
		expect_kind(P("musl-dyn"), ELF_DYNAMIC, true, "/lib/ld-musl-x86_64.so.1");
	CHECK(sh("gcc -static-pie -O2 -o glibc-spie hello.c") == 0);
	expect_kind(P("glibc-spie"), ELF_STATIC_PIE, true, NULL);
	CHECK(sh("gcc -static -O2 -o glibc-static hello.c") == 0);
	expect_kind(P("glibc-static"), ELF_STATIC, false, NULL);
	CHECK(sh("gcc -no-pie -O2 -o glibc-nopie hello.c") == 0);
	expect_kind(P("glibc-nopie"), ELF_DYNAMIC, false, "/lib64/ld-linux-x86-64.so.2");
	CHECK(sh("gcc -O2 -o glibc-pie hello.c") == 0);
	expect_kind(P("glibc-pie"), ELF_DYNAMIC, true, "/lib64/ld-linux-x86-64.so.2");
	CHECK(sh("gcc -O2 -z execstack -o glibc-execstack hello.c 2>/dev/null") == 0);
	struct elf_info info;
	CHECK(parse_file(P("glibc-execstack"), &info) == 0 && info.exec_stack);
	CHECK(sh("gcc -O2 -c -o hello.o hello.c") == 0);
	expect_refused(P("hello.o"), "relocatable object (ET_REL)");
	CHECK(sh("gcc -O2 -shared -fPIC -o libhello.so hello.c") == 0);
	expect_refused(P("libhello.so"), "not in an executable segment");

	/* Foreign machines and classes, made by patching busybox. */
	uint16_t aarch64 = EM_AARCH64;
	patched("/bin/busybox", P("busybox-aarch64"), 18, &aarch64, 2, 0);
	expect_refused(path, "wrong machine: aarch64, not x86-64");
	unsigned char i386[2] = { EM_386, 0 };
	patched("/bin/busybox", P("busybox-i386"), 18, i386, 2, 0);
	unsigned char class32 = ELFCLASS32;
	patched(path, path, EI_CLASS, &class32, 1, 0);
	expect_refused(path, "not ELF64: a 32-bit ELF file (i386)");
	patched("/bin/busybox", P("busybox-trunc"), 0, NULL, 0, 100000);
	expect_refused(path, "segment beyond the end of the file");
	patched("/bin/busybox", P("busybox-hdr"), 0, NULL, 0, 40);
	expect_refused(path, "truncated ELF header: 40 of 64 bytes");
	expect_refused("/etc/passwd", "bad magic");

	/* Every prefix of the first 4 KiB of a real dynamic program. */
	size_t len;
	unsigned char *lua = slurp("/usr/bin/lua5.4", &len);
	if (lua) {
		int accepted = 0;
		for (size_t n = 0; n <= 4096 && n <= len; n++)
			accepted += parse_copy(lua, n, &info) == 0;
		CHECK(accepted == 0);
		free(lua);
	}
#undef P
	snprintf(path, sizeof(path), "rm -rf %s", tmpdir);
	CHECK(system(path) == 0);
}

int main(void)
{
	crafted();
	truncations(base());
	truncations(dyn());
	fuzz();
	real_programs();
	CHECK(strcmp(elf_machine_name(EM_AARCH64), "aarch64") == 0);
	CHECK(elf_machine_name(4321) == NULL);
	return CHECK_SUMMARY();
}
