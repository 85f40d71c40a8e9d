/* Unit tests for tools/wisp/elfdeps.c: a hand-built ELF with every field we
 * read, robustness against truncation and corruption (under ASan), and the
 * host's own binaries compared with readelf. */
#include "../../tools/wisp/buf.c"
#include "../../tools/wisp/elfdeps.c"

#include "check.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Layout of the synthetic file: ehdr | 3 phdrs | interp | strtab | dynamic.
 * One PT_LOAD maps the whole file at vaddr 0x400000. */
#define VBASE 0x400000
static uint8_t img[4096];
static size_t img_len;

static size_t build_elf(int with_runpath, int with_rpath)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof(*eh));
	size_t off = sizeof(*eh) + 3 * sizeof(*ph);
	const char interp[] = "/lib64/ld-linux-x86-64.so.2";
	const char strtab[] = "\0libfoo.so.1\0libc.so.6\0$ORIGIN/../lib\0/opt/rp\0libme.so\0";
	size_t interp_off, str_off, dyn_off;
	Elf64_Dyn *d;
	int n = 0;

	memset(img, 0, sizeof(img));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_DYN;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 3;

	interp_off = off;
	memcpy(img + off, interp, sizeof(interp));
	off += sizeof(interp);
	str_off = off;
	memcpy(img + off, strtab, sizeof(strtab));
	off += sizeof(strtab);
	off = (off + 7) & ~(size_t)7;
	dyn_off = off;
	d = (Elf64_Dyn *)(img + dyn_off);
	d[n].d_tag = DT_NEEDED, d[n++].d_un.d_val = 1;  /* libfoo.so.1 */
	d[n].d_tag = DT_NEEDED, d[n++].d_un.d_val = 13; /* libc.so.6 */
	if (with_runpath)
		d[n].d_tag = DT_RUNPATH, d[n++].d_un.d_val = 23; /* $ORIGIN/../lib */
	if (with_rpath)
		d[n].d_tag = DT_RPATH, d[n++].d_un.d_val = 38;   /* /opt/rp */
	d[n].d_tag = DT_SONAME, d[n++].d_un.d_val = 46;          /* libme.so */
	/* DT_STRTAB after its users: the parser must not depend on order. */
	d[n].d_tag = DT_STRTAB, d[n++].d_un.d_ptr = VBASE + str_off;
	d[n].d_tag = DT_STRSZ, d[n++].d_un.d_val = sizeof(strtab);
	d[n].d_tag = DT_NULL, d[n++].d_un.d_val = 0;
	off += (size_t)n * sizeof(Elf64_Dyn);

	ph[0].p_type = PT_LOAD;
	ph[0].p_offset = 0;
	ph[0].p_vaddr = VBASE;
	ph[0].p_filesz = ph[0].p_memsz = off;
	ph[1].p_type = PT_INTERP;
	ph[1].p_offset = interp_off;
	ph[1].p_vaddr = VBASE + interp_off;
	ph[1].p_filesz = sizeof(interp);
	ph[2].p_type = PT_DYNAMIC;
	ph[2].p_offset = dyn_off;
	ph[2].p_vaddr = VBASE + dyn_off;
	ph[2].p_filesz = (size_t)n * sizeof(Elf64_Dyn);
	img_len = off;
	return off;
}

static void test_synthetic(void)
{
	struct elf_deps d;
	const char *why = NULL;

	build_elf(1, 1);
	CHECK(elf_is_x86_64(img, img_len));
	CHECK(elf_deps_parse(img, img_len, &d, &why) == 0);
	CHECK(d.type == ET_DYN && d.dynamic);
	CHECK(d.interp && strcmp(d.interp, "/lib64/ld-linux-x86-64.so.2") == 0);
	CHECK(d.n_needed == 2);
	CHECK(d.n_needed == 2 && strcmp(d.needed[0], "libfoo.so.1") == 0 &&
	      strcmp(d.needed[1], "libc.so.6") == 0);
	CHECK(d.runpath && strcmp(d.runpath, "$ORIGIN/../lib") == 0);
	CHECK(d.rpath && strcmp(d.rpath, "/opt/rp") == 0);
	CHECK(d.soname && strcmp(d.soname, "libme.so") == 0);
	elf_deps_free(&d);

	build_elf(0, 0);
	CHECK(elf_deps_parse(img, img_len, &d, &why) == 0);
	CHECK(d.runpath == NULL && d.rpath == NULL && d.n_needed == 2);
	elf_deps_free(&d);
}

static void test_rejects(void)
{
	struct elf_deps d;
	const char *why = NULL;
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;

	CHECK(elf_deps_parse("#!/bin/sh\n", 10, &d, &why) < 0 && strstr(why, "not an ELF"));
	elf_deps_free(&d);
	CHECK(elf_deps_parse("", 0, &d, &why) < 0);
	elf_deps_free(&d);

	build_elf(1, 0);
	img[EI_CLASS] = ELFCLASS32;
	CHECK(!elf_is_x86_64(img, img_len));
	CHECK(elf_deps_parse(img, img_len, &d, &why) < 0 && strstr(why, "32-bit"));
	elf_deps_free(&d);

	build_elf(1, 0);
	eh->e_machine = EM_AARCH64;
	CHECK(!elf_is_x86_64(img, img_len));
	CHECK(elf_deps_parse(img, img_len, &d, &why) < 0 && strstr(why, "another machine"));
	elf_deps_free(&d);

	build_elf(1, 0);
	eh->e_type = ET_REL;
	CHECK(elf_deps_parse(img, img_len, &d, &why) < 0);
	elf_deps_free(&d);

	/* A DT_NEEDED offset past the string table. */
	build_elf(1, 0);
	{
		Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof(*eh));
		Elf64_Dyn *dy = (Elf64_Dyn *)(img + ph[2].p_offset);
		dy[0].d_un.d_val = 100000;
	}
	CHECK(elf_deps_parse(img, img_len, &d, &why) < 0 && strstr(why, "DT_NEEDED"));
	elf_deps_free(&d);

	/* An interpreter without its NUL. */
	build_elf(1, 0);
	{
		Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof(*eh));
		ph[1].p_filesz -= 1;
	}
	CHECK(elf_deps_parse(img, img_len, &d, &why) < 0 && strstr(why, "PT_INTERP"));
	elf_deps_free(&d);
}

/* Every prefix and many single-byte corruptions must parse or fail cleanly;
 * ASan turns any out-of-bounds read into a test failure. */
static void test_fuzz(void)
{
	struct elf_deps d;
	const char *why;
	size_t len = build_elf(1, 1);
	uint8_t *copy;
	unsigned seed = 12345;
	int ok = 0, bad = 0;

	for (size_t n = 0; n <= len; n++) {
		copy = malloc(n ? n : 1); /* exact size so overreads are caught */
		memcpy(copy, img, n);
		if (elf_deps_parse(copy, n, &d, &why) == 0)
			ok++;
		else
			bad++;
		elf_deps_free(&d);
		free(copy);
	}
	CHECK(ok >= 1 && bad >= 1);
	for (int iter = 0; iter < 20000; iter++) {
		build_elf(iter & 1, iter & 2);
		for (int k = 0; k < 3; k++) {
			seed = seed * 1103515245 + 12345;
			size_t pos = (seed >> 8) % len;
			seed = seed * 1103515245 + 12345;
			img[pos] = (uint8_t)(seed >> 16);
		}
		copy = malloc(len);
		memcpy(copy, img, len);
		if (elf_deps_parse(copy, len, &d, &why) == 0)
			CHECK(d.n_needed <= 2);
		elf_deps_free(&d);
		free(copy);
	}
}

static int expands(const char *in, const char *want)
{
	char *s = elf_expand_tokens(in, "/opt/app/bin");
	int ok = strcmp(s, want) == 0;
	if (!ok)
		fprintf(stderr, "elf_expand_tokens(%s) = %s, want %s\n", in, s, want);
	free(s);
	return ok;
}

static void test_tokens(void)
{
	CHECK(expands("$ORIGIN/../lib", "/opt/app/bin/../lib"));
	CHECK(expands("${ORIGIN}/x:$ORIGIN", "/opt/app/bin/x:/opt/app/bin"));
	CHECK(expands("/usr/$LIB/foo", "/usr/lib/x86_64-linux-gnu/foo"));
	CHECK(expands("/p/${PLATFORM}", "/p/x86_64"));
	CHECK(expands("$ORIGINAL/x", "$ORIGINAL/x"));
	CHECK(expands("${ORIGIN", "${ORIGIN"));
	CHECK(expands("/a$", "/a$"));
	CHECK(expands("", ""));
}

static int map_file(const char *path, void **p, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || st.st_size == 0) {
		close(fd);
		return -1;
	}
	*len = (size_t)st.st_size;
	*p = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	return *p == MAP_FAILED ? -1 : 0;
}

/* The NEEDED list of a host binary must match readelf's, in order. */
static void check_against_readelf(const char *path)
{
	struct elf_deps d;
	const char *why;
	char cmd[512], line[512], want[2048] = "", got[2048] = "";
	void *p;
	size_t len;
	FILE *f;

	if (map_file(path, &p, &len) < 0) {
		printf("test_tool_elfdeps: %s missing, skipped\n", path);
		return;
	}
	CHECK(elf_deps_parse(p, len, &d, &why) == 0);
	for (size_t i = 0; i < d.n_needed; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s\n", d.needed[i]);
	snprintf(cmd, sizeof(cmd),
		 "readelf -dW %s 2>/dev/null | sed -n 's/.*(NEEDED).*\\[\\(.*\\)\\]/\\1/p'", path);
	f = popen(cmd, "r");
	if (f) {
		while (fgets(line, sizeof(line), f))
			snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s", line);
		pclose(f);
	}
	if (want[0]) {
		CHECK(strcmp(got, want) == 0);
		if (strcmp(got, want))
			fprintf(stderr, "%s: got\n%swant\n%s", path, got, want);
	}
	elf_deps_free(&d);
	munmap(p, len);
}

static void test_host(void)
{
	struct elf_deps d;
	const char *why;
	void *p;
	size_t len;

	if (map_file("/bin/ls", &p, &len) == 0) {
		CHECK(elf_deps_parse(p, len, &d, &why) == 0);
		CHECK(d.interp && strstr(d.interp, "ld-linux-x86-64.so.2"));
		CHECK(d.n_needed >= 1);
		elf_deps_free(&d);
		munmap(p, len);
	}
	check_against_readelf("/bin/ls");
	check_against_readelf("/bin/sh");
	check_against_readelf("/usr/bin/expr");
	check_against_readelf("/lib/x86_64-linux-gnu/libc.so.6");
	/* A static binary: no interpreter, nothing needed. */
	if (map_file("/usr/bin/busybox", &p, &len) == 0) {
		CHECK(elf_deps_parse(p, len, &d, &why) == 0);
		if (!d.dynamic)
			CHECK(d.interp == NULL && d.n_needed == 0);
		elf_deps_free(&d);
		munmap(p, len);
	}
}

int main(void)
{
	test_synthetic();
	test_rejects();
	test_fuzz();
	test_tokens();
	test_host();
	return CHECK_SUMMARY();
}
