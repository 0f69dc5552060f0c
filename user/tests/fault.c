/*
 * fault — misbehaves on purpose (kern/syscall_test.c): a bad pointer
 * given to write must come back as -EFAULT, then a store to an unmapped
 * address must kill the process with SIGSEGV while the node keeps running.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	ssize_t n = write(1, (const void *)0x10, 5);
	if (n != -1 || errno != EFAULT) {
		printf("fault: write with a bad pointer gave %zd\n", n);
		return 1;
	}
	printf("fault: write with a bad pointer gave EFAULT\n");
	fflush(stdout);
	*(volatile int *)0xdead0000 = 1;
	return 2; /* not reached */
}
