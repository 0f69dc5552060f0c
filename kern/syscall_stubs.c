/*
 * syscall_stubs.c — a weak stub for every call of kern/syscall_table.h:
 * -ENOSYS with the rate-limited log line. The real handler, in whichever
 * kern/sys_*.c (or proc.c, signal.c) owns the call, overrides it at link
 * time; the Makefile lists the calls still served by a stub.
 */
#include "kern/proc.h"
#include "kern/syscall.h"

#define SYSCALL(nr, name, class)                                   \
	__attribute__((weak)) long sys_##name(const uint64_t a[6]) \
	{                                                          \
		return syscall_enosys(nr);                         \
	}
#include "kern/syscall_table.h"
#undef SYSCALL
