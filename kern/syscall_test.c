/*
 * syscall_test.c — in-kernel self-tests of processes and system calls:
 * run the programs in /bin built from user/ and check their exit status,
 * that the node survives a faulting one, and that every page a process
 * used is back with the allocator (free + kernel-heap bytes unchanged; the
 * heap keeps its own pages, so both are counted; the page cache of file
 * mappings keeps program text on purpose, so it is emptied first).
 */
#include "kern/kern.h"
#include "kern/proc.h"
#include "kern/syscall.h"
#include "vm/vm.h"

static uint64_t pages_available(void)
{
	file_pcache_drop();
	struct mem_stats st;
	mem_get_stats(&st);
	return st.free_bytes + st.heap_bytes;
}

SELFTEST(pcache_shares_program_text)
{
	file_pcache_drop();
	ST_ASSERT(file_pcache_pages() == 0);
	int err;
	struct proc *p = proc_exec_first("/bin/hello", NULL, &err);
	ST_ASSERT(p);
	ST_ASSERT(proc_wait(p) == (7 << 8));
	unsigned held = file_pcache_pages();
	ST_ASSERT(held > 0); /* its text pages stayed */
	p = proc_exec_first("/bin/hello", NULL, &err);
	ST_ASSERT(p);
	ST_ASSERT(proc_wait(p) == (7 << 8));
	ST_ASSERT(file_pcache_pages() == held); /* and were used again */
	file_pcache_drop();
	ST_ASSERT(file_pcache_pages() == 0);
	return 0;
}

static int run(const char *path)
{
	int err;
	struct proc *p = proc_exec_first(path, NULL, &err);
	if (!p)
		return err;
	return proc_wait(p);
}

SELFTEST(proc_hello_exit_status)
{
	uint64_t before = pages_available();
	int st = run("/bin/hello");
	ST_ASSERT(st == (7 << 8));
	ST_ASSERT(pages_available() == before);
	return 0;
}

SELFTEST(proc_fault_efault_and_kill)
{
	uint64_t before = pages_available();
	int st = run("/bin/tests/fault");
	ST_ASSERT(st == 11); /* killed by SIGSEGV after the EFAULT check */
	ST_ASSERT(pages_available() == before);
	/* The node goes on: another program runs normally. */
	ST_ASSERT(run("/bin/hello") == (7 << 8));
	return 0;
}

SELFTEST(proc_exec_missing_and_not_elf)
{
	ST_ASSERT(run("/bin/no-such-program") == -ENOENT);
	/* Not executable (mode 0644): -EACCES, as Linux says. */
	ST_ASSERT(run("/etc/motd") == -EACCES);
	return 0;
}

SELFTEST(syscall_table_classes)
{
	ST_ASSERT(!strcmp(syscall_class(1), "HOME"));
	ST_ASSERT(!strcmp(syscall_class(39), "LOCAL"));
	ST_ASSERT(syscall_class(9999) == NULL);
	ST_ASSERT(syscall_class(99) && !strcmp(syscall_class(99), "HOME"));
	ST_ASSERT(syscall_class(26) == NULL); /* msync: not in the table */
	return 0;
}
