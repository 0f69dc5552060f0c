/*
 * signal.c — POSIX signals (issue 4). Placeholder until delivery lands:
 * posting is accepted and ignored.
 */
#include "kern/kern.h"
#include "kern/proc.h"

int proc_signal(struct proc *p, int sig)
{
	return sig >= 1 && sig <= 64 ? 0 : -EINVAL;
}

int proc_signal_pgrp(int pgid, int sig)
{
	return sig >= 1 && sig <= 64 ? 0 : -EINVAL;
}
