/*
 * cmdline.c — the boot command line, parsed into struct kconfig.
 *
 * Words are separated by spaces or tabs: `node=N` (0..255), `selftest` or
 * `selftest=PATTERN`, `loglevel=0..7`, `hz=10..1000`, `bcache=KB`,
 * `init=PATH` (the first process; `init=monitor` keeps the kernel monitor
 * on the console), `hello_ms=50..60000` (the Linker's hello period),
 * `clusterkey=PHRASE` (1..63 printable characters: every Linker frame
 * carries a MAC keyed from it; docs/linker.md), `speed=1..1000000` (this
 * node's CPU speed, 1000 = the reference; measured at boot otherwise),
 * `info_ms=100..60000` (load dissemination period), `lb=mosix|static|off`
 * (the balancing policy; docs/loadbalancing.md). A leading
 * path (some loaders pass the kernel's file name first) is skipped. An
 * unknown word, a value out of range or a malformed number is reported
 * through `report` and ignored, keeping the default. Pure C (host-tested).
 */
#include "kern/kern.h"

#define CMDLINE_WORD_MAX 128

void kconfig_defaults(struct kconfig *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->node = -1;
	cfg->loglevel = LOG_INFO;
	cfg->hz = 100;
	strlcpy(cfg->init, KCONFIG_INIT_DEFAULT, sizeof cfg->init);
	strlcpy(cfg->lb, "mosix", sizeof cfg->lb); /* docs/loadbalancing.md */
}

/* Decimal without sign; false on empty, junk or overflow past max. */
static bool parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > max)
			return false;
	}
	*out = v;
	return true;
}

struct option {
	const char *key;
	uint64_t min, max;
	void (*set)(struct kconfig *cfg, uint64_t v);
};

static void set_node(struct kconfig *c, uint64_t v)
{
	c->node = (int)v;
}
static void set_loglevel(struct kconfig *c, uint64_t v)
{
	c->loglevel = (int)v;
}
static void set_hz(struct kconfig *c, uint64_t v)
{
	c->hz = (unsigned)v;
}
static void set_bcache(struct kconfig *c, uint64_t v)
{
	c->bcache_kb = v;
}
static void set_hello(struct kconfig *c, uint64_t v)
{
	c->hello_ms = (unsigned)v;
}
static void set_speed(struct kconfig *c, uint64_t v)
{
	c->speed = (unsigned)v;
}
static void set_info(struct kconfig *c, uint64_t v)
{
	c->info_ms = (unsigned)v;
}

static const struct option options[] = {
	{"node", 0, 255, set_node},
	{"loglevel", 0, 7, set_loglevel},
	{"hz", 10, 1000, set_hz},
	{"bcache", 64, 1u << 30, set_bcache},
	{"hello_ms", 50, 60000, set_hello},
	{"speed", 1, 1000000, set_speed},
	{"info_ms", 100, 60000, set_info},
};

static int parse_word(const char *w, struct kconfig *cfg,
		      cmdline_report_fn report)
{
	char msg[CMDLINE_WORD_MAX + 96];
	const char *eq = strchr(w, '=');
	size_t klen = eq ? (size_t)(eq - w) : strlen(w);

	if (klen == 8 && !strncmp(w, "selftest", 8)) {
		cfg->selftest = true;
		if (eq && strlen(eq + 1) >= sizeof cfg->selftest_pattern) {
			snprintf(msg, sizeof msg,
				 "selftest pattern '%s' too long, running all",
				 eq + 1);
			report(msg);
			return 1;
		}
		strlcpy(cfg->selftest_pattern, eq ? eq + 1 : "",
			sizeof cfg->selftest_pattern);
		return 0;
	}
	if (klen == 4 && !strncmp(w, "init", 4)) {
		if (!eq || !eq[1] || strlen(eq + 1) >= sizeof cfg->init ||
		    (eq[1] != '/' && strcmp(eq + 1, "monitor"))) {
			snprintf(msg, sizeof msg,
				 "bad boot option '%s' (want init=/PATH or "
				 "init=monitor), ignored",
				 w);
			report(msg);
			return 1;
		}
		strlcpy(cfg->init, eq + 1, sizeof cfg->init);
		return 0;
	}
	if (klen == 2 && !strncmp(w, "lb", 2)) {
		if (!eq ||
		    (strcmp(eq + 1, "mosix") && strcmp(eq + 1, "static") &&
		     strcmp(eq + 1, "off"))) {
			snprintf(msg, sizeof msg,
				 "bad boot option '%s' (want lb=mosix, "
				 "lb=static or lb=off), ignored",
				 w);
			report(msg);
			return 1;
		}
		strlcpy(cfg->lb, eq + 1, sizeof cfg->lb);
		return 0;
	}
	if (klen == 10 && !strncmp(w, "clusterkey", 10)) {
		if (!eq || !eq[1] || strlen(eq + 1) >= sizeof cfg->clusterkey) {
			snprintf(
				msg, sizeof msg,
				"bad boot option 'clusterkey=...' (want 1..%zu "
				"characters), ignored: the Linker runs unkeyed",
				sizeof cfg->clusterkey - 1);
			report(msg);
			return 1;
		}
		strlcpy(cfg->clusterkey, eq + 1, sizeof cfg->clusterkey);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		const struct option *o = &options[i];
		if (strlen(o->key) != klen || strncmp(w, o->key, klen))
			continue;
		uint64_t v;
		if (!eq || !parse_uint(eq + 1, o->max, &v) || v < o->min) {
			snprintf(
				msg, sizeof msg,
				"bad value in boot option '%s' (want %s=%lu..%lu), ignored",
				w, o->key, (unsigned long)o->min,
				(unsigned long)o->max);
			report(msg);
			return 1;
		}
		o->set(cfg, v);
		return 0;
	}
	snprintf(msg, sizeof msg, "unknown boot option '%s' ignored", w);
	report(msg);
	return 1;
}

int kconfig_parse(const char *s, struct kconfig *cfg, cmdline_report_fn report)
{
	int problems = 0;
	bool first = true;
	while (*s) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		char w[CMDLINE_WORD_MAX];
		size_t n = 0;
		bool truncated = false;
		for (; *s && *s != ' ' && *s != '\t'; s++) {
			if (n + 1 < sizeof w)
				w[n++] = *s;
			else
				truncated = true;
		}
		w[n] = 0;
		if (first && w[0] == '/') {
			first = false;
			continue;
		}
		first = false;
		if (truncated) {
			char msg[CMDLINE_WORD_MAX + 64];
			snprintf(msg, sizeof msg,
				 "boot option '%s...' too long, ignored", w);
			report(msg);
			problems++;
			continue;
		}
		problems += parse_word(w, cfg, report);
	}
	return problems;
}
