/*
 * bootinfo.h — what the boot loader told us, in one loader-neutral form.
 *
 * kern/bootinfo.c parses a multiboot2 information structure (GRUB, PXE path)
 * or a PVH hvm_start_info (QEMU -kernel, direct path) into struct bootinfo.
 * The parser is pure C: it reaches physical memory only through the caller's
 * `map` callback, so tests/unit runs it on fake memory. Every length, count
 * and pointer is checked; problems are counted in `warnings` with a message
 * through the caller's `warn` callback, and the parser always returns a
 * usable (possibly empty) result rather than trusting bad data.
 */
#ifndef KERN_BOOTINFO_H
#define KERN_BOOTINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MB2_BOOTLOADER_MAGIC 0x36d76289u
#define PVH_START_MAGIC 0x336ec578u

enum boot_proto { BOOT_NONE = 0, BOOT_MB2 = 1, BOOT_PVH = 2 };

/* Memory range types (the multiboot2 / e820 numbering). */
enum {
	MEM_USABLE = 1,
	MEM_RESERVED = 2,
	MEM_ACPI = 3,
	MEM_NVS = 4,
	MEM_BAD = 5,
};

struct mem_range {
	uint64_t base;
	uint64_t len;
	uint32_t type;
};

struct boot_module {
	uint64_t start; /* physical, first byte */
	uint64_t end; /* physical, one past the last byte */
	char name[32]; /* the module's command line ("root") */
};

#define BOOTINFO_MAX_MMAP 64
#define BOOTINFO_MAX_MODS 8
#define BOOTINFO_CMDLINE 512

struct bootinfo {
	enum boot_proto proto;
	char cmdline[BOOTINFO_CMDLINE];
	char loader[48];
	struct mem_range mmap[BOOTINFO_MAX_MMAP];
	unsigned nmmap;
	struct boot_module mods[BOOTINFO_MAX_MODS];
	unsigned nmods;
	uint64_t info_start, info_end; /* the loader's structure, physical */
	uint64_t rsdp; /* ACPI RSDP physical address, 0 if unknown */
	unsigned warnings;
};

/*
 * map(pa, len) returns a pointer through which [pa, pa+len) may be read, or
 * NULL when that range is not accessible. warn(msg) reports one problem.
 */
typedef const void *(*bootinfo_map_fn)(uint64_t pa, size_t len);
typedef void (*bootinfo_warn_fn)(const char *msg);

/* Parse; `magic` is the value the entry code received (EAX or PVH_START_MAGIC). */
void bootinfo_parse(uint32_t magic, uint64_t info_pa, bootinfo_map_fn map,
		    bootinfo_warn_fn warn, struct bootinfo *out);

/* Forget (with a warning) every module overlapping [kstart, kend). */
void bootinfo_drop_overlapping_modules(struct bootinfo *bi, uint64_t kstart,
				       uint64_t kend, bootinfo_warn_fn warn);

#endif
