/*
 * elf.c — validate an ELF64 x86-64 static executable (System V gABI and the
 * x86-64 psABI) and describe what the loader must map.
 *
 * The file is untrusted: every field is read with byte loads (no alignment
 * assumption), every offset and size is checked with subtraction rather than
 * addition so nothing can wrap, and `out` is only meaningful when 0 is
 * returned. Dynamically linked files (PT_INTERP) are refused: Shoal runs
 * static binaries only. ET_DYN without PT_INTERP is a static-pie; its
 * addresses are link-time ones until elf_apply_bias() moves them.
 */
#include "kern/elf.h"
#include "kern/kern.h"

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static int refuse(struct elf_info *out, const char *why)
{
	out->error = why;
	return -ENOEXEC;
}

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

/* Is [addr, addr+len) inside the file-backed part of a loaded segment? */
static bool in_file_part(const struct elf_info *in, uint64_t addr, uint64_t len)
{
	for (unsigned i = 0; i < in->nseg; i++) {
		const struct elf_segment *s = &in->seg[i];
		if (addr >= s->vaddr && addr - s->vaddr <= s->filesz &&
		    len <= s->filesz - (addr - s->vaddr))
			return true;
	}
	return false;
}

static int parse_load(const uint8_t *ph, size_t size, struct elf_info *out)
{
	uint32_t flags = rd32(ph + 4);
	uint64_t off = rd64(ph + 8), vaddr = rd64(ph + 16);
	uint64_t filesz = rd64(ph + 32), memsz = rd64(ph + 40);
	uint64_t align = rd64(ph + 48);

	if (memsz == 0 && filesz == 0)
		return 0; /* maps nothing; linkers rarely emit it */
	if (filesz > memsz)
		return refuse(out, "segment filesz > memsz");
	if (off > size || filesz > size - off)
		return refuse(out, "segment data past end of file");
	if (vaddr % ELF_PAGE_SIZE != off % ELF_PAGE_SIZE)
		return refuse(out,
			      "segment vaddr and offset disagree mod page");
	if (align > 1 && !is_pow2(align))
		return refuse(out, "segment alignment not a power of two");
	if (vaddr >= ELF_USER_TOP || memsz > ELF_USER_TOP - vaddr)
		return refuse(out, "segment outside the user half");
	if (out->nseg && vaddr < out->seg[out->nseg - 1].vaddr +
					 out->seg[out->nseg - 1].memsz)
		return refuse(out, "segments unsorted or overlapping");
	if (out->nseg == ELF_MAX_SEGMENTS)
		return refuse(out, "too many loadable segments");

	struct elf_segment *s = &out->seg[out->nseg++];
	s->vaddr = vaddr;
	s->memsz = memsz;
	s->offset = off;
	s->filesz = filesz;
	s->prot = (flags & ELF_PF_R ? ELF_PROT_R : 0) |
		  (flags & ELF_PF_W ? ELF_PROT_W : 0) |
		  (flags & ELF_PF_X ? ELF_PROT_X : 0);
	return 0;
}

static int parse_tls(const uint8_t *ph, size_t size, struct elf_info *out)
{
	uint64_t off = rd64(ph + 8), vaddr = rd64(ph + 16);
	uint64_t filesz = rd64(ph + 32), memsz = rd64(ph + 40);
	uint64_t align = rd64(ph + 48);

	if (out->has_tls)
		return refuse(out, "more than one PT_TLS");
	if (filesz > memsz || off > size || filesz > size - off)
		return refuse(out, "bad PT_TLS sizes");
	if (vaddr >= ELF_USER_TOP || memsz > ELF_USER_TOP - vaddr)
		return refuse(out, "PT_TLS outside the user half");
	if (align > ELF_PAGE_SIZE || (align > 1 && !is_pow2(align)))
		return refuse(out, "bad PT_TLS alignment");
	out->has_tls = true;
	out->tls_vaddr = vaddr;
	out->tls_filesz = filesz;
	out->tls_memsz = memsz;
	out->tls_align = align ? align : 1;
	return 0;
}

int elf_parse(const void *image, size_t size, struct elf_info *out)
{
	return elf_parse_prefix(image, size, size, out);
}

int elf_parse_prefix(const void *image, size_t have, size_t size,
		     struct elf_info *out)
{
	const uint8_t *f = image;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof *out);
	if (!image)
		return out->error = "no image", -EINVAL;
	if (have > size)
		return out->error = "prefix longer than the file", -EINVAL;
	if (size < ELF_EHDR_SIZE)
		return refuse(out, "file shorter than an ELF header");
	if (have < ELF_EHDR_SIZE)
		return out->error = "prefix too short", -EAGAIN;
	if (f[0] != 0x7f || f[1] != 'E' || f[2] != 'L' || f[3] != 'F')
		return refuse(out, "not an ELF file");
	if (f[4] != 2) /* EI_CLASS: ELFCLASS64 */
		return refuse(out, "not a 64-bit ELF file");
	if (f[5] != 1) /* EI_DATA: ELFDATA2LSB */
		return refuse(out, "not little-endian");
	if (f[6] != 1 || rd32(f + 20) != 1) /* EI_VERSION, e_version */
		return refuse(out, "unknown ELF version");

	unsigned type = rd16(f + 16);
	if (type != ELF_ET_EXEC && type != ELF_ET_DYN)
		return refuse(out, "not an executable");
	if (rd16(f + 18) != ELF_EM_X86_64)
		return refuse(out, "not an x86-64 file");
	uint64_t entry = rd64(f + 24), phoff = rd64(f + 32);
	unsigned ehsize = rd16(f + 52), phent = rd16(f + 54);
	unsigned phnum = rd16(f + 56);
	if (ehsize < ELF_EHDR_SIZE)
		return refuse(out, "ELF header too small");
	if (phent != ELF_PHDR_SIZE)
		return refuse(out, "unexpected program header size");
	if (phnum == 0 || phnum > ELF_MAX_PHNUM)
		return refuse(out, "program header count out of range");
	if (phoff > size || (uint64_t)phnum * phent > size - phoff)
		return refuse(out, "program headers past end of file");
	if (phoff % 8 || phoff < ELF_EHDR_SIZE)
		return refuse(out, "program headers misplaced");
	if (phoff > have || (uint64_t)phnum * phent > have - phoff)
		return out->error = "program headers past the prefix", -EAGAIN;

	out->type = type;
	out->entry = entry;
	out->phnum = phnum;
	out->phent = phent;
	out->exec_stack = true; /* the gABI default without PT_GNU_STACK */

	bool have_phdr = false;
	uint64_t phdr_vaddr = 0;
	for (unsigned i = 0; i < phnum; i++) {
		const uint8_t *ph = f + phoff + (uint64_t)i * phent;
		uint32_t pt = rd32(ph);
		int err = 0;

		switch (pt) {
		case ELF_PT_LOAD:
			err = parse_load(ph, size, out);
			break;
		case ELF_PT_INTERP:
			return refuse(out,
				      "dynamic binaries are not supported");
		case ELF_PT_PHDR:
			if (have_phdr)
				return refuse(out, "more than one PT_PHDR");
			have_phdr = true;
			phdr_vaddr = rd64(ph + 16);
			if (rd64(ph + 8) != phoff ||
			    rd64(ph + 32) != (uint64_t)phnum * phent)
				return refuse(out,
					      "PT_PHDR disagrees with header");
			break;
		case ELF_PT_TLS:
			err = parse_tls(ph, size, out);
			break;
		case ELF_PT_GNU_STACK:
			out->exec_stack = rd32(ph + 4) & ELF_PF_X;
			break;
		default:
			break; /* PT_NOTE, PT_DYNAMIC, PT_GNU_RELRO...: no action */
		}
		if (err)
			return err;
	}
	if (out->nseg == 0)
		return refuse(out, "no loadable segment");

	bool entry_ok = false;
	for (unsigned i = 0; i < out->nseg; i++) {
		const struct elf_segment *s = &out->seg[i];
		if ((s->prot & ELF_PROT_X) && entry >= s->vaddr &&
		    entry - s->vaddr < s->memsz)
			entry_ok = true;
	}
	if (!entry_ok)
		return refuse(out, "entry point outside executable segments");

	uint64_t phsize = (uint64_t)phnum * phent;
	if (have_phdr) {
		if (!in_file_part(out, phdr_vaddr, phsize))
			return refuse(out,
				      "PT_PHDR not inside a loaded segment");
		out->phdr = phdr_vaddr;
	} else {
		/* Find the headers' bytes among the loaded file ranges. */
		for (unsigned i = 0; i < out->nseg; i++) {
			const struct elf_segment *s = &out->seg[i];
			if (phoff >= s->offset &&
			    phoff - s->offset <= s->filesz &&
			    phsize <= s->filesz - (phoff - s->offset)) {
				out->phdr = s->vaddr + (phoff - s->offset);
				break;
			}
		}
	}

	const struct elf_segment *last = &out->seg[out->nseg - 1];
	out->brk = ALIGN_UP(last->vaddr + last->memsz, ELF_PAGE_SIZE);
	if (type == ELF_ET_EXEC && out->seg[0].vaddr < ELF_PAGE_SIZE)
		return refuse(out, "segment maps page zero");
	if (out->brk > ELF_USER_TOP)
		return refuse(out, "segment outside the user half");
	return 0;
}

/*
 * Move a static-pie to its load address. The parse checked the link-time
 * layout; here the moved one is checked against the user half again.
 */
int elf_apply_bias(struct elf_info *in, uint64_t bias)
{
	if (!in || bias % ELF_PAGE_SIZE)
		return -EINVAL;
	if (in->type == ELF_ET_EXEC)
		return bias ? -EINVAL : 0;
	if (bias > ELF_USER_TOP || in->brk > ELF_USER_TOP - bias)
		return refuse(in, "load bias puts the image outside user half");
	if (in->seg[0].vaddr + bias < ELF_PAGE_SIZE)
		return refuse(in, "segment maps page zero");

	for (unsigned i = 0; i < in->nseg; i++)
		in->seg[i].vaddr += bias;
	in->entry += bias;
	if (in->phdr)
		in->phdr += bias;
	if (in->has_tls)
		in->tls_vaddr += bias;
	in->brk += bias;
	in->type = ELF_ET_EXEC; /* at its final place: no second move */
	return 0;
}
