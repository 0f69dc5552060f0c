// SOURCES: kern/cmdline.c tests/unit/libc_host.c
/*
 * Host tests of the boot command-line parser (kern/cmdline.c).
 */
#include "kern/kern.h"
#include "tests/unit/unit.h"

static char reports[8][256];
static int nreports;

static void report(const char *msg)
{
	if (nreports < 8)
		snprintf(reports[nreports], sizeof reports[0], "%s", msg);
	nreports++;
}

static int parse(const char *s, struct kconfig *c)
{
	nreports = 0;
	kconfig_defaults(c);
	return kconfig_parse(s, c, report);
}

TEST(defaults)
{
	struct kconfig c;
	CHECK_EQ(parse("", &c), 0);
	CHECK_EQ(c.node, -1);
	CHECK_EQ(c.hz, 100);
	CHECK_EQ(c.loglevel, LOG_INFO);
	CHECK(!c.selftest);
}

TEST(all_known_options)
{
	struct kconfig c;
	CHECK_EQ(parse("  node=12\tloglevel=7 hz=1000 selftest=vm_  ", &c), 0);
	CHECK_EQ(c.node, 12);
	CHECK_EQ(c.loglevel, 7);
	CHECK_EQ(c.hz, 1000);
	CHECK(c.selftest);
	CHECK_STR(c.selftest_pattern, "vm_");
	CHECK_EQ(nreports, 0);
}

TEST(plain_selftest_runs_all)
{
	struct kconfig c;
	CHECK_EQ(parse("selftest", &c), 0);
	CHECK(c.selftest);
	CHECK_STR(c.selftest_pattern, "");
}

TEST(unknown_word_reported_and_ignored)
{
	struct kconfig c;
	CHECK_EQ(parse("node=3 quiet node=4", &c), 1);
	CHECK_EQ(nreports, 1);
	CHECK(strstr(reports[0], "unknown boot option 'quiet'"));
	CHECK_EQ(c.node, 4);
}

TEST(bad_values_keep_defaults)
{
	struct kconfig c;
	CHECK_EQ(parse("node=256 hz=5 hz=abc loglevel=8 node= node=-1 hz", &c),
		 7);
	CHECK_EQ(c.node, -1);
	CHECK_EQ(c.hz, 100);
	CHECK_EQ(c.loglevel, LOG_INFO);
	CHECK(strstr(reports[0], "node=256"));
}

TEST(huge_number_does_not_wrap)
{
	struct kconfig c;
	CHECK_EQ(parse("node=18446744073709551617 hz=99999999999999999999999",
		       &c),
		 2);
	CHECK_EQ(c.node, -1);
	CHECK_EQ(c.hz, 100);
}

TEST(leading_path_is_skipped)
{
	struct kconfig c;
	CHECK_EQ(parse("/boot/shoal.elf node=2", &c), 0);
	CHECK_EQ(c.node, 2);
	/* only the first word may be a path */
	CHECK_EQ(parse("node=2 /boot/x", &c), 1);
}

TEST(overlong_word_reported)
{
	struct kconfig c;
	char line[400];
	memset(line, 'x', sizeof line - 1);
	line[sizeof line - 1] = 0;
	memcpy(line + 300, " node=9", 7);
	CHECK_EQ(parse(line, &c), 2); /* the long word and its x-tail */
	CHECK(strstr(reports[0], "too long"));
	CHECK_EQ(c.node, -1);
}

TEST(selftest_pattern_too_long)
{
	struct kconfig c;
	CHECK_EQ(parse("selftest=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &c),
		 1);
	CHECK(c.selftest);
	CHECK_STR(c.selftest_pattern, "");
}

TEST(linker_options)
{
	struct kconfig c;
	CHECK_EQ(parse("hello_ms=200 clusterkey=sea-bream", &c), 0);
	CHECK_EQ(c.hello_ms, 200);
	CHECK_STR(c.clusterkey, "sea-bream");
	CHECK_EQ(parse("hello_ms=10 clusterkey=", &c), 2);
	CHECK_EQ(c.hello_ms, 0);
	CHECK_STR(c.clusterkey, "");
	CHECK(strstr(reports[0], "hello_ms=50..60000"));
	CHECK(strstr(reports[1], "the Linker runs unkeyed"));
	char line[128];
	snprintf(line, sizeof line, "clusterkey=%070d", 7);
	CHECK_EQ(parse(line, &c), 1);
	CHECK_STR(c.clusterkey, "");
}

TEST(balancer_options)
{
	struct kconfig c;
	CHECK_EQ(parse("", &c), 0);
	CHECK_EQ(c.speed, 0); /* measured at boot */
	CHECK_EQ(c.info_ms, 0);
	CHECK_STR(c.lb, "mosix");
	CHECK_EQ(parse("speed=3000 info_ms=500 lb=off", &c), 0);
	CHECK_EQ(c.speed, 3000);
	CHECK_EQ(c.info_ms, 500);
	CHECK_STR(c.lb, "off");
	CHECK_EQ(parse("lb=static", &c), 0);
	CHECK_STR(c.lb, "static");
	CHECK_EQ(parse("speed=0 info_ms=50 lb=pvm lb", &c), 4);
	CHECK_EQ(c.speed, 0);
	CHECK_EQ(c.info_ms, 0);
	CHECK_STR(c.lb, "mosix");
	CHECK(strstr(reports[0], "speed=1..1000000"));
	CHECK(strstr(reports[2], "lb=mosix, lb=static or lb=off"));
}

UNIT_MAIN()
