/*
 * hello — the first Shoal user program: printf through musl (write or
 * writev on fd 1), malloc (brk, then mmap for a large block), and exit 7.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	char *small = malloc(100);
	char *big = malloc(1 << 20);
	if (!small || !big)
		return 1;
	memset(big, 0x5a, 1 << 20);
	strcpy(small, "ring 3");
	printf("hello from %s (pid %d)\n", small, (int)getpid());
	free(big);
	free(small);
	return 7;
}
