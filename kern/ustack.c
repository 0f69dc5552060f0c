/*
 * ustack.c — the initial user stack of a new program, as the x86-64 psABI
 * (§3.4.1) and Linux lay it out. From the top of the stack down:
 *
 *   top-8 .. top       8 zero bytes (an end marker)
 *                      the AT_EXECFN string
 *   env_start..end     the envp strings, NUL-terminated, in order
 *   arg_start..end     the argv strings
 *                      "x86_64" (AT_PLATFORM)
 *                      16 random bytes (AT_RANDOM), 16-byte aligned
 *                      padding
 *   rsp ->             argc, argv[0..argc-1], NULL, envp[0..], NULL,
 *                      auxv (key, value) pairs ending with AT_NULL
 *
 * rsp is 16-byte aligned, as the psABI requires at process entry. The
 * buffer stands for the top `size` bytes below `top`, so the builder needs
 * no page tables; the caller copies or maps it. Everything is sized first:
 * a refused request writes nothing.
 */
#include "kern/elf.h"
#include "kern/kern.h"

static const char ustack_platform[] = "x86_64";

/* Count a NULL-terminated string vector, charging each string and pointer. */
static int count_strings(const char *const *v, size_t *count, size_t *bytes,
			 size_t *charged, size_t limit)
{
	*count = 0;
	*bytes = 0;
	for (; v && v[*count]; (*count)++) {
		size_t len = strlen(v[*count]) + 1;
		if (len > limit || len + 8 > limit - *charged)
			return -E2BIG;
		*charged += len + 8;
		*bytes += len;
	}
	return 0;
}

struct ustack_writer {
	uint8_t *buf;
	uint64_t base; /* user address of buf[0] */
};

static void put(struct ustack_writer *w, uint64_t uaddr, const void *src,
		size_t len)
{
	memcpy(w->buf + (uaddr - w->base), src, len);
}

static void put64(struct ustack_writer *w, uint64_t uaddr, uint64_t v)
{
	put(w, uaddr, &v, sizeof v);
}

/* Copy strings downward-allocated at `at` upward; returns their pointers. */
static uint64_t put_strings(struct ustack_writer *w, uint64_t at,
			    const char *const *v, size_t n, uint64_t vec)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(v[i]) + 1;
		put(w, at, v[i], len);
		put64(w, vec + 8 * i, at);
		at += len;
	}
	put64(w, vec + 8 * n, 0);
	return at;
}

int ustack_build(struct ustack_args *a)
{
	if (!a || !a->buf || !a->random || a->top % 16 || a->size > a->top)
		return -EINVAL;
	size_t limit = a->limit ? a->limit : USTACK_ARG_MAX;

	/* Size everything first. */
	size_t argc, argbytes, envc, envbytes, charged = 0;
	int err = count_strings(a->argv, &argc, &argbytes, &charged, limit);
	if (!err)
		err = count_strings(a->envp, &envc, &envbytes, &charged, limit);
	if (err)
		return err;
	size_t fnlen = a->execfn ? strlen(a->execfn) + 1 : 0;
	if (fnlen > a->size)
		return -E2BIG;

	uint64_t execfn = a->top - 8 - fnlen;
	uint64_t env = execfn - envbytes;
	uint64_t arg = env - argbytes;
	uint64_t platform = arg - sizeof ustack_platform;
	uint64_t random = ALIGN_DOWN(platform - 16, 16);

	uint64_t aux[2 * USTACK_NAUXV];
	unsigned n = 0;
#define AUX(k, v) (aux[n++] = (k), aux[n++] = (v))
	AUX(AT_PHDR, a->phdr);
	AUX(AT_PHENT, a->phent);
	AUX(AT_PHNUM, a->phnum);
	AUX(AT_PAGESZ, ELF_PAGE_SIZE);
	AUX(AT_BASE, 0); /* no interpreter */
	AUX(AT_FLAGS, 0);
	AUX(AT_ENTRY, a->entry);
	AUX(AT_UID, a->uid);
	AUX(AT_EUID, a->euid);
	AUX(AT_GID, a->gid);
	AUX(AT_EGID, a->egid);
	AUX(AT_PLATFORM, platform);
	AUX(AT_HWCAP, a->hwcap);
	AUX(AT_CLKTCK, 100); /* the unit of times() and /proc stat */
	AUX(AT_SECURE, 0);
	AUX(AT_RANDOM, random);
	AUX(AT_HWCAP2, 0);
	if (a->execfn)
		AUX(AT_EXECFN, execfn);
	AUX(AT_NULL, 0);
#undef AUX

	/*
	 * Strings, pointers and aux words are bounded by the limit and the
	 * sizes above, so this sum cannot wrap before the comparison.
	 */
	uint64_t words = 1 + argc + 1 + envc + 1 + n;
	uint64_t need = 8 + fnlen + envbytes + argbytes +
			sizeof ustack_platform + 16 + 15 + 8 * words + 15;
	if (need > a->size)
		return -E2BIG;
	uint64_t rsp = ALIGN_DOWN(random - 8 * words, 16);

	/* Write. */
	struct ustack_writer w = {a->buf, a->top - a->size};
	uint64_t argv = rsp + 8, envp = argv + 8 * (argc + 1);
	uint64_t auxv = envp + 8 * (envc + 1);
	put64(&w, a->top - 8, 0);
	if (a->execfn)
		put(&w, execfn, a->execfn, fnlen);
	put_strings(&w, env, a->envp, envc, envp);
	put_strings(&w, arg, a->argv, argc, argv);
	put(&w, platform, ustack_platform, sizeof ustack_platform);
	put(&w, random, a->random, 16);
	memset(w.buf + (random + 16 - w.base), 0, platform - (random + 16));
	memset(w.buf + (auxv + 8 * n - w.base), 0, random - (auxv + 8 * n));
	put64(&w, rsp, argc);
	put(&w, auxv, aux, 8 * n);

	a->rsp = rsp;
	a->arg_start = arg;
	a->arg_end = arg + argbytes;
	a->env_start = env;
	a->env_end = env + envbytes;
	return 0;
}
