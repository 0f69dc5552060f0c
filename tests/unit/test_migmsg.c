// SOURCES: mosix/mig_msg.c
/*
 * test_migmsg.c — the migration and deputy message formats (mosix/
 * mig_msg.c): round trips of every message, every rejection rule, and a
 * seeded fuzz batch over the decoders (random bytes and mutated valid
 * messages). Whatever a decoder accepts must encode back to the very same
 * bytes, so no field is silently changed or ignored; ASan/UBSan catch a
 * decoder that reads past its buffer.
 *
 * FUZZ_CASES (default 20000) and FUZZ_SEED (default 1) select the batch;
 * `make fuzz` runs a long random one. A failure prints the seed and case.
 */
#include "kern/errno.h"
#include "mosix/mig_msg.h"
#include "tests/unit/unit.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

/* A valid image: two anonymous regions and a file region. */
static struct mig_image *sample_image(void)
{
	static struct mig_image im;
	memset(&im, 0, sizeof im);
	im.home_node = 2;
	im.home_pid = 42;
	for (int i = 0; i < MIG_NREGS; i++)
		im.regs[i] = 0x1000 + (uint64_t)i;
	im.regs[MIG_R_RIP] = 0x401000;
	im.regs[MIG_R_RSP] = 0x7ffffff000ull;
	for (int i = 0; i < MIG_FPU_SIZE; i++)
		im.fpu[i] = (uint8_t)i;
	im.fs_base = 0x5000;
	im.sigmask = 1u << 3;
	im.sigpending = 1u << 9;
	im.siginfo[9] = (struct mig_siginfo){0, 7, -1, 0x1234};
	im.action[1] = (struct mig_action){0x401500, 0x04000000, 0x401600, 5};
	im.ss_flags = 2;
	im.brk_start = 0x600000;
	im.brk = 0x620000;
	im.mmap_next = 0x100000000000ull;
	strcpy(im.name, "memhash");
	im.nbackings = 1;
	im.nregions = 3;
	im.region[0] = (struct mig_region){0x400000, 0x410000, 0, 5, 1, 0};
	im.region[1] = (struct mig_region){0x600000, 0x620000, 0, 3, 0, -1};
	im.region[2] = (struct mig_region){
		0x7fff000000ull, 0x8000000000ull, 0, 3, 0, -1};
	im.npages = 10;
	return &im;
}

static uint8_t *encode_image(const struct mig_image *im, size_t *len)
{
	*len = mig_image_size(im);
	uint8_t *buf = malloc(*len);
	mig_image_encode(im, buf);
	return buf;
}

/* Decoding buf must give want (-errno or 0). */
static int decode_image(const uint8_t *buf, size_t len)
{
	static struct mig_image out;
	uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan sees */
	memcpy(copy, buf, len);
	int rc = mig_image_decode(copy, len, &out);
	free(copy);
	return rc;
}

TEST(image_round_trip)
{
	size_t len;
	uint8_t *buf = encode_image(sample_image(), &len);
	static struct mig_image out;
	CHECK_EQ(mig_image_decode(buf, len, &out), 0);
	CHECK_EQ(out.home_pid, 42);
	CHECK_EQ(out.regs[MIG_R_RIP], 0x401000);
	CHECK_EQ(out.siginfo[9].status, -1);
	CHECK_EQ(out.action[1].restorer, 0x401600);
	CHECK_EQ(out.ss_flags, 2);
	CHECK_STR(out.name, "memhash");
	CHECK_EQ(out.nregions, 3);
	CHECK_EQ(out.region[0].index, 0);
	CHECK_EQ(out.region[2].end, 0x8000000000ull);
	uint8_t *again = malloc(len);
	mig_image_encode(&out, again);
	CHECK(!memcmp(buf, again, len));
	free(buf);
	free(again);
}

/* Change one thing in the sample and expect the decoder to refuse. */
#define IMAGE_BAD(change, want)                        \
	do {                                           \
		struct mig_image *im = sample_image(); \
		change;                                \
		size_t len_;                           \
		uint8_t *b_ = encode_image(im, &len_); \
		int rc_ = decode_image(b_, len_);      \
		free(b_);                              \
		CHECK_EQ(rc_, want);                   \
	} while (0)

TEST(image_rejects_bad_fields)
{
	IMAGE_BAD(im->home_node = 64, -EINVAL);
	IMAGE_BAD(im->home_pid = 0, -EINVAL);
	IMAGE_BAD(im->regs[MIG_R_RIP] = MIG_USER_TOP, -EINVAL);
	IMAGE_BAD(im->regs[MIG_R_RSP] = MIG_USER_TOP + 8, -EINVAL);
	IMAGE_BAD(im->brk = im->brk_start - 4096, -EINVAL);
	IMAGE_BAD(im->mmap_next = MIG_USER_TOP + 1, -EINVAL);
	IMAGE_BAD(im->region[0].start = 0x400010, -EINVAL); /* unaligned */
	IMAGE_BAD(im->region[0].offset = 12, -EINVAL);
	IMAGE_BAD(im->region[1].end = im->region[1].start, -EINVAL);
	IMAGE_BAD(im->region[1].start = 0x408000, -EINVAL); /* overlaps */
	IMAGE_BAD(im->region[2].end = MIG_USER_TOP + 4096, -EINVAL);
	IMAGE_BAD(im->region[1].prot = 8, -EINVAL);
	IMAGE_BAD(im->lb_reason = 3, -EINVAL); /* manual, load, memory */
	IMAGE_BAD(im->region[1].flags = 2, -EINVAL);
	IMAGE_BAD(im->region[0].index = -1, -EINVAL); /* file, no backing */
	IMAGE_BAD(im->region[0].index = 1, -EINVAL); /* past nbackings */
	IMAGE_BAD(im->region[1].index = 0, -EINVAL); /* anonymous, backed */
	IMAGE_BAD(im->npages = 1u << 30, -EINVAL); /* more than it maps */
	IMAGE_BAD((im->nregions = 0, im->npages = 0), 0); /* empty is fine */
}

TEST(image_rejects_bad_lengths)
{
	size_t len;
	uint8_t *buf = encode_image(sample_image(), &len);
	CHECK_EQ(decode_image(buf, 0), -EPROTO);
	CHECK_EQ(decode_image(buf, len - 1), -EPROTO);
	CHECK_EQ(decode_image(buf, len - 40), -EPROTO);
	uint8_t *longer = calloc(1, len + 1);
	memcpy(longer, buf, len);
	CHECK_EQ(decode_image(longer, len + 1), -EPROTO);
	free(longer);
	/* nregions beyond the limit, with a buffer that matches it. */
	static struct mig_image big;
	big = *sample_image();
	big.nregions = MIG_MAX_REGIONS;
	size_t blen = mig_image_size(&big);
	uint8_t *b = malloc(blen + 40);
	mig_image_encode(&big, b);
	size_t at = blen - MIG_MAX_REGIONS * 40 - 8; /* nregions field */
	b[at] = (MIG_MAX_REGIONS + 1) & 0xff;
	b[at + 1] = (MIG_MAX_REGIONS + 1) >> 8;
	memset(b + blen, 0, 40);
	CHECK_EQ(decode_image(b, blen + 40), -EPROTO);
	/* A region's reserved word must be zero. */
	buf[len - 1] = 1;
	CHECK_EQ(decode_image(buf, len), -EINVAL);
	free(b);
	free(buf);
}

static uint8_t *encode_ctl(enum mig_ctl_type t, const struct mig_ctl *c,
			   const void *tail, size_t tail_len, size_t *len)
{
	size_t fixed = mig_ctl_size(t);
	*len = fixed + tail_len;
	uint8_t *buf = malloc(*len ? *len : 1);
	mig_ctl_encode(t, c, buf);
	if (tail_len)
		memcpy(buf + fixed, tail, tail_len);
	return buf;
}

static int decode_ctl(enum mig_ctl_type t, const struct mig_ctl *c,
		      const void *tail, size_t tail_len, struct mig_ctl *out)
{
	size_t len;
	uint8_t *buf = encode_ctl(t, c, tail, tail_len, &len);
	int rc = mig_ctl_decode(t, buf, len, out);
	free(buf);
	return rc;
}

TEST(ctl_round_trips)
{
	struct mig_ctl out;
	struct mig_ctl sc = {.home_node = 1,
			     .home_pid = 9,
			     .i = {39},
			     .u = {1, 2, 3, 4, 5, 6, 0xff, 77}};
	CHECK_EQ(decode_ctl(MIG_C_SYSCALL, &sc, NULL, 0, &out), 0);
	CHECK_EQ(out.i[0], 39);
	CHECK_EQ(out.u[5], 6);
	CHECK_EQ(out.u[7], 77);
	/* A write with its data, a stat with its window. */
	struct mig_ctl w = {.home_node = 1,
			    .home_pid = 9,
			    .i = {1, MIG_SC_IN | MIG_SC_OUT},
			    .u = {[8] = 0x5000, [9] = 0x6000, [10] = 144}};
	CHECK_EQ(decode_ctl(MIG_C_SYSCALL, &w, "data", 4, &out), 0);
	CHECK_EQ(out.tail_len, 4);
	CHECK_EQ(out.u[8], 0x5000);
	CHECK_EQ(out.u[10], 144);
	struct mig_ctl ret = {.home_node = 1,
			      .home_pid = 9,
			      .i = {0},
			      .u = {(uint64_t)-2, 77}};
	CHECK_EQ(decode_ctl(MIG_C_SYSRET, &ret, NULL, 0, &out), 0);
	CHECK_EQ((int64_t)out.u[0], -2);
	char data[100] = "hello";
	struct mig_ctl uc = {.home_node = 3,
			     .home_pid = 5,
			     .i = {MIG_UC_OUT, 100},
			     .u = {0x1000}};
	CHECK_EQ(decode_ctl(MIG_C_UCOPY, &uc, data, 100, &out), 0);
	CHECK_EQ(out.tail_len, 100);
	struct mig_ctl sig = {
		.home_node = 3, .home_pid = 5, .i = {10, 0, 77}, .u = {0, 0}};
	CHECK_EQ(decode_ctl(MIG_C_SIGNAL, &sig, NULL, 0, &out), 0);
	CHECK_EQ(out.i[2], 77);
	/* A page train of two pages. */
	static uint8_t tail[2 * (8 + MIG_PAGE_SIZE)];
	tail[0] = 0x00, tail[1] = 0x10; /* va 0x1000 */
	tail[8 + MIG_PAGE_SIZE + 1] = 0x20; /* va 0x2000 */
	tail[8 + 5] = 0xab;
	struct mig_ctl pg = {.i = {2}, .u = {7}};
	CHECK_EQ(decode_ctl(MIG_C_PAGES, &pg, tail, sizeof tail, &out), 0);
	/* out.tail points into a freed buffer: decode again, keep it. */
	size_t len;
	uint8_t *buf = encode_ctl(MIG_C_PAGES, &pg, tail, sizeof tail, &len);
	CHECK_EQ(mig_ctl_decode(MIG_C_PAGES, buf, len, &out), 0);
	uint64_t va;
	const uint8_t *p0 = mig_pages_entry(&out, 0, &va);
	CHECK_EQ(va, 0x1000);
	CHECK_EQ(p0[5], 0xab);
	mig_pages_entry(&out, 1, &va);
	CHECK_EQ(va, 0x2000);
	free(buf);
}

TEST(ctl_rejects)
{
	struct mig_ctl out, c;
#define CTL_BAD(t, init, tail, tlen, want)                           \
	do {                                                         \
		c = (struct mig_ctl)init;                            \
		CHECK_EQ(decode_ctl(t, &c, tail, tlen, &out), want); \
	} while (0)
#define C(...) {__VA_ARGS__}
	CTL_BAD(MIG_C_SYSCALL, C(.home_node = 64), NULL, 0, -EINVAL);
	CTL_BAD(MIG_C_SYSCALL, C(.home_pid = 0x80000000u), NULL, 0, -EINVAL);
	CTL_BAD(MIG_C_SYSCALL, C(.i = {1024}), NULL, 0, -EINVAL);
	CTL_BAD(MIG_C_SYSCALL, C(.i = {-1}), NULL, 0, -EINVAL);
	CTL_BAD(MIG_C_SYSCALL, C(.i = {1}), "x", 1, -EINVAL); /* tail, no IN */
	CTL_BAD(MIG_C_SYSCALL, C(.i = {1, MIG_SC_IN}), NULL, 0, -EINVAL);
	CTL_BAD(MIG_C_SYSCALL, C(.i = {1, 4}), NULL, 0, -EINVAL);
	CTL_BAD(MIG_C_SYSCALL,
		C(.i = {1, MIG_SC_IN}, .u = {[8] = MIG_USER_TOP}), "x", 1,
		-EINVAL);
	CTL_BAD(MIG_C_SYSCALL, C(.i = {1, MIG_SC_OUT}, .u = {[9] = 0x1000}),
		NULL, 0, -EINVAL); /* an empty window */
	CTL_BAD(MIG_C_SYSCALL,
		C(.i = {1, MIG_SC_OUT},
		  .u = {[9] = 0x1000, [10] = MIG_EAGER_MAX + 1}),
		NULL, 0, -EINVAL);
	CTL_BAD(MIG_C_SYSCALL, C(.i = {1}, .u = {[10] = 8}), NULL, 0, -EINVAL);
	CTL_BAD(MIG_C_SYSCALL,
		C(.i = {1, MIG_SC_IN | MIG_SC_OUT},
		  .u = {[8] = 0x2000, [9] = 0x1000, [10] = 144}),
		"abc", 4, 0);
	CTL_BAD(MIG_C_SYSRET, C(.i = {4}), NULL, 0, -EINVAL);
	CTL_BAD(MIG_C_SYSRET, C(.i = {0}), "x", 1, -EINVAL); /* no OUT */
	CTL_BAD(MIG_C_SYSRET, C(.i = {MIG_RET_OUT}), "x", 1, 0);
	static uint8_t big[MIG_EAGER_MAX + 1];
	CTL_BAD(MIG_C_SYSRET, C(.i = {MIG_RET_OUT}), big, sizeof big, -EPROTO);
	CTL_BAD(MIG_C_COMMIT, C(.i = {2}), NULL, 0, -EINVAL);
	CTL_BAD(MIG_C_UCOPY, C(.i = {5, 1}), NULL, 0, -EINVAL);
	CTL_BAD(MIG_C_UCOPY, C(.i = {MIG_UC_IN, -1}), NULL, 0, -EINVAL);
	CTL_BAD(MIG_C_UCOPY, C(.i = {MIG_UC_IN, MIG_UCOPY_MAX + 1}), NULL, 0,
		-EINVAL);
	CTL_BAD(MIG_C_UCOPY, C(.i = {MIG_UC_IN, 16}, .u = {MIG_USER_TOP - 8}),
		NULL, 0, -EINVAL);
	CTL_BAD(MIG_C_UCOPY, C(.i = {MIG_UC_OUT, 4}), "abc", 3, -EPROTO);
	CTL_BAD(MIG_C_UCOPY, C(.i = {MIG_UC_IN, 4}), "abcd", 4, -EPROTO);
	CTL_BAD(MIG_C_PAGE, C(.i = {-1}), NULL, 0, -EINVAL);
	CTL_BAD(MIG_C_PAGE, C(.i = {0}, .u = {12}), NULL, 0, -EINVAL);
	CTL_BAD(MIG_C_SIGNAL, C(.i = {-1}), NULL, 0, -EINVAL);
	CTL_BAD(MIG_C_SIGNAL, C(.i = {0}), NULL, 0, 0); /* a probe */
	CTL_BAD(MIG_C_SIGNAL, C(.i = {65}), NULL, 0, -EINVAL);
	CTL_BAD(MIG_C_EXIT, C(.i = {0x10000}), NULL, 0, -EINVAL);
	CTL_BAD(MIG_C_WHERE, C(.i = {64}), NULL, 0, -EINVAL);
	CTL_BAD(MIG_C_GOTO, C(.i = {-2}), NULL, 0, -EINVAL);
	CTL_BAD(MIG_C_GOTO, C(.i = {-1}), NULL, 0, 0);
	CTL_BAD(MIG_C_HEARS, C(.i = {64}), NULL, 0, -EINVAL);
	CTL_BAD(MIG_C_HEARS, C(.i = {-1}), NULL, 0, -EINVAL);
	CTL_BAD(MIG_C_HEARS, C(.i = {3}), NULL, 0, 0); /* home pid 0 */
	CTL_BAD(MIG_C_HEARS, C(.i = {3}), "x", 1, -EPROTO); /* no tail */
	CTL_BAD(MIG_C_PAGES, C(.i = {0}), NULL, 0, -EPROTO);
	CTL_BAD(MIG_C_PAGES, C(.i = {MIG_PAGES_PER_MSG + 1}), NULL, 0, -EPROTO);
	static uint8_t page[8 + MIG_PAGE_SIZE];
	CTL_BAD(MIG_C_PAGES, C(.i = {1}), page, sizeof page - 1, -EPROTO);
	page[0] = 1; /* va 1: unaligned */
	CTL_BAD(MIG_C_PAGES, C(.i = {1}), page, sizeof page, -EINVAL);
	page[0] = 0;
	page[5] = 0x80; /* va 0x800000000000: kernel half */
	CTL_BAD(MIG_C_PAGES, C(.i = {1}), page, sizeof page, -EINVAL);
	/* Too short for the fixed part, and an unknown type. */
	uint8_t small[4] = {0};
	CHECK_EQ(mig_ctl_decode(MIG_C_EXIT, small, sizeof small, &out),
		 -EPROTO);
	CHECK_EQ(mig_ctl_decode(MIG_C_COUNT, small, sizeof small, &out),
		 -EINVAL);
#undef C
#undef CTL_BAD
}

/* A valid message of type t (the image for t == MIG_C_COUNT). */
static uint8_t *valid_message(int t, size_t *len)
{
	if (t == MIG_C_COUNT)
		return encode_image(sample_image(), len);
	struct mig_ctl c = {.home_node = 1, .home_pid = 5};
	static uint8_t tail[3 * (8 + MIG_PAGE_SIZE)];
	size_t tl = 0;
	switch (t) {
	case MIG_C_PAGES:
		c.i[0] = 3;
		memset(tail, 0, sizeof tail);
		for (int k = 0; k < 3; k++)
			tail[k * (8 + MIG_PAGE_SIZE) + 1] = (uint8_t)(k + 1);
		tl = sizeof tail;
		break;
	case MIG_C_UCOPY:
		c.i[0] = MIG_UC_OUT;
		c.i[1] = 64;
		c.u[0] = 0x10000;
		tl = 64;
		break;
	case MIG_C_SIGNAL:
		c.i[0] = 2;
		break;
	case MIG_C_SYSCALL:
		c.i[0] = 1;
		break;
	default:
		break;
	}
	return encode_ctl((enum mig_ctl_type)t, &c, tail, tl, len);
}

TEST(fuzz_decoders)
{
	const char *env = getenv("FUZZ_CASES");
	long cases = env ? atol(env) : 20000;
	env = getenv("FUZZ_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 10) : 1;
	rng_state = seed * 0x9e3779b97f4a7c15ull + 1;
	static struct mig_image im;
	long accepted = 0;
	for (long k = 0; k < cases; k++) {
		int t = (int)(rnd() % (MIG_C_COUNT + 1));
		size_t len;
		uint8_t *buf;
		if (rnd() % 8 == 0) { /* random bytes */
			len = rnd() % 512;
			buf = malloc(len ? len : 1);
			for (size_t i = 0; i < len; i++)
				buf[i] = (uint8_t)rnd();
		} else {
			buf = valid_message(t, &len);
			int edits = 1 + (int)(rnd() % 4);
			for (int e = 0; e < edits && len; e++) {
				switch (rnd() % 4) {
				case 0: /* flip a byte */
					buf[rnd() % len] ^=
						(uint8_t)(1 + rnd());
					break;
				case 1: /* boundary value in a word */
				{
					size_t at = rnd() % len;
					buf[at] = rnd() & 1 ? 0xff : 0;
					break;
				}
				case 2: /* truncate */
					len = rnd() % len;
					break;
				default: /* a field in the first 64 bytes */
					buf[rnd() % (len < 64 ? len : 64)] =
						(uint8_t)rnd();
				}
			}
		}
		/* An exact-size copy, so ASan sees any overread. */
		uint8_t *m = malloc(len ? len : 1);
		memcpy(m, buf, len);
		free(buf);
		int rc;
		uint8_t *again = malloc(len ? len : 1);
		if (t == MIG_C_COUNT) {
			rc = mig_image_decode(m, len, &im);
			if (rc == 0) {
				/* The name's last byte is forced to NUL. */
				m[len - (size_t)im.nregions * 40 - 9] = 0;
				mig_image_encode(&im, again);
			}
		} else {
			struct mig_ctl c;
			rc = mig_ctl_decode((enum mig_ctl_type)t, m, len, &c);
			if (rc == 0) {
				mig_ctl_encode((enum mig_ctl_type)t, &c, again);
				memcpy(again + mig_ctl_size(t), c.tail,
				       c.tail_len);
				if (c.tail_len &&
				    (c.tail < m ||
				     c.tail + c.tail_len > m + len))
					rc = -1000; /* tail outside the buffer */
			}
		}
		if (rc != 0 && rc != -EPROTO && rc != -EINVAL) {
			printf("# seed %llu case %ld: odd result %d\n",
			       (unsigned long long)seed, k, rc);
			CHECK(0);
		}
		if (rc == 0) {
			accepted++;
			if (memcmp(m, again, len)) {
				printf("# seed %llu case %ld: type %d accepted "
				       "but re-encodes differently\n",
				       (unsigned long long)seed, k, t);
				CHECK(0);
			}
		}
		free(again);
		free(m);
	}
	printf("# %ld cases, %ld accepted\n", cases, accepted);
	CHECK(accepted > 0); /* the mutations do not all break messages */
}

UNIT_MAIN()
