// SOURCES: -Dvsnprintf=k_vsnprintf -Dsnprintf=k_snprintf -Wno-format -Wno-format-overflow kern/vsnprintf.c
/*
 * Host tests of the kernel's vsnprintf (kern/vsnprintf.c), compared with the
 * C library's on the conversions both support. The kernel's functions are
 * renamed k_* for this build so both can be called side by side.
 */
#include "kern/kern.h"
#include "tests/unit/unit.h"

#undef snprintf
int snprintf(char *buf, size_t size, const char *fmt, ...);

#define SAME(fmt, ...)                                                 \
	do {                                                           \
		char a_[128], b_[128];                                 \
		int na_ = k_snprintf(a_, sizeof a_, fmt, __VA_ARGS__); \
		int nb_ = snprintf(b_, sizeof b_, fmt, __VA_ARGS__);   \
		CHECK_STR(a_, b_);                                     \
		CHECK_EQ(na_, nb_);                                    \
	} while (0)

TEST(integers_like_libc)
{
	SAME("%d %i %u", -7, 42, 3000000000u);
	SAME("%x %X %o %#x %#o", 255u, 255u, 8u, 255u, 8u);
	SAME("%ld %lu %lx", -1L, 18446744073709551615UL, 0xdeadbeefcafeUL);
	SAME("%lld %llu", -9223372036854775807LL - 1, 1ULL << 63);
	SAME("%zu %zx", (size_t)12345, (size_t)0xabc);
	SAME("%hhd %hd %hu", 300, 70000, 70000);
}

TEST(width_precision_flags)
{
	SAME("[%5d] [%-5d] [%05d] [%+d] [% d]", 42, 42, 42, 42, 42);
	SAME("[%.3d] [%8.3d] [%-8.3x] [%.0d]", 7, 7, 7u, 0);
	SAME("[%*d] [%-*d] [%.*d]", 6, 1, 6, 1, 4, 1);
	SAME("[%05d] [%-05d]", -42, -42);
	SAME("[%016lx]", 0x1234UL);
}

TEST(strings_and_chars)
{
	SAME("[%s] [%10s] [%-10s] [%.2s]", "abc", "abc", "abc", "abc");
	SAME("[%c] [%3c] [%-3c] %%", 'x', 'y', 'z');
}

TEST(pointer_and_null_string)
{
	char b[64];
	k_snprintf(b, sizeof b, "%p", (void *)0xffffffff80200000UL);
	CHECK_STR(b, "0xffffffff80200000");
	k_snprintf(b, sizeof b, "%s", (char *)NULL);
	CHECK_STR(b, "(null)");
}

TEST(truncation_and_return_value)
{
	char b[8];
	memset(b, 'Z', sizeof b);
	CHECK_EQ(k_snprintf(b, sizeof b, "%s-%d", "abcdef", 12345), 12);
	CHECK_STR(b, "abcdef-");
	CHECK_EQ(k_snprintf(b, 1, "%d", 5), 1);
	CHECK_EQ(b[0], 0);
	CHECK_EQ(k_snprintf(NULL, 0, "%d", 12345), 5);
}

TEST(unknown_conversion_printed)
{
	char b[32];
	k_snprintf(b, sizeof b, "a%qb");
	CHECK_STR(b, "a%qb");
	k_snprintf(b, sizeof b, "trailing %");
	CHECK_STR(b, "trailing ");
}

UNIT_MAIN()
