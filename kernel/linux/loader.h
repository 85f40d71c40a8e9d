/*
 * Loading ELF images into the program's address space and building the
 * initial stack (argv, envp, auxv), as Linux's binfmt_elf does.
 */
#pragma once
#include "linux/elf.h"
#include "fs/ramfs.h"

/* Reads len bytes at off of a ramfs file (holes read as zero; the range
 * must lie within the size): the reader file-backed mappings use. */
void ramfs_file_read(void *inode, uint64_t off, void *buf, size_t len);

struct loaded_image {
	uint64_t bias;          /* added to every p_vaddr (0 for ET_EXEC) */
	uint64_t entry;         /* runtime entry point */
	uint64_t phdr;          /* runtime address of the program headers */
	uint64_t end;           /* end of the highest segment */
};

/* Maps the PT_LOAD segments of a validated image. main: the program (PIE
 * at the randomised PIE base), else an interpreter (anywhere in the mmap
 * area). 0 or -ERRNO. */
int load_image(const struct ramfs_inode *file, const struct elf_info *info, bool main,
	       struct loaded_image *out);
/* The same for any file the VFS can map (file->size: the file's size):
 * tmpfs or a disk file system's map_file reader. */
struct vm_file;
int load_image_file(const struct vm_file *file, const struct elf_info *info, bool main,
		    struct loaded_image *out);

struct stack_args {
	int argc;
	char *const *argv;
	int envc;
	char *const *envp;
	const char *execfn;
	const struct elf_info *prog;
	const struct loaded_image *main, *interp;   /* interp NULL when none */
	bool exec_stack;
};

/* Maps the stack and writes argc, argv, envp and auxv on it. Returns the
 * initial rsp, or -ERRNO. */
long setup_stack(const struct stack_args *a);
