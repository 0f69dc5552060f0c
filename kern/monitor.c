/*
 * monitor.c — the kernel monitor on the serial console, until the shell
 * exists: it reads lines through the console terminal (fs/tty.c: erase,
 * ^U, ^W, echo; ^C abandons the line) and runs a few commands. `;`
 * separates commands on one line and `$?` expands to the last command's
 * status, which is what tools/cluster run relies on. After a program it
 * ran ends, the monitor takes the terminal back (tty_reclaim).
 *
 * File commands (ls, cat, write, append, mkdir, rm, rmdir, mv, ln, symlink,
 * stat, sync, mounts) go through fs/vfs.h with paths from the root; a
 * failure prints "cmd: path: reason" and returns 1. user/sh replaces them.
 */
#include "arch/x86/arch.h"
#include "fs/vfs.h"
#include "kern/kern.h"
#include "kern/proc.h"
#include "vm/vm.h"

#define LINE_MAX 256
#define ARGS_MAX 16

static int last_status;

static void putstr(const char *s)
{
	printk("%s", s);
}

/* A command line from the console terminal, which edits and echoes it
 * (fs/tty.c); ^C abandons it. */
static size_t read_line(char *buf, size_t size)
{
	int64_t n = tty_read_line(tty_console(), buf, size);
	if (n < 0) {
		putstr("\n");
		n = 0;
		buf[0] = 0;
	}
	return (size_t)n;
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
	vfs_sync();
	arch_reboot();
}

static int cmd_halt(int argc, char **argv)
{
	vfs_sync();
	arch_halt();
}

/* ------------------------------------------------------------ files */

static int fail(const char *cmd, const char *path, int err)
{
	printk("%s: %s: %s\n", cmd, path, errno_text(err));
	return 1;
}

static int usage(const char *text)
{
	printk("usage: %s\n", text);
	return 2;
}

/* Raw output (not the kernel log), "\n" as "\r\n". */
static void out(const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\n')
			continue;
		uart_write(s + start, i - start);
		uart_write("\r\n", 2);
		start = i + 1;
	}
	uart_write(s + start, n - start);
}

static void mode_string(uint32_t mode, char s[11])
{
	const char *types = "?pc?d?b?-?l?s???";
	s[0] = types[(mode >> 12) & 15];
	for (int i = 0; i < 9; i++)
		s[1 + i] = mode & (0400 >> i) ? "rwx"[i % 3] : '-';
	s[10] = 0;
}

static void ls_line(const char *path, const char *name)
{
	struct linux_stat st;
	int err = vfs_lstat(NULL, path, &st);
	if (err) {
		printk("?????????? %s (%s)\n", name, errno_text(err));
		return;
	}
	char m[11], target[256];
	mode_string(st.st_mode, m);
	int tl = S_ISLNK(st.st_mode)
			 ? vfs_readlink(NULL, path, target, sizeof target - 1)
			 : -1;
	if (S_ISCHR(st.st_mode))
		printk("%s %2lu %4u, %4u %s\n", m, (unsigned long)st.st_nlink,
		       vfs_major((uint32_t)st.st_rdev),
		       vfs_minor((uint32_t)st.st_rdev), name);
	else
		printk("%s %2lu %10ld %s%s%.*s\n", m,
		       (unsigned long)st.st_nlink, (long)st.st_size, name,
		       tl >= 0 ? " -> " : "", tl >= 0 ? tl : 0, target);
}

static int cmd_ls(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/";
	struct file *f;
	int err = vfs_open(NULL, path, O_RDONLY | O_DIRECTORY, 0, &f);
	if (err == -ENOTDIR) {
		ls_line(path, path);
		return 0;
	}
	if (err)
		return fail("ls", path, err);
	char *buf = kmalloc(2048), *full = kmalloc(PATH_MAX);
	int64_t n = buf && full ? 0 : -ENOMEM;
	while (n >= 0 && (n = file_getdents64(f, buf, 2048)) > 0) {
		for (int64_t off = 0; off < n;) {
			struct linux_dirent64 *d = (void *)(buf + off);
			off += d->d_reclen;
			if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
				continue;
			size_t pl = strlen(path);
			snprintf(full, PATH_MAX, "%s%s%s", path,
				 pl && path[pl - 1] == '/' ? "" : "/",
				 d->d_name);
			ls_line(full, d->d_name);
		}
	}
	kfree(buf);
	kfree(full);
	file_close(f);
	return n < 0 ? fail("ls", path, (int)n) : 0;
}

static int cmd_cat(int argc, char **argv)
{
	if (argc < 2)
		return usage("cat path...");
	char *buf = kmalloc(1024);
	if (!buf)
		return fail("cat", argv[1], -ENOMEM);
	int status = 0;
	for (int i = 1; i < argc; i++) {
		struct file *f;
		int64_t n = vfs_open(NULL, argv[i], O_RDONLY, 0, &f);
		if (n) {
			status = fail("cat", argv[i], (int)n);
			continue;
		}
		while ((n = file_read(f, buf, 1024)) > 0)
			out(buf, (size_t)n);
		file_close(f);
		if (n < 0)
			status = fail("cat", argv[i], (int)n);
	}
	kfree(buf);
	return status;
}

static int write_words(const char *cmd, int argc, char **argv, int flags)
{
	if (argc < 2)
		return usage("write|append path [text...]");
	char text[LINE_MAX + 1];
	size_t len = 0;
	for (int i = 2; i < argc; i++)
		len += (size_t)snprintf(text + len, sizeof text - len, "%s%s",
					i > 2 ? " " : "", argv[i]);
	text[len++] = '\n';
	struct file *f;
	int err = vfs_open(NULL, argv[1], O_WRONLY | O_CREAT | flags, 0644, &f);
	if (err)
		return fail(cmd, argv[1], err);
	int64_t n = file_write(f, text, len);
	file_close(f);
	if (n < 0)
		return fail(cmd, argv[1], (int)n);
	return (size_t)n == len ? 0 : fail(cmd, argv[1], -ENOSPC);
}

static int cmd_write(int argc, char **argv)
{
	return write_words("write", argc, argv, O_TRUNC);
}

static int cmd_append(int argc, char **argv)
{
	return write_words("append", argc, argv, O_APPEND);
}

static int cmd_mkdir(int argc, char **argv)
{
	int status = argc < 2 ? usage("mkdir path...") : 0;
	for (int i = 1; i < argc; i++) {
		int err = vfs_mkdir(NULL, argv[i], 0755);
		if (err)
			status = fail("mkdir", argv[i], err);
	}
	return status;
}

static int cmd_rm(int argc, char **argv)
{
	int status = argc < 2 ? usage("rm path...") : 0;
	for (int i = 1; i < argc; i++) {
		int err = vfs_unlink(NULL, argv[i]);
		if (err)
			status = fail("rm", argv[i], err);
	}
	return status;
}

static int cmd_rmdir(int argc, char **argv)
{
	int status = argc < 2 ? usage("rmdir path...") : 0;
	for (int i = 1; i < argc; i++) {
		int err = vfs_rmdir(NULL, argv[i]);
		if (err)
			status = fail("rmdir", argv[i], err);
	}
	return status;
}

static int cmd_mv(int argc, char **argv)
{
	if (argc != 3)
		return usage("mv old new");
	int err = vfs_rename(NULL, argv[1], NULL, argv[2]);
	return err ? fail("mv", argv[1], err) : 0;
}

static int cmd_ln(int argc, char **argv)
{
	bool sym = argc == 4 && !strcmp(argv[1], "-s");
	if (argc != 3 && !sym)
		return usage("ln [-s] target path");
	const char *target = argv[argc - 2], *path = argv[argc - 1];
	int err = sym ? vfs_symlink(target, NULL, path)
		      : vfs_link(NULL, target, NULL, path);
	return err ? fail("ln", path, err) : 0;
}

static int cmd_symlink(int argc, char **argv)
{
	if (argc != 3)
		return usage("symlink target path");
	int err = vfs_symlink(argv[1], NULL, argv[2]);
	return err ? fail("symlink", argv[2], err) : 0;
}

static int cmd_stat(int argc, char **argv)
{
	if (argc != 2)
		return usage("stat path");
	struct linux_stat st;
	int err = vfs_lstat(NULL, argv[1], &st);
	if (err)
		return fail("stat", argv[1], err);
	char m[11];
	mode_string(st.st_mode, m);
	printk("  File: %s\n  Size: %ld  Blocks: %ld  IO Block: %ld\n"
	       "Device: %u:%u  Inode: %lu  Links: %lu  Device type: %u:%u\n"
	       "Access: (%04o/%s)  Uid: %u  Gid: %u\n"
	       "Access: %ld  Modify: %ld  Change: %ld\n",
	       argv[1], (long)st.st_size, (long)st.st_blocks,
	       (long)st.st_blksize, vfs_major((uint32_t)st.st_dev),
	       vfs_minor((uint32_t)st.st_dev), (unsigned long)st.st_ino,
	       (unsigned long)st.st_nlink, vfs_major((uint32_t)st.st_rdev),
	       vfs_minor((uint32_t)st.st_rdev), st.st_mode & 07777, m,
	       st.st_uid, st.st_gid, (long)st.st_atim.tv_sec,
	       (long)st.st_mtim.tv_sec, (long)st.st_ctim.tv_sec);
	return 0;
}

static int cmd_sync(int argc, char **argv)
{
	int err = vfs_sync();
	return err ? fail("sync", "/", err) : 0;
}

static int cmd_mounts(int argc, char **argv)
{
	char *buf = kmalloc(4096);
	if (!buf)
		return fail("mounts", "/", -ENOMEM);
	int n = vfs_format_mounts(buf, 4096);
	if (n >= 0)
		out(buf, MIN((size_t)n, (size_t)4095));
	kfree(buf);
	return n < 0 ? fail("mounts", "/", n) : 0;
}

/* Run a user program, wait for it; its exit status (128 + signal). */
static int cmd_exec(int argc, char **argv)
{
	if (argc < 2) {
		printk("usage: exec path [args]\n");
		return 2;
	}
	const char *args[ARGS_MAX + 1];
	for (int i = 1; i < argc; i++)
		args[i - 1] = argv[i];
	args[argc - 1] = NULL;
	int err;
	struct proc *p = proc_exec_first(argv[1], args, &err);
	if (!p) {
		printk("exec: %s: %s\n", argv[1], errno_text(err));
		return 126;
	}
	tty_set_session(tty_console(), p->sys.sid, p->sys.pgid);
	int st = proc_wait(p);
	tty_reclaim(tty_console());
	return st & 0x7f ? 128 + (st & 0x7f) : (st >> 8) & 0xff;
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
	{"ls", cmd_ls, "list a directory: ls [path]"},
	{"cat", cmd_cat, "print files: cat path..."},
	{"write", cmd_write, "write path text...: replace a file's text"},
	{"append", cmd_append, "append path text...: add a line"},
	{"mkdir", cmd_mkdir, "make directories"},
	{"rm", cmd_rm, "remove files"},
	{"rmdir", cmd_rmdir, "remove empty directories"},
	{"mv", cmd_mv, "rename: mv old new"},
	{"ln", cmd_ln, "link: ln [-s] target path"},
	{"symlink", cmd_symlink, "symlink target path"},
	{"stat", cmd_stat, "a file's attributes"},
	{"sync", cmd_sync, "write dirty data to the disks"},
	{"mounts", cmd_mounts, "the mounted file systems"},
	{"fsbench", fs_bench, "file-system benchmark: fsbench DIR [MB]"},
	{"exec", cmd_exec, "run a program and wait: exec path [args]"},
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
