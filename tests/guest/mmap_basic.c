/* mmap, munmap, mprotect, mremap, madvise, mincore, brk: the semantics the
 * C libraries and allocators rely on. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include "check.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PG 4096

int main(int argc, char **argv)
{
	(void)argc;
	/* Anonymous memory is zeroed and writable. */
	size_t len = 16 * PG;
	unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT(p != MAP_FAILED);
	EXPECT(((uintptr_t)p & (PG - 1)) == 0);
	int zero = 1;
	for (size_t i = 0; i < len; i++)
		if (p[i])
			zero = 0;
	EXPECT(zero);
	memset(p, 0xab, len);
	EXPECT(p[len - 1] == 0xab);

	/* mincore sees touched pages. */
	unsigned char vec[16];
	EXPECT(mincore(p, len, vec) == 0);
	EXPECT(vec[0] & 1);
	EXPECT_ERRNO(mincore(p + 1, PG, vec), EINVAL);

	/* madvise(DONTNEED) gives zeroes back. */
	EXPECT(madvise(p + PG, PG, MADV_DONTNEED) == 0);
	EXPECT(p[PG] == 0 && p[2 * PG - 1] == 0 && p[0] == 0xab && p[2 * PG] == 0xab);

	/* mprotect splits and keeps contents. */
	EXPECT(mprotect(p + 4 * PG, PG, PROT_READ) == 0);
	EXPECT(p[4 * PG] == 0xab);
	EXPECT(mprotect(p + 4 * PG, PG, PROT_READ | PROT_WRITE) == 0);
	p[4 * PG] = 1;
	EXPECT(p[4 * PG] == 1);
	EXPECT(mprotect(p, PG, PROT_NONE) == 0);
	EXPECT(mprotect(p, PG, PROT_READ | PROT_WRITE) == 0);
	EXPECT(p[0] == 0xab);
	/* Raw: musl's wrapper rounds the address down itself. */
	EXPECT_ERRNO(syscall(SYS_mprotect, p + 1, PG, PROT_READ), EINVAL);

	/* munmap of a middle piece, MAP_FIXED_NOREPLACE around it. */
	EXPECT(munmap(p + 8 * PG, PG) == 0);
	void *q = mmap(p + 7 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	EXPECT(q == MAP_FAILED && errno == EEXIST);
	q = mmap(p + 8 * PG, PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	EXPECT(q == p + 8 * PG);
	EXPECT(((unsigned char *)q)[0] == 0);
	/* MAP_FIXED replaces. */
	q = mmap(p + 9 * PG, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	EXPECT(q == p + 9 * PG && p[9 * PG] == 0 && p[10 * PG] == 0xab);

	/* mremap: shrink, grow (in place or moved), contents kept. */
	unsigned char *r = mremap(p, len, 4 * PG, 0);
	EXPECT(r == p);
	r = mremap(p, 4 * PG, 64 * PG, MREMAP_MAYMOVE);
	EXPECT(r != MAP_FAILED);
	if (r != MAP_FAILED) {
		EXPECT(r[0] == 0xab && r[3 * PG] == 0xab && r[PG] == 0);
		EXPECT(r[63 * PG] == 0);
		r[63 * PG] = 7;
		EXPECT(munmap(r, 64 * PG) == 0);
	}
	EXPECT(munmap(p + 4 * PG, 12 * PG) == 0);

	/* Errors. */
	EXPECT(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED && errno == EINVAL);
	EXPECT(mmap(NULL, PG, PROT_READ, MAP_ANONYMOUS, -1, 0) == MAP_FAILED && errno == EINVAL);
	EXPECT(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, 999, 0) == MAP_FAILED && errno == EBADF);
	EXPECT(munmap((void *)1, PG) == -1 && errno == EINVAL);
	EXPECT(mmap(NULL, (size_t)1 << 50, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0) == MAP_FAILED);

	/* A big lazily-populated region costs nothing until touched. */
	size_t huge = (size_t)1 << 34;   /* 16 GiB */
	unsigned char *h = mmap(NULL, huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	EXPECT(h != MAP_FAILED);
	if (h != MAP_FAILED) {
		h[0] = 1;
		h[huge - 1] = 2;
		EXPECT(h[0] == 1 && h[huge - 1] == 2 && h[huge / 2] == 0);
		EXPECT(munmap(h, huge) == 0);
	}

	/* MAP_POPULATE. */
	unsigned char *pop = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	EXPECT(pop != MAP_FAILED && mincore(pop, 4 * PG, vec) == 0 && (vec[3] & 1));

	/* A private file mapping: our own executable. */
	int fd = open(argv[0], O_RDONLY);
	EXPECT(fd >= 0);
	if (fd >= 0) {
		unsigned char *f = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
		EXPECT(f != MAP_FAILED);
		if (f != MAP_FAILED) {
			EXPECT(!memcmp(f, "\177ELF", 4));
			f[0] = 'X';               /* private: only our copy changes */
			unsigned char hdr[4];
			EXPECT(pread(fd, hdr, 4, 0) == 4 && !memcmp(hdr, "\177ELF", 4));
			munmap(f, 2 * PG);
		}
		close(fd);
	}

	/* brk grows and shrinks (raw: musl's sbrk only answers sbrk(0)). */
	char *b0 = (char *)syscall(SYS_brk, 0);
	EXPECT((char *)syscall(SYS_brk, b0 + 3 * PG) == b0 + 3 * PG);
	memset(b0, 1, 3 * PG);
	EXPECT((char *)syscall(SYS_brk, b0 + PG) == b0 + PG);
	EXPECT(b0[PG - 1] == 1);
	EXPECT((char *)syscall(SYS_brk, b0 + 2 * PG) == b0 + 2 * PG);
	EXPECT(b0[PG] == 0);           /* given back, then zero again */
	return guest_done("mmap_basic");
}
