/*
 * mig_msg.c — encoders and checking decoders of the migration messages
 * (mig_msg.h). Pure C: the kernel and the host fuzz test compile it.
 */
#include "mosix/mig_msg.h"

#include <string.h>

#include "kern/errno.h"

#define MAX_NODES 64 /* LINK_MAX_NODES */

/* A cursor over a buffer: writes and reads that never pass its end. */
struct cur {
	uint8_t *w;
	const uint8_t *r;
	size_t at, len;
	bool bad; /* a read ran past the end */
};

static void put(struct cur *c, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		c->w[c->at + i] = (uint8_t)(v >> (8 * i));
	c->at += n;
}

static uint64_t get(struct cur *c, unsigned n)
{
	if (c->bad || c->len - c->at < n) {
		c->bad = true;
		return 0;
	}
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)c->r[c->at + i] << (8 * i);
	c->at += n;
	return v;
}

static void put_bytes(struct cur *c, const void *p, size_t n)
{
	memcpy(c->w + c->at, p, n);
	c->at += n;
}

static void get_bytes(struct cur *c, void *p, size_t n)
{
	if (c->bad || c->len - c->at < n) {
		c->bad = true;
		return;
	}
	memcpy(p, c->r + c->at, n);
	c->at += n;
}

/* ------------------------------------------------------------ the image */

/* Fixed part: ids, npages, registers, FPU, the scalar words, siginfo and
 * actions, name, counts; then 40 bytes per region. */
#define SIGINFO_BYTES 20
#define ACTION_BYTES 32
#define REGION_BYTES 40
#define IMAGE_FIXED                                                     \
	(4 + 4 + 8 + 8 * MIG_NREGS + MIG_FPU_SIZE + 8 * 6 + 4 + 1 + 1 + \
	 8 * 6 + 4 * 4 + MIG_NSIG * (SIGINFO_BYTES + ACTION_BYTES) +    \
	 MIG_NAME_LEN + 4 + 4)

size_t mig_image_size(const struct mig_image *im)
{
	return IMAGE_FIXED + (size_t)im->nregions * REGION_BYTES;
}

/* One scalar field of the image, its wire width its own size: written
 * (enc) or read. Both directions call image_scalars, so the layouts
 * cannot drift. */
static void xfer(struct cur *c, void *field, unsigned size, bool enc)
{
	uint64_t v = 0;
	if (enc) {
		memcpy(&v, field, size); /* little-endian host */
		put(c, v, size);
	} else {
		v = get(c, size);
		memcpy(field, &v, size);
	}
}

static void image_scalars(struct cur *c, struct mig_image *im, bool enc)
{
#define X(f) xfer(c, &im->f, sizeof im->f, enc)
	X(home_node);
	X(home_pid);
	X(npages);
	X(fs_base);
	X(sigmask);
	X(sigpending);
	X(saved_mask);
	X(ss_sp);
	X(ss_size);
	X(ss_flags);
	X(has_saved_mask);
	X(lock);
	X(brk_start);
	X(brk);
	X(mmap_next);
	X(cpu_ns);
	X(clear_tid);
	X(home_now);
	X(lb_reason);
	X(lb_load);
	X(lb_sender_load);
	X(lb_sender_speed);
#undef X
}

void mig_image_encode(const struct mig_image *im, uint8_t *buf)
{
	struct cur c = {.w = buf, .len = mig_image_size(im)};
	image_scalars(&c, (struct mig_image *)im, true);
	for (int i = 0; i < MIG_NREGS; i++)
		put(&c, im->regs[i], 8);
	put_bytes(&c, im->fpu, MIG_FPU_SIZE);
	for (int i = 0; i < MIG_NSIG; i++) {
		const struct mig_siginfo *s = &im->siginfo[i];
		put(&c, (uint32_t)s->code, 4);
		put(&c, (uint32_t)s->pid, 4);
		put(&c, (uint32_t)s->status, 4);
		put(&c, s->addr, 8);
		const struct mig_action *a = &im->action[i];
		put(&c, a->handler, 8);
		put(&c, a->flags, 8);
		put(&c, a->restorer, 8);
		put(&c, a->mask, 8);
	}
	put_bytes(&c, im->name, MIG_NAME_LEN);
	put(&c, im->nregions, 4);
	put(&c, im->nbackings, 4);
	for (uint32_t i = 0; i < im->nregions; i++) {
		const struct mig_region *r = &im->region[i];
		put(&c, r->start, 8);
		put(&c, r->end, 8);
		put(&c, r->offset, 8);
		put(&c, r->prot, 4);
		put(&c, r->flags, 4);
		put(&c, (uint32_t)r->index, 4);
		put(&c, 0, 4);
	}
}

static bool aligned(uint64_t v)
{
	return v % MIG_PAGE_SIZE == 0;
}

/* The region map: sorted, disjoint, page-aligned, in user space; file
 * regions name a backing the home holds, anonymous ones none. */
static int check_regions(const struct mig_image *im)
{
	uint64_t prev_end = 0, pages = 0;
	for (uint32_t i = 0; i < im->nregions; i++) {
		const struct mig_region *r = &im->region[i];
		if (!aligned(r->start) || !aligned(r->end) ||
		    !aligned(r->offset) || r->start >= r->end ||
		    r->end > MIG_USER_TOP || r->start < prev_end ||
		    r->prot > 7 || r->flags > 1)
			return -EINVAL;
		if (r->flags == 1 ? r->index < 0 ||
					    (uint32_t)r->index >= im->nbackings
				  : r->index != -1)
			return -EINVAL;
		prev_end = r->end;
		pages += (r->end - r->start) / MIG_PAGE_SIZE;
	}
	return im->npages <= pages ? 0 : -EINVAL;
}

int mig_image_decode(const uint8_t *buf, size_t len, struct mig_image *im)
{
	if (len < IMAGE_FIXED)
		return -EPROTO;
	struct cur c = {.r = buf, .len = len};
	memset(im, 0, offsetof(struct mig_image, region));
	image_scalars(&c, im, false);
	for (int i = 0; i < MIG_NREGS; i++)
		im->regs[i] = get(&c, 8);
	get_bytes(&c, im->fpu, MIG_FPU_SIZE);
	for (int i = 0; i < MIG_NSIG; i++) {
		struct mig_siginfo *s = &im->siginfo[i];
		s->code = (int32_t)get(&c, 4);
		s->pid = (int32_t)get(&c, 4);
		s->status = (int32_t)get(&c, 4);
		s->addr = get(&c, 8);
		struct mig_action *a = &im->action[i];
		a->handler = get(&c, 8);
		a->flags = get(&c, 8);
		a->restorer = get(&c, 8);
		a->mask = get(&c, 8);
	}
	get_bytes(&c, im->name, MIG_NAME_LEN);
	im->name[MIG_NAME_LEN - 1] = 0;
	im->nregions = (uint32_t)get(&c, 4);
	im->nbackings = (uint32_t)get(&c, 4);
	if (c.bad || im->nregions > MIG_MAX_REGIONS ||
	    len != IMAGE_FIXED + (size_t)im->nregions * REGION_BYTES)
		return -EPROTO;
	for (uint32_t i = 0; i < im->nregions; i++) {
		struct mig_region *r = &im->region[i];
		r->start = get(&c, 8);
		r->end = get(&c, 8);
		r->offset = get(&c, 8);
		r->prot = (uint32_t)get(&c, 4);
		r->flags = (uint32_t)get(&c, 4);
		r->index = (int32_t)get(&c, 4);
		if (get(&c, 4) != 0)
			return -EINVAL;
	}
	if (c.bad)
		return -EPROTO;
	if (im->home_node >= MAX_NODES || im->home_pid == 0 ||
	    im->home_pid > 0x7fffffff || im->regs[MIG_R_RIP] >= MIG_USER_TOP ||
	    im->regs[MIG_R_RSP] > MIG_USER_TOP || im->brk < im->brk_start ||
	    im->brk > MIG_USER_TOP || im->mmap_next > MIG_USER_TOP ||
	    im->has_saved_mask > 1 || im->lock > 1 || im->lb_reason > 2)
		return -EINVAL;
	return check_regions(im);
}

/* ------------------------------------------------------------ small ones */

static const struct {
	uint8_t ni, nu; /* signed and unsigned words used */
} layout[MIG_C_COUNT] = {
	[MIG_C_COMMIT] = {1, 2},   [MIG_C_PAGES] = {1, 1},
	[MIG_C_SYSCALL] = {2, 11}, [MIG_C_SYSRET] = {1, 2},
	[MIG_C_UCOPY] = {2, 1},	   [MIG_C_PAGE] = {1, 1},
	[MIG_C_SIGNAL] = {3, 2},   [MIG_C_EXIT] = {1, 1},
	[MIG_C_WHERE] = {1, 0},	   [MIG_C_GOTO] = {1, 0},
	[MIG_C_HEARS] = {1, 0},
};

#define PAGE_ENTRY (8 + MIG_PAGE_SIZE)

size_t mig_ctl_size(enum mig_ctl_type t)
{
	return 8 + 4 * (size_t)layout[t].ni + 8 * (size_t)layout[t].nu;
}

void mig_ctl_encode(enum mig_ctl_type t, const struct mig_ctl *c, uint8_t *buf)
{
	struct cur w = {.w = buf, .len = mig_ctl_size(t)};
	put(&w, c->home_node, 4);
	put(&w, c->home_pid, 4);
	for (unsigned i = 0; i < layout[t].ni; i++)
		put(&w, (uint32_t)c->i[i], 4);
	for (unsigned i = 0; i < layout[t].nu; i++)
		put(&w, c->u[i], 8);
}

/* The type's own rules, on a message whose length is already right. */
static int check_ctl(enum mig_ctl_type t, const struct mig_ctl *c)
{
	const int32_t *i = c->i;
	const uint64_t *u = c->u;
	switch (t) {
	case MIG_C_COMMIT:
		return i[0] == 0 || i[0] == 1 ? 0 : -EINVAL;
	case MIG_C_PAGES:
		for (int32_t k = 0; k < i[0]; k++) {
			uint64_t va;
			mig_pages_entry(c, (unsigned)k, &va);
			if (!aligned(va) || va >= MIG_USER_TOP)
				return -EINVAL;
		}
		return 0;
	case MIG_C_SYSCALL:
		if (i[0] < 0 || i[0] >= 1024 || i[1] < 0 || i[1] > 3)
			return -EINVAL;
		if (!(i[1] & MIG_SC_IN)
			    ? c->tail_len != 0 || u[8] != 0
			    : !c->tail_len || u[8] >= MIG_USER_TOP ||
				      c->tail_len > MIG_USER_TOP - u[8])
			return -EINVAL;
		if (!(i[1] & MIG_SC_OUT) ? u[9] != 0 || u[10] != 0
					 : !u[10] || u[10] > MIG_EAGER_MAX ||
						   u[9] >= MIG_USER_TOP ||
						   u[10] > MIG_USER_TOP - u[9])
			return -EINVAL;
		return 0;
	case MIG_C_SYSRET:
		if (i[0] < 0 || i[0] > (MIG_RET_GONE | MIG_RET_OUT))
			return -EINVAL;
		return (i[0] & MIG_RET_OUT) || !c->tail_len ? 0 : -EINVAL;
	case MIG_C_UCOPY:
		if (i[0] < MIG_UC_IN || i[0] > MIG_UC_STR || i[1] < 0 ||
		    (uint32_t)i[1] > MIG_UCOPY_MAX || u[0] >= MIG_USER_TOP ||
		    (uint64_t)i[1] > MIG_USER_TOP - u[0])
			return -EINVAL;
		return 0;
	case MIG_C_PAGE:
		return i[0] >= 0 && aligned(u[0]) ? 0 : -EINVAL;
	case MIG_C_SIGNAL: /* 0: only "is it there?" */
		return i[0] >= 0 && i[0] <= MIG_NSIG ? 0 : -EINVAL;
	case MIG_C_EXIT:
		return i[0] >= 0 && i[0] <= 0xffff ? 0 : -EINVAL;
	case MIG_C_WHERE:
	case MIG_C_HEARS:
		return i[0] >= 0 && i[0] < MAX_NODES ? 0 : -EINVAL;
	case MIG_C_GOTO:
		return i[0] >= -1 && i[0] < MAX_NODES ? 0 : -EINVAL;
	default:
		return -EINVAL;
	}
}

int mig_ctl_decode(enum mig_ctl_type t, const uint8_t *buf, size_t len,
		   struct mig_ctl *c)
{
	memset(c, 0, sizeof *c);
	if ((unsigned)t >= MIG_C_COUNT)
		return -EINVAL;
	size_t fixed = mig_ctl_size(t);
	if (len < fixed)
		return -EPROTO;
	struct cur r = {.r = buf, .len = len};
	c->home_node = (uint32_t)get(&r, 4);
	c->home_pid = (uint32_t)get(&r, 4);
	for (unsigned i = 0; i < layout[t].ni; i++)
		c->i[i] = (int32_t)get(&r, 4);
	for (unsigned i = 0; i < layout[t].nu; i++)
		c->u[i] = get(&r, 8);
	c->tail = buf + fixed;
	c->tail_len = len - fixed;
	size_t want = 0; /* the tail the type carries */
	if (t == MIG_C_PAGES) {
		if (c->i[0] < 1 || c->i[0] > MIG_PAGES_PER_MSG)
			return -EPROTO;
		want = (size_t)c->i[0] * PAGE_ENTRY;
	} else if (t == MIG_C_UCOPY && c->i[0] == MIG_UC_OUT) {
		if (c->i[1] < 0 || (uint32_t)c->i[1] > MIG_UCOPY_MAX)
			return -EPROTO;
		want = (size_t)c->i[1];
	} else if (t == MIG_C_SYSCALL || t == MIG_C_SYSRET) {
		want = c->tail_len <= MIG_EAGER_MAX ? c->tail_len : 0;
	}
	if (c->tail_len != want)
		return -EPROTO;
	if (c->home_node >= MAX_NODES || c->home_pid > 0x7fffffff)
		return -EINVAL;
	return check_ctl(t, c);
}

const uint8_t *mig_pages_entry(const struct mig_ctl *c, unsigned i,
			       uint64_t *va)
{
	const uint8_t *e = c->tail + (size_t)i * PAGE_ENTRY;
	uint64_t v = 0;
	for (unsigned k = 0; k < 8; k++)
		v |= (uint64_t)e[k] << (8 * k);
	*va = v;
	return e + 8;
}
