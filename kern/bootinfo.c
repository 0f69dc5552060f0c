/*
 * bootinfo.c — multiboot2 and PVH boot information, checked and copied into
 * struct bootinfo (see bootinfo.h for the contract). Nothing here trusts the
 * loader: every size is bounded by its container, every pointer goes through
 * map(), strings are cut at their limits, and a table that does not fit is
 * cut with a warning.
 */
#include "kern/bootinfo.h"

#include "kern/kern.h"

#define MB2_INFO_MAX (1u << 20)

enum {
	MB2_TAG_END = 0,
	MB2_TAG_CMDLINE = 1,
	MB2_TAG_LOADER = 2,
	MB2_TAG_MODULE = 3,
	MB2_TAG_MMAP = 6,
	MB2_TAG_ACPI_OLD = 14,
	MB2_TAG_ACPI_NEW = 15,
};

struct pvh_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr;
	uint64_t memmap_paddr; /* version >= 1 */
	uint32_t memmap_entries, reserved;
};
struct pvh_module {
	uint64_t paddr, size, cmdline_paddr, reserved;
};
struct pvh_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

static void warnf(struct bootinfo *bi, bootinfo_warn_fn warn, const char *fmt,
		  ...) __printf(3, 4);
static void warnf(struct bootinfo *bi, bootinfo_warn_fn warn, const char *fmt,
		  ...)
{
	char msg[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	bi->warnings++;
	if (warn)
		warn(msg);
}

/* Copy a NUL-terminated string at physical pa, at most size-1 bytes. */
static void copy_phys_string(uint64_t pa, char *dst, size_t size,
			     bootinfo_map_fn map)
{
	size_t n = 0;
	for (; n + 1 < size; n++) {
		const char *c = map(pa + n, 1);
		if (!c || !*c)
			break;
		dst[n] = *c;
	}
	dst[n] = 0;
}

/* Copy a string that must end inside [s, s+max). */
static void copy_bounded_string(const char *s, size_t max, char *dst,
				size_t size)
{
	size_t n = strnlen(s, max);
	if (n >= size)
		n = size - 1;
	memcpy(dst, s, n);
	dst[n] = 0;
}

static void add_range(struct bootinfo *bi, bootinfo_warn_fn warn, uint64_t base,
		      uint64_t len, uint32_t type)
{
	if (len == 0)
		return;
	if (base + len < base) { /* wraps past 2^64 */
		warnf(bi, warn, "memory range %#lx+%#lx wraps; cut",
		      (unsigned long)base, (unsigned long)len);
		len = -base;
	}
	if (type < MEM_USABLE || type > MEM_BAD)
		type = MEM_RESERVED;
	if (bi->nmmap == BOOTINFO_MAX_MMAP) {
		warnf(bi, warn,
		      "more than %d memory ranges; range %#lx+%#lx dropped",
		      BOOTINFO_MAX_MMAP, (unsigned long)base,
		      (unsigned long)len);
		return;
	}
	bi->mmap[bi->nmmap++] = (struct mem_range){base, len, type};
}

static void add_module(struct bootinfo *bi, bootinfo_warn_fn warn,
		       uint64_t start, uint64_t end, const char *name)
{
	if (end <= start) {
		warnf(bi, warn,
		      "module '%s' has bad bounds %#lx..%#lx; ignored", name,
		      (unsigned long)start, (unsigned long)end);
		return;
	}
	if (bi->nmods == BOOTINFO_MAX_MODS) {
		warnf(bi, warn, "more than %d modules; '%s' ignored",
		      BOOTINFO_MAX_MODS, name);
		return;
	}
	struct boot_module *m = &bi->mods[bi->nmods++];
	m->start = start;
	m->end = end;
	strlcpy(m->name, name, sizeof m->name);
}

static void parse_mb2(uint64_t pa, bootinfo_map_fn map, bootinfo_warn_fn warn,
		      struct bootinfo *bi)
{
	const uint32_t *hdr = map(pa, 8);
	if (!hdr || (pa & 7)) {
		warnf(bi, warn, "multiboot2 information at %#lx unreadable",
		      (unsigned long)pa);
		return;
	}
	uint32_t total = hdr[0];
	if (total < 16 || total > MB2_INFO_MAX) {
		warnf(bi, warn, "multiboot2 information size %u is not sane",
		      total);
		return;
	}
	const uint8_t *info = map(pa, total);
	if (!info) {
		warnf(bi, warn, "multiboot2 information %#lx+%u unreadable",
		      (unsigned long)pa, total);
		return;
	}
	bi->info_start = pa;
	bi->info_end = pa + total;

	bool ended = false;
	for (uint32_t off = 8; off + 8 <= total; off = ALIGN_UP(off, 8)) {
		const uint32_t *tag = (const uint32_t *)(info + off);
		uint32_t type = tag[0], size = tag[1];
		if (size < 8 || size > total - off) {
			warnf(bi, warn,
			      "multiboot2 tag %u at +%u has bad size %u", type,
			      off, size);
			break;
		}
		const uint8_t *body = info + off + 8;
		uint32_t blen = size - 8;
		if (type == MB2_TAG_END) {
			ended = true;
			break;
		}
		switch (type) {
		case MB2_TAG_CMDLINE:
			copy_bounded_string((const char *)body, blen,
					    bi->cmdline, sizeof bi->cmdline);
			break;
		case MB2_TAG_LOADER:
			copy_bounded_string((const char *)body, blen,
					    bi->loader, sizeof bi->loader);
			break;
		case MB2_TAG_MODULE: {
			if (blen < 8) {
				warnf(bi, warn,
				      "multiboot2 module tag too short");
				break;
			}
			const uint32_t *m = (const uint32_t *)body;
			char name[32];
			copy_bounded_string((const char *)body + 8, blen - 8,
					    name, sizeof name);
			add_module(bi, warn, m[0], m[1], name);
			break;
		}
		case MB2_TAG_MMAP: {
			if (blen < 8) {
				warnf(bi, warn,
				      "multiboot2 memory map tag too short");
				break;
			}
			const uint32_t *m = (const uint32_t *)body;
			uint32_t esize = m[0];
			if (esize < 24 || (esize & 7)) {
				warnf(bi, warn,
				      "multiboot2 memory map entry size %u is not sane",
				      esize);
				break;
			}
			for (uint32_t e = 8; e + esize <= blen; e += esize) {
				const uint8_t *ent = body + e;
				uint64_t base, len;
				uint32_t t;
				memcpy(&base, ent, 8);
				memcpy(&len, ent + 8, 8);
				memcpy(&t, ent + 16, 4);
				add_range(bi, warn, base, len, t);
			}
			break;
		}
		case MB2_TAG_ACPI_OLD:
		case MB2_TAG_ACPI_NEW:
			/* The tag holds a copy of the RSDP; point at the copy. */
			if (blen >= 20 &&
			    (!bi->rsdp || type == MB2_TAG_ACPI_NEW))
				bi->rsdp = pa + off + 8;
			break;
		default:
			break;
		}
		off += size;
	}
	if (!ended)
		warnf(bi, warn, "multiboot2 information has no end tag");
}

static void parse_pvh(uint64_t pa, bootinfo_map_fn map, bootinfo_warn_fn warn,
		      struct bootinfo *bi)
{
	const struct pvh_start_info *si = map(pa, sizeof *si);
	if (!si) {
		/* Version 0 is shorter; try that before giving up. */
		si = map(pa, offsetof(struct pvh_start_info, memmap_paddr));
		if (!si) {
			warnf(bi, warn, "PVH start info at %#lx unreadable",
			      (unsigned long)pa);
			return;
		}
	}
	if (si->magic != PVH_START_MAGIC) {
		warnf(bi, warn, "PVH start info has bad magic %#x", si->magic);
		return;
	}
	bi->info_start = pa;
	bi->info_end = pa + (si->version >= 1 ? sizeof *si
					      : offsetof(struct pvh_start_info,
							 memmap_paddr));
	bi->rsdp = si->rsdp_paddr;
	strlcpy(bi->loader, "PVH", sizeof bi->loader);
	if (si->cmdline_paddr)
		copy_phys_string(si->cmdline_paddr, bi->cmdline,
				 sizeof bi->cmdline, map);

	uint32_t nmod = si->nr_modules;
	if (nmod > BOOTINFO_MAX_MODS) {
		warnf(bi, warn, "PVH lists %u modules; using the first %d",
		      nmod, BOOTINFO_MAX_MODS);
		nmod = BOOTINFO_MAX_MODS;
	}
	const struct pvh_module *mods =
		nmod ? map(si->modlist_paddr, nmod * sizeof *mods) : NULL;
	if (nmod && !mods)
		warnf(bi, warn, "PVH module list unreadable");
	for (uint32_t i = 0; mods && i < nmod; i++) {
		char name[32] = "";
		if (mods[i].cmdline_paddr)
			copy_phys_string(mods[i].cmdline_paddr, name,
					 sizeof name, map);
		if (!name[0])
			strlcpy(name, i == 0 ? "root" : "module", sizeof name);
		add_module(bi, warn, mods[i].paddr,
			   mods[i].paddr + mods[i].size, name);
	}

	if (si->version < 1 || !si->memmap_entries) {
		warnf(bi, warn, "PVH start info (version %u) has no memory map",
		      si->version);
		return;
	}
	uint32_t n = si->memmap_entries;
	if (n > 4 * BOOTINFO_MAX_MMAP) /* add_range reports the cut */
		n = 4 * BOOTINFO_MAX_MMAP;
	const struct pvh_memmap_entry *mm =
		map(si->memmap_paddr, n * sizeof *mm);
	if (!mm) {
		warnf(bi, warn, "PVH memory map unreadable");
		return;
	}
	for (uint32_t i = 0; i < n; i++)
		add_range(bi, warn, mm[i].addr, mm[i].size, mm[i].type);
}

void bootinfo_parse(uint32_t magic, uint64_t info_pa, bootinfo_map_fn map,
		    bootinfo_warn_fn warn, struct bootinfo *out)
{
	memset(out, 0, sizeof *out);
	if (magic == MB2_BOOTLOADER_MAGIC) {
		out->proto = BOOT_MB2;
		strlcpy(out->loader, "multiboot2", sizeof out->loader);
		parse_mb2(info_pa, map, warn, out);
	} else if (magic == PVH_START_MAGIC) {
		out->proto = BOOT_PVH;
		parse_pvh(info_pa, map, warn, out);
	} else {
		warnf(out, warn, "unknown boot protocol (magic %#x)", magic);
	}
}

void bootinfo_drop_overlapping_modules(struct bootinfo *bi, uint64_t kstart,
				       uint64_t kend, bootinfo_warn_fn warn)
{
	unsigned k = 0;
	for (unsigned i = 0; i < bi->nmods; i++) {
		struct boot_module *m = &bi->mods[i];
		if (m->start < kend && kstart < m->end) {
			warnf(bi, warn,
			      "module '%s' (%#lx..%#lx) overlaps the kernel (%#lx..%#lx); ignored",
			      m->name, (unsigned long)m->start,
			      (unsigned long)m->end, (unsigned long)kstart,
			      (unsigned long)kend);
			continue;
		}
		bi->mods[k++] = *m;
	}
	bi->nmods = k;
}
