/*
 * mig_msg.h — the wire formats of migration and the deputy (docs/
 * migration.md): encoders and checking decoders, pure C (no kernel
 * headers), compiled into the kernel and into the host fuzz test
 * (tests/unit/test_migmsg.c). Every field is little-endian, written byte
 * by byte; a decoder accepts a message only when its length is exact and
 * every field is in range, so mosix/mig.c never acts on a malformed one.
 *
 * Two shapes:
 *   struct mig_image   MIG_BEGIN: a process's user context and region map
 *   struct mig_ctl     every other message: (home node, home pid), up to
 *                      three signed and eight unsigned words as the type's
 *                      layout says (mig_ctl_layout), then a data tail
 *                      (UCOPY's bytes, a page train's pages)
 */
#ifndef MOSIX_MIG_MSG_H
#define MOSIX_MIG_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MIG_USER_TOP 0x0000800000000000ull
#define MIG_PAGE_SIZE 4096u
#define MIG_NREGS 22 /* struct trapframe: r15 … ss */
#define MIG_FPU_SIZE 512
#define MIG_NSIG 64
#define MIG_MAX_REGIONS 1024
#define MIG_PAGES_PER_MSG 256 /* a page train message: ≤ 1 MiB of pages */
#define MIG_UCOPY_MAX (1u << 20) /* bytes per UCOPY request */
#define MIG_NAME_LEN 16

/* Index of the trapframe words in mig_image.regs (arch/x86/arch.h). */
enum {
	MIG_R_RAX = 14,
	MIG_R_VECTOR = 15,
	MIG_R_RIP = 17,
	MIG_R_CS = 18,
	MIG_R_RFLAGS = 19,
	MIG_R_RSP = 20,
	MIG_R_SS = 21,
};

struct mig_region {
	uint64_t start, end; /* page-aligned, start < end ≤ MIG_USER_TOP */
	uint64_t offset; /* file regions: byte offset of start */
	uint32_t prot; /* VM_PROT_* bits (≤ 7) */
	uint32_t flags; /* 0 anonymous, 1 file */
	int32_t index; /* file regions: the home's backing index; else -1 */
};

struct mig_siginfo {
	int32_t code, pid, status;
	uint64_t addr;
};

struct mig_action {
	uint64_t handler, flags, restorer, mask;
};

struct mig_image {
	uint32_t home_node, home_pid;
	uint64_t npages; /* dirty pages the page train will bring */
	uint64_t regs[MIG_NREGS];
	uint8_t fpu[MIG_FPU_SIZE];
	uint64_t fs_base, sigmask, sigpending, saved_mask;
	uint64_t ss_sp, ss_size;
	int32_t ss_flags;
	uint8_t has_saved_mask, lock;
	uint64_t brk_start, brk, mmap_next;
	uint64_t cpu_ns; /* CPU time so far (for ps on the new node) */
	uint64_t clear_tid;
	uint64_t home_now; /* its clock (home's time base) when sent */
	/* Why it moves (0 manual, 1 load, 2 memory: enum balance_reason),
	 * its load, and the sender's local load and speed: an automatic
	 * move must be accepted by the target's policy (policy_accept). */
	uint32_t lb_reason, lb_load, lb_sender_load, lb_sender_speed;
	struct mig_siginfo siginfo[MIG_NSIG];
	struct mig_action action[MIG_NSIG];
	char name[MIG_NAME_LEN]; /* NUL-terminated after decoding */
	uint32_t nregions;
	uint32_t nbackings; /* file backings the home holds (index bound) */
	struct mig_region region[MIG_MAX_REGIONS];
};

/* Bytes mig_image_encode writes for im. */
size_t mig_image_size(const struct mig_image *im);
/* Write im into buf (mig_image_size bytes). */
void mig_image_encode(const struct mig_image *im, uint8_t *buf);
/* Decode and check: 0, or a negative errno (-EPROTO malformed, -EINVAL a
 * field out of range). */
int mig_image_decode(const uint8_t *buf, size_t len, struct mig_image *im);

/* The small messages. Which words each type uses: */
enum mig_ctl_type {
	MIG_C_COMMIT, /* u0 id, u1 pages sent; i0 abort */
	MIG_C_PAGES, /* u0 id, i0 count; tail: count × (u64 va, page) */
	MIG_C_SYSCALL, /* i0 nr, i1 flags (MIG_SC_*); u0..u5 args, u6 sigmask,
			  u7 sequence, u8 in address, u9 out address, u10
			  out length; tail: the in bytes (eager) */
	MIG_C_SYSRET, /* i0 flags (MIG_RET_*); u0 result, u1 sequence; tail:
			 the out window's first bytes (MIG_RET_OUT) */
	MIG_C_UCOPY, /* i0 op, i1 length; u0 address; tail: OUT's bytes */
	MIG_C_PAGE, /* i0 backing index; u0 offset */
	MIG_C_SIGNAL, /* i0 sig (0: a probe), i1 code, i2 pid; u0 status,
			 u1 addr */
	MIG_C_EXIT, /* i0 wait status; u0 cpu_ns */
	MIG_C_WHERE, /* i0 node */
	MIG_C_GOTO, /* i0 node (-1: home) */
	MIG_C_HEARS, /* i0 node; answered 0 (up) or -EHOSTDOWN */
	MIG_C_COUNT
};

enum mig_ucopy_op {
	MIG_UC_IN, /* read user memory: reply has length bytes */
	MIG_UC_OUT, /* write the tail there */
	MIG_UC_CHECK, /* is [addr, addr+length) readable (0) / writable (1)? */
	MIG_UC_CHECKW,
	MIG_UC_STR, /* a NUL-terminated string of at most length bytes */
};

#define MIG_RET_GONE 1 /* the deputy could not serve it: the process ends */
#define MIG_RET_OUT 2 /* the tail goes to the call's out window */
/* Eager buffers of a forwarded call (design §4): the remote sends the
 * bytes a call will read (write's data, a path) with it, and names a
 * window the reply fills (read's buffer, a struct stat), so most calls
 * cost one round trip and no MIG_UCOPY. */
#define MIG_SC_IN 1 /* the tail holds user bytes at u8 */
#define MIG_SC_OUT 2 /* [u9, u9 + u10) is writable: reply with its bytes */
#define MIG_EAGER_MAX (64u * 1024)

struct mig_ctl {
	uint32_t home_node, home_pid;
	int32_t i[3];
	uint64_t u[11];
	const uint8_t *tail; /* decoded: points into the buffer */
	size_t tail_len;
};

/* Bytes of the fixed part of a type's message (without the tail). */
size_t mig_ctl_size(enum mig_ctl_type t);
/* Write c's fixed part for type t into buf (mig_ctl_size bytes); the
 * caller appends the tail. */
void mig_ctl_encode(enum mig_ctl_type t, const struct mig_ctl *c, uint8_t *buf);
/* Decode and check a message of type t: 0, -EPROTO (length), -EINVAL (a
 * field out of range for the type). */
int mig_ctl_decode(enum mig_ctl_type t, const uint8_t *buf, size_t len,
		   struct mig_ctl *c);
/* MIG_C_PAGES: the i-th page's address and bytes (after a decode). */
const uint8_t *mig_pages_entry(const struct mig_ctl *c, unsigned i,
			       uint64_t *va);

#endif
