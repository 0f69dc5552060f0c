/*
 * unit.h — a tiny test harness for host unit tests of pure kernel code.
 *
 *   TEST(name) { CHECK(cond); CHECK_EQ(a, b); }
 *   int main(void) { return unit_main(); }   -- or UNIT_MAIN()
 *
 * Tests register themselves with a constructor; unit_main runs them all and
 * prints TAP (`ok N - name` / `not ok N - name`). Built with ASan and UBSan
 * (see the Makefile), so a memory error fails the binary too.
 */
#ifndef TESTS_UNIT_UNIT_H
#define TESTS_UNIT_UNIT_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct unit_test {
	const char *name;
	void (*fn)(void);
};

#define UNIT_MAX_TESTS 256
static struct unit_test unit_tests[UNIT_MAX_TESTS];
static int unit_ntests;
static int unit_failed_now;

#define TEST(name)                                                     \
	static void test_##name(void);                                 \
	__attribute__((constructor)) static void register_##name(void) \
	{                                                              \
		unit_tests[unit_ntests++] =                            \
			(struct unit_test){#name, test_##name};        \
	}                                                              \
	static void test_##name(void)

#define CHECK(cond)                                                     \
	do {                                                            \
		if (!(cond)) {                                          \
			printf("# %s:%d: CHECK(%s) failed\n", __FILE__, \
			       __LINE__, #cond);                        \
			unit_failed_now = 1;                            \
			return;                                         \
		}                                                       \
	} while (0)

#define CHECK_EQ(a, b)                                                     \
	do {                                                               \
		long long va_ = (long long)(a), vb_ = (long long)(b);      \
		if (va_ != vb_) {                                          \
			printf("# %s:%d: %s == %s failed: %lld != %lld\n", \
			       __FILE__, __LINE__, #a, #b, va_, vb_);      \
			unit_failed_now = 1;                               \
			return;                                            \
		}                                                          \
	} while (0)

#define CHECK_STR(a, b)                                                 \
	do {                                                            \
		const char *sa_ = (a), *sb_ = (b);                      \
		if (strcmp(sa_, sb_)) {                                 \
			printf("# %s:%d: \"%s\" != \"%s\"\n", __FILE__, \
			       __LINE__, sa_, sb_);                     \
			unit_failed_now = 1;                            \
			return;                                         \
		}                                                       \
	} while (0)

static inline int unit_main(void)
{
	int failed = 0;
	printf("1..%d\n", unit_ntests);
	for (int i = 0; i < unit_ntests; i++) {
		unit_failed_now = 0;
		unit_tests[i].fn();
		failed += unit_failed_now;
		printf("%sok %d - %s\n", unit_failed_now ? "not " : "", i + 1,
		       unit_tests[i].name);
	}
	return failed ? 1 : 0;
}

#define UNIT_MAIN()                 \
	int main(void)              \
	{                           \
		return unit_main(); \
	}

#endif
