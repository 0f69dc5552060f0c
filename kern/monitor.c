/*
 * monitor.c — the kernel monitor on the serial console, until the shell
 * exists: a line editor (backspace, ^U erases the line, ^C abandons it) and
 * a few commands. `;` separates commands on one line and `$?` expands to the
 * last command's status, which is what tools/cluster run relies on.
 */
#include "arch/x86/arch.h"
#include "kern/kern.h"
#include "vm/vm.h"

#define LINE_MAX 256
#define ARGS_MAX 16

size_t klog_read(char *buf, size_t size);

static int last_status;

static void putstr(const char *s)
{
	printk("%s", s);
}

static size_t read_line(char *buf, size_t size)
{
	static int prev;
	size_t n = 0;
	for (;;) {
		int c = uart_getc_wait();
		if (c == '\n' && prev == '\r') { /* CR LF: one line end */
			prev = c;
			continue;
		}
		prev = c;
		if (c == '\r' || c == '\n') {
			putstr("\n");
			buf[n] = 0;
			return n;
		}
		if (c == 0x7f || c == 0x08) {
			if (n) {
				n--;
				putstr("\b \b");
			}
		} else if (c == 0x15) { /* ^U */
			while (n) {
				n--;
				putstr("\b \b");
			}
		} else if (c == 0x03) { /* ^C */
			putstr("^C\n");
			n = 0;
			buf[0] = 0;
			return 0;
		} else if (c >= 0x20 && c < 0x7f && n + 1 < size) {
			buf[n++] = (char)c;
			char s[2] = {(char)c, 0};
			putstr(s);
		}
	}
}

static int cmd_help(int argc, char **argv);

static int cmd_mem(int argc, char **argv)
{
	struct mem_stats st;
	mem_get_stats(&st);
	printk("total    %8lu KiB\n", (unsigned long)(st.total_bytes >> 10));
	printk("free     %8lu KiB\n", (unsigned long)(st.free_bytes >> 10));
	printk("kernel   %8lu KiB\n", (unsigned long)(st.kernel_bytes >> 10));
	printk("reserved %8lu KiB\n", (unsigned long)(st.reserved_bytes >> 10));
	printk("heap     %8lu KiB\n", (unsigned long)(st.heap_bytes >> 10));
	return 0;
}

static int cmd_uptime(int argc, char **argv)
{
	uint64_t ns = time_ns();
	printk("up %lu.%03lu s, %lu ticks at %u Hz, TSC %lu.%03lu MHz\n",
	       (unsigned long)(ns / 1000000000),
	       (unsigned long)(ns / 1000000 % 1000),
	       (unsigned long)time_ticks(), time_hz(),
	       (unsigned long)(tsc_hz() / 1000000),
	       (unsigned long)(tsc_hz() / 1000 % 1000));
	return 0;
}

static int cmd_node(int argc, char **argv)
{
	printk("node %d\n", kconfig.node);
	return 0;
}

static int cmd_echo(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "$?"))
			printk("%s%d", i > 1 ? " " : "", last_status);
		else
			printk("%s%s", i > 1 ? " " : "", argv[i]);
	}
	printk("\n");
	return 0;
}

static int cmd_log(int argc, char **argv)
{
	static char buf[16384];
	size_t n = klog_read(buf, sizeof buf);
	uart_write(buf, n);
	return 0;
}

static int cmd_reboot(int argc, char **argv)
{
	arch_reboot();
}

static int cmd_halt(int argc, char **argv)
{
	arch_halt();
}

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{"help", cmd_help, "list the commands"},
	{"mem", cmd_mem, "memory counters"},
	{"uptime", cmd_uptime, "time since boot and the clock rates"},
	{"node", cmd_node, "this node's number"},
	{"echo", cmd_echo, "print the arguments ($? = last status)"},
	{"log", cmd_log, "the kernel log ring buffer"},
	{"reboot", cmd_reboot, "restart this node"},
	{"halt", cmd_halt, "stop this node"},
};

static int cmd_help(int argc, char **argv)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		printk("  %-8s %s\n", commands[i].name, commands[i].help);
	return 0;
}

static int run_command(char *s)
{
	char *argv[ARGS_MAX];
	int argc = 0;
	while (*s) {
		while (*s == ' ' || *s == '\t')
			*s++ = 0;
		if (!*s)
			break;
		if (argc == ARGS_MAX) {
			printk("too many arguments\n");
			return 2;
		}
		argv[argc++] = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
	}
	if (!argc)
		return last_status;
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[0], commands[i].name))
			return commands[i].fn(argc, argv);
	printk("%s: unknown command (try 'help')\n", argv[0]);
	return 127;
}

void monitor_run(void)
{
	char line[LINE_MAX];
	for (;;) {
		printk("shoal:%d> ", kconfig.node);
		read_line(line, sizeof line);
		char *s = line;
		for (;;) {
			char *semi = strchr(s, ';');
			if (semi)
				*semi = 0;
			last_status = run_command(s);
			if (!semi)
				break;
			s = semi + 1;
		}
	}
}
