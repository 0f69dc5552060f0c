/*
 * sys_thread.c — lwIP's threads are Shoal kernel threads.
 *
 * sys_thread_new is called for the tcpip thread (and by tests). Shoal's
 * threads have fixed 16 KiB stacks and one priority, so stacksize and prio
 * are ignored. lwIP cannot handle a failure here: no memory panics.
 */
#include "kern/kern.h"
#include "lwip/sys.h"

sys_thread_t sys_thread_new(const char *name, lwip_thread_fn thread, void *arg,
			    int stacksize, int prio)
{
	struct thread *t = thread_create(name, thread, arg);
	if (!t)
		panic("sys_thread_new: no memory for thread '%s'", name);
	return t;
}
