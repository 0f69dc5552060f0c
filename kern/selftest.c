/*
 * selftest.c — runs the in-kernel self-tests registered with SELFTEST() in
 * the .selftests linker section, printing TAP on COM1, then leaves QEMU
 * through isa-debug-exit: status 1 when every test passed, 3 otherwise.
 * A pattern selects tests whose name contains it.
 */
#include "arch/x86/arch.h"
#include "kern/kern.h"

extern const struct selftest __selftest_start[], __selftest_end[];

static bool selected(const struct selftest *t, const char *pattern)
{
	if (t->explicit_only)
		return pattern[0] && !strcmp(t->name, pattern);
	if (!pattern[0])
		return true;
	size_t pl = strlen(pattern);
	for (const char *s = t->name; *s; s++)
		if (!strncmp(s, pattern, pl))
			return true;
	return false;
}

void selftest_run(const char *pattern)
{
	int n = 0, failed = 0;
	for (const struct selftest *t = __selftest_start; t < __selftest_end;
	     t++)
		n += selected(t, pattern);
	printk("TAP version 13\n1..%d\n", n);
	int i = 0;
	for (const struct selftest *t = __selftest_start; t < __selftest_end;
	     t++) {
		if (!selected(t, pattern))
			continue;
		int rc = t->fn();
		failed += rc != 0;
		printk("%sok %d - %s\n", rc ? "not " : "", ++i, t->name);
	}
	printk("# selftest: %d passed, %d failed\n", n - failed, failed);
	arch_qemu_exit(failed ? 1 : 0);
	printk("shoal: self-tests done (no isa-debug-exit device); halting\n");
	for (;;)
		arch_idle();
}

/* Proves that a fault in a self-test produces the exception block. */
static volatile uintptr_t crash_address = 0x10;

__attribute__((noinline)) static int crash_deref(void)
{
	return *(volatile int *)crash_address;
}

SELFTEST_EXPLICIT(crash)
{
	return crash_deref() == 12345;
}

SELFTEST(vsnprintf_formats)
{
	char b[64];
	snprintf(b, sizeof b, "%d|%5u|%-3x|%05d|%s|%c|%lx", -42, 7u, 0xau, 42,
		 "hi", 'z', 0xdeadbeefUL);
	ST_ASSERT(!strcmp(b, "-42|    7|a  |00042|hi|z|deadbeef"));
	ST_ASSERT(snprintf(b, 4, "%s", "abcdef") == 6 && !strcmp(b, "abc"));
	return 0;
}

SELFTEST(ksyms_resolve)
{
	const char *name;
	uintptr_t off;
	ST_ASSERT(ksym_lookup((uintptr_t)selftest_run + 3, &name, &off));
	ST_ASSERT(!strcmp(name, "selftest_run") && off == 3);
	ST_ASSERT(!ksym_lookup(0x1000, &name, &off));
	return 0;
}
