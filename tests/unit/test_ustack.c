// SOURCES: kern/ustack.c tests/unit/libc_host.c
/*
 * Host tests of the initial-stack builder (kern/ustack.c): the stack is
 * built into a buffer standing for the top of a user stack, then parsed
 * back the way a C runtime's start-up code reads it.
 */
#include "kern/elf.h"
#include "kern/kern.h"
#include "tests/unit/unit.h"

#define TOP 0x00007ffffffff000ull
#define BUFSZ (256 * 1024)

static uint8_t *buf;
static const uint8_t rnd16[16] = {1, 2,	 3,  4,	 5,  6,	 7,  8,
				  9, 10, 11, 12, 13, 14, 15, 16};

/* Read user memory of the fake stack. */
static const uint8_t *at(uint64_t uaddr)
{
	if (uaddr < TOP - BUFSZ || uaddr >= TOP)
		return NULL;
	return buf + (uaddr - (TOP - BUFSZ));
}

static uint64_t word(uint64_t uaddr)
{
	uint64_t v;
	memcpy(&v, at(uaddr), 8);
	return v;
}

static const char *str(uint64_t uaddr)
{
	const char *s = (const char *)at(uaddr);
	if (!s || !memchr(s, 0, TOP - uaddr))
		return NULL;
	return s;
}

static void init(struct ustack_args *a)
{
	if (!buf)
		buf = malloc(BUFSZ);
	memset(buf, 0xa5, BUFSZ);
	memset(a, 0, sizeof *a);
	a->buf = buf;
	a->size = BUFSZ;
	a->top = TOP;
	a->random = rnd16;
	a->phdr = 0x400040;
	a->phent = 56;
	a->phnum = 7;
	a->entry = 0x401000;
	a->hwcap = 0x178bfbff;
	a->uid = 1000;
	a->euid = 1001;
	a->gid = 100;
	a->egid = 101;
}

/* Find an auxv value; ~0 when absent. */
static uint64_t aux(uint64_t auxv, uint64_t key)
{
	for (uint64_t p = auxv;; p += 16) {
		if (word(p) == key)
			return word(p + 8);
		if (word(p) == AT_NULL)
			return ~0ull;
	}
}

TEST(layout_parses_back)
{
	struct ustack_args a;
	init(&a);
	const char *argv[] = {"/bin/sh", "-c", "echo hi", "", NULL};
	const char *envp[] = {"PATH=/bin", "HOME=/", NULL};
	a.argv = argv;
	a.envp = envp;
	a.execfn = "/bin/sh";
	CHECK_EQ(ustack_build(&a), 0);
	CHECK_EQ(a.rsp % 16, 0);
	CHECK(at(a.rsp));

	uint64_t p = a.rsp;
	CHECK_EQ(word(p), 4);
	p += 8;
	for (int i = 0; i < 4; i++, p += 8) {
		CHECK(str(word(p)));
		CHECK_STR(str(word(p)), argv[i]);
	}
	CHECK_EQ(word(p), 0);
	p += 8;
	for (int i = 0; i < 2; i++, p += 8)
		CHECK_STR(str(word(p)), envp[i]);
	CHECK_EQ(word(p), 0);
	p += 8;
	uint64_t auxv = p;

	CHECK_EQ(aux(auxv, AT_PHDR), 0x400040);
	CHECK_EQ(aux(auxv, AT_PHENT), 56);
	CHECK_EQ(aux(auxv, AT_PHNUM), 7);
	CHECK_EQ(aux(auxv, AT_PAGESZ), 4096);
	CHECK_EQ(aux(auxv, AT_BASE), 0);
	CHECK_EQ(aux(auxv, AT_FLAGS), 0);
	CHECK_EQ(aux(auxv, AT_ENTRY), 0x401000);
	CHECK_EQ(aux(auxv, AT_UID), 1000);
	CHECK_EQ(aux(auxv, AT_EUID), 1001);
	CHECK_EQ(aux(auxv, AT_GID), 100);
	CHECK_EQ(aux(auxv, AT_EGID), 101);
	CHECK_EQ(aux(auxv, AT_HWCAP), 0x178bfbff);
	CHECK_EQ(aux(auxv, AT_HWCAP2), 0);
	CHECK_EQ(aux(auxv, AT_CLKTCK), 100);
	CHECK_EQ(aux(auxv, AT_SECURE), 0);
	CHECK_EQ(aux(auxv, 33), ~0ull); /* no AT_SYSINFO_EHDR */
	CHECK_STR(str(aux(auxv, AT_PLATFORM)), "x86_64");
	CHECK_STR(str(aux(auxv, AT_EXECFN)), "/bin/sh");
	uint64_t r = aux(auxv, AT_RANDOM);
	CHECK(at(r) && at(r + 15));
	CHECK_EQ(r % 16, 0);
	CHECK(!memcmp(at(r), rnd16, 16));

	/* The vector ends with AT_NULL right after USTACK_NAUXV-1 pairs. */
	CHECK_EQ(word(auxv + 16 * (USTACK_NAUXV - 1)), AT_NULL);

	/* cmdline/environ ranges: NUL-separated strings, as /proc shows. */
	CHECK_EQ(a.arg_end - a.arg_start, 8 + 3 + 8 + 1);
	CHECK(!memcmp(at(a.arg_start), "/bin/sh\0-c\0echo hi\0", 20));
	CHECK_EQ(a.env_end - a.env_start, 10 + 7);
	CHECK(!memcmp(at(a.env_start), "PATH=/bin\0HOME=/", 17));

	/* Nothing below rsp was touched; everything lies below top. */
	CHECK_EQ(*at(a.rsp - 1), 0xa5);
	CHECK_EQ(word(TOP - 8), 0);
}

TEST(empty_vectors)
{
	struct ustack_args a;
	init(&a);
	CHECK_EQ(ustack_build(&a), 0);
	CHECK_EQ(a.rsp % 16, 0);
	CHECK_EQ(word(a.rsp), 0);
	CHECK_EQ(word(a.rsp + 8), 0); /* argv NULL */
	CHECK_EQ(word(a.rsp + 16), 0); /* envp NULL */
	uint64_t auxv = a.rsp + 24;
	CHECK_EQ(aux(auxv, AT_EXECFN), ~0ull); /* omitted without execfn */
	CHECK_STR(str(aux(auxv, AT_PLATFORM)), "x86_64");
	CHECK_EQ(aux(auxv, AT_PAGESZ), 4096);
}

/* rsp stays aligned whatever the string lengths are. */
TEST(alignment_for_all_lengths)
{
	char s[40];
	for (int len = 0; len < 33; len++) {
		for (int extra = 0; extra < 3; extra++) {
			struct ustack_args a;
			init(&a);
			memset(s, 'x', len);
			s[len] = 0;
			const char *argv[] = {s, "a", "bb", NULL};
			argv[extra + 1] = NULL;
			a.argv = argv;
			a.execfn = s;
			CHECK_EQ(ustack_build(&a), 0);
			CHECK_EQ(a.rsp % 16, 0);
			CHECK_EQ(word(a.rsp), extra + 1);
			CHECK_STR(str(word(a.rsp + 8)), s);
		}
	}
}

TEST(too_big)
{
	struct ustack_args a;
	static char big[100 * 1024];
	memset(big, 'y', sizeof big - 1);
	const char *argv[] = {"prog", big, NULL};
	const char *envp[] = {big, NULL};

	init(&a);
	a.argv = argv;
	CHECK_EQ(ustack_build(&a), 0); /* 100 KiB fits in 128 KiB */

	init(&a);
	a.argv = argv;
	a.envp = envp; /* 200 KiB does not */
	CHECK_EQ(ustack_build(&a), -E2BIG);
	CHECK_EQ(buf[BUFSZ - 1], 0xa5); /* refused before writing */

	init(&a);
	a.argv = argv;
	a.limit = 1024;
	CHECK_EQ(ustack_build(&a), -E2BIG);

	init(&a);
	a.argv = argv;
	a.size = 64 * 1024; /* within the limit, but not the buffer */
	a.buf = buf + BUFSZ - a.size;
	CHECK_EQ(ustack_build(&a), -E2BIG);
	CHECK_EQ(buf[BUFSZ - 1], 0xa5);

	/* Exactly as much buffer as needed, then 16 bytes less. */
	const char *small[] = {"x", NULL};
	init(&a);
	a.argv = small;
	CHECK_EQ(ustack_build(&a), 0);
	size_t used = TOP - a.rsp;
	for (size_t sz = used + 64; sz >= used - 16 && sz > 0; sz -= 8) {
		init(&a);
		a.argv = small;
		a.size = sz;
		a.buf = buf + BUFSZ - sz;
		int r = ustack_build(&a);
		if (sz < used)
			CHECK_EQ(r, -E2BIG);
		else if (r == 0)
			CHECK(TOP - a.rsp <= sz);
	}

	/* Many small arguments: the pointers count against the limit too. */
	enum { N = 20000 };
	const char **many = malloc((N + 1) * sizeof *many);
	for (int i = 0; i < N; i++)
		many[i] = "z";
	many[N] = NULL;
	init(&a);
	a.argv = many; /* 20000 * (2 + 8) = 200 KB > 128 KiB */
	CHECK_EQ(ustack_build(&a), -E2BIG);
	free(many);
}

TEST(bad_arguments)
{
	struct ustack_args a;
	init(&a);
	a.top = TOP + 8;
	CHECK_EQ(ustack_build(&a), -EINVAL);
	init(&a);
	a.random = NULL;
	CHECK_EQ(ustack_build(&a), -EINVAL);
	init(&a);
	a.buf = NULL;
	CHECK_EQ(ustack_build(&a), -EINVAL);
	CHECK_EQ(ustack_build(NULL), -EINVAL);
}

UNIT_MAIN()
