/*
 * pipe.c — pipes: a 64 KiB ring buffer between a read end and a write end.
 *
 * Interface (fs/vfs.h): pipe_create(&rf, &wf, flags). Both files share an
 * anonymous FIFO vnode (no mount) whose priv is the pipe; the pipe is
 * freed with the vnode, after both ends are closed (file_dup'ed ends
 * count once per file, as fork will share them).
 *
 * Semantics (POSIX): a read waits while the pipe is empty and a writer
 * exists, returns 0 (end of file) once none does; a write waits for room,
 * returns -EPIPE when no reader exists (what it wrote before that, if any;
 * the system-call layer turns -EPIPE into SIGPIPE); O_NONBLOCK turns each
 * wait into -EAGAIN. A write of at most PIPE_BUF bytes waits until it fits
 * whole and is never interleaved with another write. Waits are
 * interruptible: a signal ends them with -ERESTARTSYS if nothing has moved
 * yet, else with the count moved so far.
 *
 * poll: the read end is readable with data in the buffer (POLLHUP once no
 * writer is left), the write end writable with PIPE_BUF bytes of room
 * (POLLERR once no reader is left). Every change of count, readers or
 * writers calls poll_notify().
 *
 * Locking: `lock` (spinlock) guards head, count, readers, writers and the
 * wait queues' sleep/wake handshake. Data are copied without it: rlock lets
 * one reader at a time take bytes from [head, head + count), wlock one
 * writer at a time put bytes after them; each commits its move under
 * `lock`. So neither side touches the other's bytes, buffers given by the
 * caller are never touched with interrupts off, and holding wlock for a
 * whole write is what makes writes atomic.
 */
#include "fs/vfs_impl.h"
#include "kern/syscall.h"
#include "vm/vm.h"

#define PIPE_SIZE 65536
#define FIONREAD 0x541b

struct pipe {
	struct spinlock lock;
	struct waitq rq, wq; /* readers waiting for data, writers for room */
	struct sleeplock rlock, wlock;
	char *buf;
	size_t head, count;
	unsigned readers, writers;
};

static uint64_t next_pipe_ino = 1;

static void ring_copy_out(struct pipe *p, size_t at, char *dst, size_t n)
{
	size_t first = MIN(n, PIPE_SIZE - at);
	memcpy(dst, p->buf + at, first);
	memcpy(dst + first, p->buf, n - first);
}

static void ring_copy_in(struct pipe *p, size_t at, const char *src, size_t n)
{
	size_t first = MIN(n, PIPE_SIZE - at);
	memcpy(p->buf + at, src, first);
	memcpy(p->buf, src + first, n - first);
}

static int64_t pipe_read(struct file *f, void *buf, size_t len, uint64_t off)
{
	struct pipe *p = f->priv;
	if (len == 0)
		return 0;
	sleeplock_acquire(&p->rlock);
	spin_lock(&p->lock);
	while (p->count == 0 && p->writers > 0) {
		int err = (f->flags & O_NONBLOCK)
				  ? -EAGAIN
				  : waitq_sleep_intr(&p->rq, &p->lock, 0);
		if (err) {
			spin_unlock(&p->lock);
			sleeplock_release(&p->rlock);
			return err;
		}
	}
	if (p->count == 0) { /* end of file: no writer left */
		spin_unlock(&p->lock);
		sleeplock_release(&p->rlock);
		return 0;
	}
	size_t take = MIN(len, p->count), head = p->head;
	spin_unlock(&p->lock);
	ring_copy_out(p, head, buf, take);
	spin_lock(&p->lock);
	p->head = (head + take) % PIPE_SIZE;
	p->count -= take;
	spin_unlock(&p->lock);
	waitq_wakeup_all(&p->wq);
	poll_notify();
	sleeplock_release(&p->rlock);
	return (int64_t)take;
}

static int64_t pipe_write(struct file *f, const void *buf, size_t len,
			  uint64_t off)
{
	struct pipe *p = f->priv;
	const char *src = buf;
	if (len == 0)
		return 0;
	bool atomic = len <= PIPE_BUF;
	size_t done = 0;
	int err = 0;
	sleeplock_acquire(&p->wlock);
	while (done < len) {
		size_t want = len - done, room;
		spin_lock(&p->lock);
		for (;;) {
			room = PIPE_SIZE - p->count;
			if (p->readers == 0) {
				err = -EPIPE;
				break;
			}
			if (atomic ? room >= want : room > 0)
				break;
			if (f->flags & O_NONBLOCK) {
				err = -EAGAIN;
				break;
			}
			err = waitq_sleep_intr(&p->wq, &p->lock, 0);
			if (err)
				break;
		}
		size_t tail = (p->head + p->count) % PIPE_SIZE;
		spin_unlock(&p->lock);
		if (err)
			break;
		size_t n = MIN(want, room);
		ring_copy_in(p, tail, src + done, n);
		spin_lock(&p->lock);
		p->count += n;
		spin_unlock(&p->lock);
		waitq_wakeup_all(&p->rq);
		poll_notify();
		done += n;
	}
	sleeplock_release(&p->wlock);
	return done ? (int64_t)done : err;
}

static void pipe_release(struct file *f)
{
	struct pipe *p = f->priv;
	spin_lock(&p->lock);
	if ((f->flags & O_ACCMODE) == O_RDONLY)
		p->readers--;
	else
		p->writers--;
	spin_unlock(&p->lock);
	waitq_wakeup_all(&p->rq);
	waitq_wakeup_all(&p->wq);
	poll_notify();
}

/* FIONREAD: the bytes buffered, into the caller's int at arg. */
static int pipe_ioctl(struct file *f, unsigned long cmd, unsigned long arg)
{
	struct pipe *p = f->priv;
	if (cmd != FIONREAD)
		return -ENOTTY;
	spin_lock(&p->lock);
	int n = (int)p->count;
	spin_unlock(&p->lock);
	return user_out(arg, &n, sizeof n);
}

static unsigned pipe_poll(struct file *f)
{
	struct pipe *p = f->priv;
	unsigned mask = 0;
	spin_lock(&p->lock);
	if ((f->flags & O_ACCMODE) == O_RDONLY) {
		if (p->count)
			mask |= POLLIN | POLLRDNORM;
		if (p->writers == 0)
			mask |= POLLHUP;
	} else {
		if (PIPE_SIZE - p->count >= PIPE_BUF)
			mask |= POLLOUT | POLLWRNORM;
		if (p->readers == 0)
			mask |= POLLERR;
	}
	spin_unlock(&p->lock);
	return mask;
}

static const struct file_ops pipe_fops = {
	.read = pipe_read,
	.write = pipe_write,
	.ioctl = pipe_ioctl,
	.release = pipe_release,
	.poll = pipe_poll,
	.stream = true,
};

static int pipe_getattr(struct vnode *vn, struct vattr *va)
{
	va->ino = vn->ino;
	va->mode = S_IFIFO | 0600;
	va->nlink = 1;
	va->blksize = 4096;
	return 0;
}

static void pipe_inactive(struct vnode *vn)
{
	struct pipe *p = vn->priv;
	kfree(p->buf);
	kfree(p);
}

static const struct vnode_ops pipe_vops = {
	.getattr = pipe_getattr,
	.inactive = pipe_inactive,
};

int pipe_create(struct file **rf, struct file **wf, int flags)
{
	if (flags & ~(O_NONBLOCK | O_CLOEXEC))
		return -EINVAL;
	struct pipe *p = kzalloc(sizeof *p);
	char *buf = kmalloc(PIPE_SIZE);
	if (!p || !buf) {
		kfree(p);
		kfree(buf);
		return -ENOMEM;
	}
	spin_init(&p->lock, "pipe");
	waitq_init(&p->rq);
	waitq_init(&p->wq);
	sleeplock_init(&p->rlock, "pipe read");
	sleeplock_init(&p->wlock, "pipe write");
	p->buf = buf;
	p->readers = p->writers = 1;
	uint64_t ino = __atomic_fetch_add(&next_pipe_ino, 1, __ATOMIC_RELAXED);
	struct vnode *vn = vnode_alloc(NULL, ino, VFIFO, &pipe_vops, p);
	if (!vn) {
		kfree(buf);
		kfree(p);
		return -ENOMEM;
	}
	struct file *r = file_alloc(vn, O_RDONLY | flags);
	struct file *w = file_alloc(vn, O_WRONLY | flags);
	if (!r || !w) {
		kfree(r);
		kfree(w);
		vnode_put(vn);
		return -ENOMEM;
	}
	vnode_ref(vn); /* one reference per end */
	r->ops = w->ops = &pipe_fops;
	r->priv = w->priv = p;
	*rf = r;
	*wf = w;
	return 0;
}
