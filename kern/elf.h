/*
 * elf.h — the ELF64 executable parser and the initial user-stack builder
 * (issue 4). Both are pure: plain inputs, plain outputs, no allocation and
 * no page tables, so the host unit tests compile the very same files.
 *
 * Interface:
 *   elf_parse(image, size, &info)  validate a whole x86-64 static executable
 *                                  (ET_EXEC, or ET_DYN = static-pie) before
 *                                  anything in it is trusted; 0 or -ENOEXEC
 *                                  with info.error naming the reason.
 *   elf_apply_bias(&info, bias)    move a parsed ET_DYN image to `bias` (an
 *                                  ET_EXEC takes bias 0 only) and re-check it
 *                                  against the user half.
 *   ustack_build(&args)            lay out argc/argv/envp/auxv and their
 *                                  strings as Linux x86-64 does, in a buffer
 *                                  standing for the top of the user stack.
 *
 * Invariants after a successful elf_parse: 1..ELF_MAX_SEGMENTS loadable
 * segments, sorted by address, not overlapping (two may share a page: the
 * loader gives that page the union of their permissions), each with
 * filesz <= memsz and its file bytes inside the image, all below
 * ELF_USER_TOP; the entry point lies in an executable segment.
 */
#ifndef KERN_ELF_H
#define KERN_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* gABI / psABI numbers, prefixed so they never meet a host <elf.h>. */
#define ELF_ET_EXEC 2
#define ELF_ET_DYN 3
#define ELF_EM_X86_64 62
#define ELF_PT_LOAD 1
#define ELF_PT_DYNAMIC 2
#define ELF_PT_INTERP 3
#define ELF_PT_PHDR 6
#define ELF_PT_TLS 7
#define ELF_PT_GNU_STACK 0x6474e551u
#define ELF_PF_X 1u
#define ELF_PF_W 2u
#define ELF_PF_R 4u
#define ELF_EHDR_SIZE 64
#define ELF_PHDR_SIZE 56

#define ELF_PAGE_SIZE 4096ull
#define ELF_USER_TOP 0x0000800000000000ull /* first non-user address */
#define ELF_MAX_SEGMENTS 16 /* loadable segments accepted */
#define ELF_MAX_PHNUM 128 /* program headers accepted */

/* Segment permissions (the loader turns them into page flags). */
#define ELF_PROT_R 1u
#define ELF_PROT_W 2u
#define ELF_PROT_X 4u

struct elf_segment {
	uint64_t vaddr; /* first byte in memory */
	uint64_t memsz; /* bytes in memory; those past filesz are zero */
	uint64_t offset; /* first byte in the file */
	uint64_t filesz; /* bytes copied from the file */
	unsigned prot; /* ELF_PROT_* */
};

struct elf_info {
	unsigned type; /* ELF_ET_EXEC or ELF_ET_DYN */
	uint64_t entry; /* AT_ENTRY */
	uint64_t phdr; /* AT_PHDR: 0 when the headers are not loaded */
	unsigned phnum; /* AT_PHNUM */
	unsigned phent; /* AT_PHENT */
	uint64_t brk; /* page-aligned end of the highest segment */
	unsigned nseg;
	struct elf_segment seg[ELF_MAX_SEGMENTS];
	bool has_tls; /* PT_TLS: the template musl/glibc copy per thread */
	uint64_t tls_vaddr, tls_filesz, tls_memsz, tls_align;
	bool exec_stack; /* PT_GNU_STACK asks for PF_X (or is absent) */
	const char *error; /* why elf_parse refused, for the log */
};

int elf_parse(const void *image, size_t size, struct elf_info *out);
/*
 * The same from the first `have` bytes of a file of `size` bytes: only the
 * ELF header and the program headers are read, so a loader need not read
 * the whole file. -EAGAIN (not a verdict on the file) when the program
 * headers lie beyond the prefix: read more and call again.
 */
int elf_parse_prefix(const void *image, size_t have, size_t size,
		     struct elf_info *out);
int elf_apply_bias(struct elf_info *info, uint64_t bias);

/* ---- the initial stack (kern/ustack.c) ---- */

/* Auxiliary-vector keys (psABI; the numbers are Linux's). */
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

#define USTACK_ARG_MAX (128u * 1024) /* default limit on argv + envp */
#define USTACK_NAUXV 19 /* auxv pairs written, AT_NULL included */

struct ustack_args {
	/* In: buf[0..size) stands for user addresses [top - size, top). */
	void *buf;
	size_t size;
	uint64_t top; /* 16-byte aligned */
	const char *const *argv; /* NULL-terminated; NULL = no arguments */
	const char *const *envp; /* NULL-terminated; NULL = empty */
	const char *execfn; /* AT_EXECFN; NULL omits the string (value 0) */
	const uint8_t *random; /* 16 bytes for AT_RANDOM */
	size_t limit; /* argv + envp strings and pointers; 0 = USTACK_ARG_MAX */
	uint64_t phdr, phent, phnum, entry; /* from elf_info, after bias */
	uint64_t hwcap; /* CPUID.1:EDX, as Linux reports it */
	uint64_t uid, euid, gid, egid;
	/* Out, on success: */
	uint64_t rsp; /* initial user rsp, 16-byte aligned, points at argc */
	uint64_t arg_start, arg_end; /* argv strings, for /proc/<pid>/cmdline */
	uint64_t env_start, env_end; /* envp strings */
};

/*
 * Build the stack. Sizes are checked before a byte is written: -E2BIG when
 * the arguments exceed the limit or the buffer, -EINVAL for bad arguments.
 */
int ustack_build(struct ustack_args *a);

#endif
