// SOURCES: kern/elf.c tests/unit/libc_host.c
/*
 * Host tests of the ELF parser (kern/elf.c): real static binaries built at
 * test time with the host gcc (and musl-gcc when installed), checked against
 * `readelf -lhW`; a battery of hand-corrupted variants; a seeded random
 * corruption loop that must never crash (ASan/UBSan watch it).
 */
#include "kern/elf.h"
#include "kern/kern.h"
#include "tests/unit/unit.h"

#include <unistd.h>

static char dir[64];
static uint8_t *good; /* gcc -static -nostdlib image */
static size_t good_size;

static const char prog_c[] =
	"int x = 5; long bss[100]; __thread int t = 3;\n"
	"void _start(void) { bss[1] = x + t;\n"
	"  __asm__ volatile(\"mov $60,%%eax; xor %%edi,%%edi; syscall\" "
	"::: \"memory\"); for (;;); }\n";
static const char main_c[] = "#include <stdio.h>\n"
			     "int main(void) { puts(\"hi\"); return 0; }\n";

static void cleanup(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd))
		printf("# cleanup of %s failed\n", dir);
}

static void write_file(const char *name, const char *text)
{
	char path[128];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

/* Run a compiler command in dir; true when it succeeded. */
static bool build(const char *cmd)
{
	char full[512];
	snprintf(full, sizeof full, "cd %s && %s >/dev/null 2>&1", dir, cmd);
	return system(full) == 0;
}

static uint8_t *load(const char *name, size_t *size)
{
	char path[128];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *p = malloc(n);
	if (fread(p, 1, n, f) != (size_t)n) {
		free(p);
		p = NULL;
	}
	fclose(f);
	*size = n;
	return p;
}

static void setup(void)
{
	if (good)
		return;
	strcpy(dir, "/tmp/shoal-elf-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(1);
	}
	atexit(cleanup);
	write_file("prog.c", prog_c);
	write_file("main.c", main_c);
	if (!build("gcc -static -nostdlib -O1 -fno-stack-protector "
		   "-o prog prog.c") ||
	    !(good = load("prog", &good_size))) {
		printf("# cannot build a static test binary with gcc\n");
		exit(1);
	}
}

/* Compare elf_parse's view of a file with readelf's. */
static int check_readelf(const char *name, const struct elf_info *in)
{
	char cmd[256], line[512];
	snprintf(cmd, sizeof cmd, "readelf -lhW %s/%s", dir, name);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	unsigned nload = 0, bad = 0;
	uint64_t entry = 0;
	while (fgets(line, sizeof line, p)) {
		unsigned long long off, va, pa, fs, ms;
		char *s = line;
		while (*s == ' ')
			s++;
		if (sscanf(s, "Entry point address: %llx", &off) == 1)
			entry = off;
		if (strncmp(s, "LOAD ", 5) ||
		    sscanf(s + 5, "%llx %llx %llx %llx %llx", &off, &va, &pa,
			   &fs, &ms) != 5)
			continue;
		if (!ms)
			continue;
		/* Flags sit in the columns after memsz: "R E", "RW ". */
		const char *fl = strstr(s, " R");
		unsigned prot = 0;
		for (const char *c = fl ? fl : ""; *c && *c != '0'; c++)
			prot |= *c == 'R'   ? ELF_PROT_R
				: *c == 'W' ? ELF_PROT_W
				: *c == 'E' ? ELF_PROT_X
					    : 0;
		const struct elf_segment *sg = &in->seg[nload];
		if (nload >= in->nseg || sg->vaddr != va || sg->offset != off ||
		    sg->filesz != fs || sg->memsz != ms || sg->prot != prot) {
			printf("# %s: segment %u differs from readelf\n", name,
			       nload);
			bad++;
		}
		nload++;
	}
	pclose(p);
	if (nload != in->nseg || entry != in->entry || bad)
		return -1;
	return 0;
}

/* The program headers AT_PHDR points at must be the file's own. */
static int check_phdr(const uint8_t *img, const struct elf_info *in)
{
	uint64_t phoff;
	memcpy(&phoff, img + 32, 8);
	for (unsigned i = 0; i < in->nseg; i++) {
		const struct elf_segment *s = &in->seg[i];
		if (in->phdr >= s->vaddr && in->phdr < s->vaddr + s->filesz)
			return in->phdr - s->vaddr + s->offset == phoff ? 0
									: -1;
	}
	return -1;
}

TEST(gcc_static_binary)
{
	setup();
	struct elf_info in;
	CHECK_EQ(elf_parse(good, good_size, &in), 0);
	CHECK_EQ(in.type, ELF_ET_EXEC);
	CHECK_EQ(check_readelf("prog", &in), 0);
	CHECK_EQ(check_phdr(good, &in), 0);
	CHECK_EQ(in.phent, 56);
	CHECK(in.phnum >= in.nseg);
	CHECK(in.has_tls);
	CHECK_EQ(in.tls_filesz, 4);
	CHECK(!in.exec_stack);
	const struct elf_segment *last = &in.seg[in.nseg - 1];
	CHECK_EQ(in.brk, ALIGN_UP(last->vaddr + last->memsz, 4096));
	CHECK_EQ(in.brk % 4096, 0);
	CHECK_EQ(elf_apply_bias(&in, 0), 0);
	CHECK_EQ(elf_apply_bias(&in, 0x10000), -EINVAL);
}

TEST(musl_static_binary)
{
	setup();
	if (access("/usr/bin/musl-gcc", X_OK)) {
		printf("# skip: no musl-gcc\n");
		return;
	}
	CHECK(build("musl-gcc -static -O1 -o hello main.c"));
	size_t n;
	uint8_t *img = load("hello", &n);
	CHECK(img);
	struct elf_info in;
	int r = elf_parse(img, n, &in);
	if (r)
		printf("# %s\n", in.error);
	CHECK_EQ(r, 0);
	CHECK_EQ(check_readelf("hello", &in), 0);
	CHECK_EQ(check_phdr(img, &in), 0);
	free(img);
}

/* The loader parses only the file's head: elf_parse_prefix must agree with
 * elf_parse on the whole file, and say -EAGAIN (not a verdict) when the
 * program headers lie beyond the bytes it was given. */
TEST(prefix_parse)
{
	setup();
	CHECK(build("gcc -static -O1 -o hello main.c"));
	size_t n;
	uint8_t *img = load("hello", &n);
	CHECK(img);
	struct elf_info whole, head;
	CHECK_EQ(elf_parse(img, n, &whole), 0);
	CHECK_EQ(elf_parse_prefix(img, 4096, n, &head), 0);
	CHECK_EQ(memcmp(&whole.seg, &head.seg, sizeof whole.seg), 0);
	CHECK_EQ(whole.entry, head.entry);
	CHECK_EQ(whole.nseg, head.nseg);
	/* The program headers start at 64: 100 bytes do not hold them. */
	CHECK_EQ(elf_parse_prefix(img, 100, n, &head), -EAGAIN);
	CHECK_EQ(elf_parse_prefix(img, 10, n, &head), -EAGAIN);
	/* Verdicts about the file come first: a segment past its end. */
	CHECK_EQ(elf_parse_prefix(img, 4096, 4096, &head), -ENOEXEC);
	CHECK_EQ(elf_parse_prefix(img, n, n - 1, &head), -EINVAL);
	free(img);
}

TEST(static_pie_and_bias)
{
	setup();
	if (!build("gcc -static-pie -nostdlib -fPIE -O1 -fno-stack-protector "
		   "-o pie prog.c")) {
		printf("# skip: gcc cannot link a static-pie\n");
		return;
	}
	size_t n;
	uint8_t *img = load("pie", &n);
	CHECK(img);
	struct elf_info in;
	CHECK_EQ(elf_parse(img, n, &in), 0);
	CHECK_EQ(in.type, ELF_ET_DYN);
	CHECK_EQ(check_readelf("pie", &in), 0);
	CHECK_EQ(check_phdr(img, &in), 0);
	struct elf_info moved = in;
	CHECK_EQ(elf_apply_bias(&moved, 0x1001), -EINVAL);
	CHECK_EQ(elf_apply_bias(&moved, ELF_USER_TOP - 0x1000), -ENOEXEC);
	moved = in;
	CHECK_EQ(elf_apply_bias(&moved, 0), -ENOEXEC); /* page zero */
	moved = in;
	const uint64_t bias = 0x555555554000ull;
	CHECK_EQ(elf_apply_bias(&moved, bias), 0);
	CHECK_EQ(moved.entry, in.entry + bias);
	CHECK_EQ(moved.phdr, in.phdr + bias);
	CHECK_EQ(moved.brk, in.brk + bias);
	CHECK_EQ(moved.seg[0].vaddr, in.seg[0].vaddr + bias);
	CHECK_EQ(moved.tls_vaddr, in.tls_vaddr + bias);
	free(img);
}

TEST(dynamic_binary_refused)
{
	setup();
	CHECK(build("gcc -O1 -o dyn main.c"));
	size_t n;
	uint8_t *img = load("dyn", &n);
	CHECK(img);
	struct elf_info in;
	CHECK_EQ(elf_parse(img, n, &in), -ENOEXEC);
	CHECK(strstr(in.error, "dynamic"));
	free(img);
}

/* ---- hand-made corruptions of the good image ---- */

static uint8_t *img;
static size_t img_size;

static void fresh(void)
{
	setup();
	free(img);
	img = malloc(good_size);
	memcpy(img, good, good_size);
	img_size = good_size;
}

static void set(size_t off, uint64_t v, int width)
{
	memcpy(img + off, &v, width); /* little-endian host */
}

static uint64_t get(size_t off, int width)
{
	uint64_t v = 0;
	memcpy(&v, img + off, width);
	return v;
}

static size_t ph(unsigned i)
{
	return get(32, 8) + 56 * i;
}

/* Index of the n-th PT_LOAD header. */
static unsigned load_ph(unsigned n)
{
	unsigned phnum = get(56, 2);
	for (unsigned i = 0; i < phnum; i++)
		if (get(ph(i), 4) == ELF_PT_LOAD && n-- == 0)
			return i;
	return ~0u;
}

static int parse(void)
{
	struct elf_info in;
	int r = elf_parse(img, img_size, &in);
	if (r == -ENOEXEC && !in.error)
		return -1000; /* a refusal must say why */
	return r;
}

TEST(header_corruptions)
{
	fresh();
	CHECK_EQ(parse(), 0);
	img_size = 63;
	CHECK_EQ(parse(), -ENOEXEC); /* truncated header */
	img_size = 0;
	CHECK_EQ(parse(), -ENOEXEC);
	fresh();
	img_size = ph(2); /* truncated program headers */
	CHECK_EQ(parse(), -ENOEXEC);
	fresh();
	set(1, 'X', 1);
	CHECK_EQ(parse(), -ENOEXEC); /* magic */
	fresh();
	set(4, 1, 1);
	CHECK_EQ(parse(), -ENOEXEC); /* ELFCLASS32 */
	fresh();
	set(5, 2, 1);
	CHECK_EQ(parse(), -ENOEXEC); /* big-endian */
	fresh();
	set(6, 0, 1);
	CHECK_EQ(parse(), -ENOEXEC); /* EI_VERSION */
	fresh();
	set(20, 2, 4);
	CHECK_EQ(parse(), -ENOEXEC); /* e_version */
	fresh();
	set(16, 1, 2);
	CHECK_EQ(parse(), -ENOEXEC); /* ET_REL */
	fresh();
	set(18, 3, 2);
	CHECK_EQ(parse(), -ENOEXEC); /* EM_386 */
	fresh();
	set(54, 64, 2);
	CHECK_EQ(parse(), -ENOEXEC); /* e_phentsize */
	fresh();
	set(32, good_size, 8);
	CHECK_EQ(parse(), -ENOEXEC); /* phoff at end */
	fresh();
	set(32, ~0ull - 8, 8);
	CHECK_EQ(parse(), -ENOEXEC); /* phoff wraps */
	fresh();
	set(56, 0xffff, 2);
	CHECK_EQ(parse(), -ENOEXEC); /* phnum huge (PN_XNUM) */
	fresh();
	set(56, 0, 2);
	CHECK_EQ(parse(), -ENOEXEC); /* no program headers */
	fresh();
	set(24, 0x400000, 8);
	CHECK_EQ(parse(), -ENOEXEC); /* entry in a non-executable segment */
	fresh();
	set(24, 0x7fff00000000ull, 8);
	CHECK_EQ(parse(), -ENOEXEC); /* entry outside any segment */
	CHECK_EQ(elf_parse(NULL, 100, &(struct elf_info){0}), -EINVAL);
}

TEST(segment_corruptions)
{
	unsigned text, data;
	fresh();
	text = load_ph(1);
	data = load_ph(3);
	CHECK(data != ~0u);

	set(ph(data) + 32, get(ph(data) + 40, 8) + 1, 8);
	CHECK_EQ(parse(), -ENOEXEC); /* filesz > memsz */
	fresh();
	set(ph(data) + 8, ALIGN_UP(good_size, 4096) + 0xffc, 8);
	CHECK_EQ(parse(), -ENOEXEC); /* offset+filesz past end */
	fresh();
	set(ph(data) + 8, good_size - 4, 8);
	set(ph(data) + 16, 0x403000 + (good_size - 4) % 4096, 8);
	CHECK_EQ(parse(), -ENOEXEC); /* offset inside, filesz past end */
	fresh();
	set(ph(data) + 8, get(ph(data) + 8, 8) + 1, 8);
	CHECK_EQ(parse(), -ENOEXEC); /* offset and vaddr disagree */
	fresh();
	set(ph(text) + 32, ~0ull - 0x10, 8);
	set(ph(text) + 40, ~0ull - 0x10, 8);
	CHECK_EQ(parse(), -ENOEXEC); /* sizes that wrap */
	fresh();
	set(ph(data) + 40, ~0ull, 8);
	CHECK_EQ(parse(), -ENOEXEC); /* memsz wraps the address space */
	fresh();
	set(ph(data) + 16, 0xffff800000003ffcull, 8);
	CHECK_EQ(parse(), -ENOEXEC); /* kernel half */
	fresh();
	set(ph(data) + 16, 0x7ffffffffffcull, 8);
	set(ph(data) + 8, 0xffc, 8);
	CHECK_EQ(parse(), -ENOEXEC); /* memsz crosses the user top */
	fresh();
	set(ph(text) + 40, 0x2000, 8);
	CHECK_EQ(parse(), -ENOEXEC); /* text overlaps the next segment */
	fresh();
	set(ph(data) + 16, 0x400ffc, 8);
	CHECK_EQ(parse(), -ENOEXEC); /* unsorted */
	fresh();
	set(ph(load_ph(0)) + 16, 0, 8);
	set(ph(load_ph(0)) + 8, 0, 8);
	CHECK_EQ(parse(), -ENOEXEC); /* ET_EXEC mapping page zero */
	fresh();
	set(ph(text) + 48, 0x1800, 8);
	CHECK_EQ(parse(), -ENOEXEC); /* alignment not a power of two */
	fresh();
	set(ph(text) + 4, ELF_PF_R, 4);
	CHECK_EQ(parse(), -ENOEXEC); /* entry's segment not executable */
	fresh();
	set(ph(text), ELF_PT_INTERP, 4);
	CHECK_EQ(parse(), -ENOEXEC); /* PT_INTERP */
	fresh();
	for (unsigned i = 0; i < get(56, 2); i++)
		if (get(ph(i), 4) == ELF_PT_TLS)
			set(ph(i) + 32, 8, 8); /* tls filesz > memsz */
	CHECK_EQ(parse(), -ENOEXEC);
	fresh();
	for (unsigned i = 0; i < get(56, 2); i++)
		if (get(ph(i), 4) == ELF_PT_GNU_STACK)
			set(ph(i) + 4, 7, 4);
	struct elf_info in;
	CHECK_EQ(elf_parse(img, img_size, &in), 0);
	CHECK(in.exec_stack);
}

/* Too many loadable segments: the headers are rewritten in a big buffer. */
TEST(too_many_segments)
{
	fresh();
	size_t n = 64 + 56 * (ELF_MAX_SEGMENTS + 1) + 0x1000;
	uint8_t *b = calloc(1, n);
	memcpy(b, good, 64);
	free(img);
	img = b;
	img_size = n;
	set(32, 64, 8);
	set(56, ELF_MAX_SEGMENTS + 1, 2);
	set(24, 0x400000, 8);
	for (unsigned i = 0; i <= ELF_MAX_SEGMENTS; i++) {
		size_t p = 64 + 56 * i;
		set(p, ELF_PT_LOAD, 4);
		set(p + 4, ELF_PF_R | ELF_PF_X, 4);
		set(p + 8, 0, 8);
		set(p + 16, 0x400000 + 0x1000 * i, 8);
		set(p + 32, 0x100, 8);
		set(p + 40, 0x100, 8);
	}
	CHECK_EQ(parse(), -ENOEXEC);
	set(56, ELF_MAX_SEGMENTS, 2);
	CHECK_EQ(parse(), 0); /* the limit itself is accepted */
}

/* ---- random corruption: never crash; accepted files keep the promises */

static uint64_t rng = 0x5eed5eedull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

TEST(random_corruption)
{
	unsigned accepted = 0;
	for (int c = 0; c < 2000; c++) {
		fresh();
		int nflip = 1 + rnd() % 8;
		for (int k = 0; k < nflip; k++) {
			/* Mostly the headers, where the parser looks. */
			size_t lim = rnd() % 4 ? 64 + 56 * 12 : good_size;
			size_t at = rnd() % MIN(lim, good_size);
			img[at] = rnd() % 3 ? (uint8_t)rnd() : img[at] ^ 0x80;
		}
		if (rnd() % 8 == 0)
			img_size = rnd() % good_size;
		/* An exact-size copy so ASan sees any read past the end. */
		uint8_t *exact = malloc(img_size ? img_size : 1);
		memcpy(exact, img, img_size);
		struct elf_info in;
		int r = elf_parse(exact, img_size, &in);
		free(exact);
		CHECK(r == 0 || (r == -ENOEXEC && in.error));
		if (r)
			continue;
		accepted++;
		bool entry_ok = false;
		CHECK(in.nseg >= 1 && in.nseg <= ELF_MAX_SEGMENTS);
		for (unsigned i = 0; i < in.nseg; i++) {
			const struct elf_segment *s = &in.seg[i];
			CHECK(s->filesz <= s->memsz);
			CHECK(s->offset <= img_size &&
			      s->filesz <= img_size - s->offset);
			CHECK(s->vaddr + s->memsz <= ELF_USER_TOP);
			CHECK(i == 0 ||
			      s->vaddr >= in.seg[i - 1].vaddr +
						  in.seg[i - 1].memsz);
			if ((s->prot & ELF_PROT_X) && in.entry >= s->vaddr &&
			    in.entry < s->vaddr + s->memsz)
				entry_ok = true;
		}
		CHECK(entry_ok);
		CHECK(in.brk <= ELF_USER_TOP && in.brk % ELF_PAGE_SIZE == 0);
	}
	printf("# random corruption: %u of 2000 still accepted\n", accepted);
}

UNIT_MAIN()
