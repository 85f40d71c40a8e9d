/*
 * ELF images into memory, and the initial stack.
 *
 * Segments become file-backed private areas (pages copied from the ramfs
 * file on first touch, bytes past p_filesz read as zero) plus anonymous
 * areas for the rest of p_memsz (.bss). Nothing is read eagerly.
 */
#include "linux/loader.h"
#include "linux/random.h"
#include "linux/vdso.h"
#include "mm/vm.h"
#include "mm/heap.h"
#include "fs/ramfs.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/usercopy.h"
#include "lib/klog.h"
#include "lib/string.h"
#include "errno.h"

void ramfs_file_read(void *inode, uint64_t off, void *buf, size_t len)
{
	struct ramfs_inode *f = inode;
#ifdef RAMFS_PAGE_SIZE
	/* ramfs with writable files: the bytes may be in pages of its own. */
	uint8_t *p = buf;
	while (len) {
		size_t avail;
		const uint8_t *src = ramfs_read_ptr(f, off, &avail);
		if (!avail) {
			memset(p, 0, len);
			return;
		}
		avail = MIN(avail, len);
		if (src)
			memcpy(p, src, avail);
		else
			memset(p, 0, avail);
		p += avail;
		off += avail;
		len -= avail;
	}
#else
	size_t n = off < f->size ? MIN(len, f->size - off) : 0;
	memcpy(buf, (const uint8_t *)f->data + off, n);
	memset((uint8_t *)buf + n, 0, len - n);
#endif
}

static int seg_prot(uint32_t flags)
{
	return (flags & PF_R ? PROT_READ : 0) | (flags & PF_W ? PROT_WRITE : 0) |
	       (flags & PF_X ? PROT_EXEC : 0);
}

int load_image(const struct ramfs_inode *file, const struct elf_info *info, bool main,
	       struct loaded_image *out)
{
	struct vm_file vf = { (void *)file, file->size, ramfs_file_read };
	return load_image_file(&vf, info, main, out);
}

int load_image_file(const struct vm_file *file, const struct elf_info *info, bool main,
		    struct loaded_image *out)
{
	uint64_t bias = 0;
	uint64_t span = info->load_end - info->load_start;
	if (info->pie) {
		uint64_t align = PAGE_SIZE;
		for (unsigned i = 0; i < info->nload; i++)
			align = MAX(align, info->load[i].align);
		if (align > (1ull << 30))
			align = PAGE_SIZE;
		uint64_t at;
		if (main) {
			at = ALIGN_UP(VM_PIE_BASE + vm_random_offset(1ull << 30), align);
		} else {
			/* Reserve room (with slack for the alignment), then place
			 * the segments inside with MAP_FIXED. */
			long r = vm_mmap(0, span + align, PROT_NONE,
					 MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0);
			if (r < 0)
				return (int)r;
			at = ALIGN_UP((uint64_t)r, align);
			vm_munmap((uint64_t)r, span + align);
		}
		bias = at - info->load_start;
	}

	struct vm_file vf = *file;   /* size: per segment, below */
	uint64_t end = 0;
	for (unsigned i = 0; i < info->nload; i++) {
		const struct elf_segment *s = &info->load[i];
		uint64_t start = ALIGN_DOWN(bias + s->vaddr, PAGE_SIZE);
		uint64_t fend = bias + s->vaddr + s->filesz;
		uint64_t mend = bias + s->vaddr + s->memsz;
		int prot = seg_prot(s->flags);
		if (s->filesz) {
			vf.size = MIN(s->offset + s->filesz, file->size);   /* file->size: the whole file's */
			long r = vm_mmap(start, ALIGN_UP(fend, PAGE_SIZE) - start, prot,
					 MAP_PRIVATE | MAP_FIXED, &vf,
					 ALIGN_DOWN(s->offset, PAGE_SIZE));
			if (r < 0)
				return (int)r;
		}
		uint64_t bss = s->filesz ? ALIGN_UP(fend, PAGE_SIZE) : start;
		if (ALIGN_UP(mend, PAGE_SIZE) > bss) {
			long r = vm_mmap(bss, ALIGN_UP(mend, PAGE_SIZE) - bss, prot,
					 MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, NULL, 0);
			if (r < 0)
				return (int)r;
		}
		end = MAX(end, mend);
	}
	out->bias = bias;
	out->entry = bias + info->entry;
	out->phdr = bias + (info->phdr_vaddr ? info->phdr_vaddr
			    : info->load_start + info->phoff);
	out->end = end;
	return 0;
}

/* auxv tags */
#define AT_NULL 0
#define AT_PHDR 3
#define AT_PHENT 4
#define AT_PHNUM 5
#define AT_PAGESZ 6
#define AT_BASE 7
#define AT_FLAGS 8
#define AT_ENTRY 9
#define AT_UID 11
#define AT_EUID 12
#define AT_GID 13
#define AT_EGID 14
#define AT_PLATFORM 15
#define AT_HWCAP 16
#define AT_CLKTCK 17
#define AT_SECURE 23
#define AT_RANDOM 25
#define AT_HWCAP2 26
#define AT_EXECFN 31
#define AT_SYSINFO_EHDR 33
#define AT_MINSIGSTKSZ 51

#define MINSIGSTKSZ 2048

/* Pushes a string below *sp; returns its user address or 0 on a fault. */
static uint64_t push_str(uint64_t *sp, const char *s)
{
	size_t n = strlen(s) + 1;
	*sp -= n;
	return copy_to_user((void *)*sp, s, n) < 0 ? 0 : *sp;
}

long setup_stack(const struct stack_args *a)
{
	uint64_t top = vm_current()->stack_top;
	int prot = PROT_READ | PROT_WRITE | (a->exec_stack ? PROT_EXEC : 0);
	long r = vm_mmap(top - VM_STACK_SIZE, VM_STACK_SIZE, prot,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN | MAP_STACK,
			 NULL, 0);
	if (r < 0)
		return r;

	/* The strings, highest first: the file name, argv and envp strings,
	 * the platform and 16 random bytes. */
	size_t nwords = 1 + (size_t)a->argc + 1 + (size_t)a->envc + 1 + 2 * 24;
	uint64_t *v = kzalloc(nwords * sizeof(uint64_t));
	if (!v)
		return -ENOMEM;
	uint64_t sp = top - 8;            /* a NULL word at the very top, as Linux */
	r = -EFAULT;
	uint64_t execfn = push_str(&sp, a->execfn);
	size_t w = 0;
	v[w++] = (uint64_t)a->argc;
	for (int i = 0; i < a->argc; i++)
		if (!(v[w++] = push_str(&sp, a->argv[i])))
			goto out;
	v[w++] = 0;
	for (int i = 0; i < a->envc; i++)
		if (!(v[w++] = push_str(&sp, a->envp[i])))
			goto out;
	v[w++] = 0;
	uint64_t platform = push_str(&sp, "x86_64");
	uint8_t rnd[16];
	random_bytes(rnd, sizeof(rnd));
	sp = ALIGN_DOWN(sp - sizeof(rnd), 16);
	uint64_t random = sp;
	if (!execfn || !platform || copy_to_user((void *)random, rnd, sizeof(rnd)) < 0)
		goto out;

	uint32_t eax, ebx, ecx, edx;
	cpuid(1, 0, &eax, &ebx, &ecx, &edx);
#define AUX(k, val) do { v[w++] = (k); v[w++] = (uint64_t)(val); } while (0)
	uint64_t vdso = vdso_map();        /* 0: none, the C libraries use syscalls */
	if (vdso)
		AUX(AT_SYSINFO_EHDR, vdso);
	AUX(AT_MINSIGSTKSZ, MINSIGSTKSZ);
	AUX(AT_HWCAP, edx);
	AUX(AT_PAGESZ, PAGE_SIZE);
	AUX(AT_CLKTCK, 100);
	AUX(AT_PHDR, a->main->phdr);
	AUX(AT_PHENT, a->prog->phentsize);
	AUX(AT_PHNUM, a->prog->phnum);
	AUX(AT_BASE, a->interp ? a->interp->bias : 0);
	AUX(AT_FLAGS, 0);
	AUX(AT_ENTRY, a->main->entry);
	AUX(AT_UID, 0);
	AUX(AT_EUID, 0);
	AUX(AT_GID, 0);
	AUX(AT_EGID, 0);
	AUX(AT_SECURE, 0);
	AUX(AT_RANDOM, random);
	AUX(AT_HWCAP2, 0);
	AUX(AT_EXECFN, execfn);
	AUX(AT_PLATFORM, platform);
	AUX(AT_NULL, 0);
#undef AUX

	/* rsp must be 16-byte aligned where argc sits. */
	sp -= w * 8;
	sp = ALIGN_DOWN(sp, 16);
	if (copy_to_user((void *)sp, v, w * 8) < 0)
		goto out;
	r = (long)sp;
out:
	kfree(v);
	return r;
}
