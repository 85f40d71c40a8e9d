/*
 * Pipes and FIFOs: a ring buffer (ring.h) between readers and writers.
 *
 * A mutex serialises the copies (they touch user memory, which may fault);
 * blocking waits are on the pollhead's wait queue, with the condition read
 * under the queue lock (see poll.h), so no wake-up is lost. Writes of at
 * most PIPE_BUF bytes are atomic; larger ones may interleave, as POSIX.
 */
#include "fs/pipe.h"
#include "fs/ring.h"
#include "sched/sync.h"
#include "sched/thread.h"
#include "mm/page_alloc.h"
#include "arch/x86_64/layout.h"
#include "lib/string.h"
#include "errno.h"

/* The signals work provides this; until then a broken pipe only gives
 * EPIPE. */
__attribute__((weak)) void signal_raise_self(int sig);
#define SIGPIPE 13

struct pipe {
	struct mutex mtx;
	struct pollhead ph;
	struct ring ring;
	unsigned order;          /* the buffer is 2^order pages */
	unsigned size;           /* capacity it will have */
	int readers, writers;
	unsigned r_opens, w_opens;   /* FIFO: opens so far (wakes blocked opens) */
	struct inode *fifo;      /* the FIFO's inode, or NULL for pipe() */
};

static unsigned order_for(unsigned size)
{
	unsigned o = 0;
	while (((uint64_t)PAGE_SIZE << o) < (uint64_t)size)
		o++;
	return o;
}

static struct pipe *pipe_new(void)
{
	struct pipe *p = fs_alloc(sizeof(*p));
	if (!p)
		return NULL;
	mutex_init(&p->mtx);
	pollhead_init(&p->ph);
	p->size = PIPE_DEFAULT_SIZE;
	return p;
}

static void pipe_free(struct pipe *p)
{
	if (p->ring.buf)
		page_free_virt(p->ring.buf, p->order);
	fs_free(p);
}

/* The buffer appears with the first write. Mutex held. */
static int ensure_buffer(struct pipe *p)
{
	if (p->ring.buf)
		return 0;
	unsigned o = order_for(p->size);
	void *b = page_alloc_virt(o);
	if (!b)
		return -ENOMEM;
	p->ring.buf = b;
	p->ring.cap = PAGE_SIZE << o;
	p->order = o;
	return 0;
}

static bool reader_end(struct file *f)
{
	return f->mode & FMODE_READ;
}

static bool writer_end(struct file *f)
{
	return f->mode & FMODE_WRITE;
}

static ssize_t pipe_read(struct file *f, struct uio *u, uint64_t *pos)
{
	(void)pos;
	struct pipe *p = f->priv;
	for (;;) {
		mutex_lock(&p->mtx);
		if (p->ring.count) {
			size_t done = 0;
			int err = 0;
			while (u->resid && p->ring.count) {
				size_t len;
				uint8_t *src = ring_read_span(&p->ring, &len);
				len = MIN(len, u->resid);
				err = uio_copy_out(u, src, len);
				if (err)
					break;
				ring_consume(&p->ring, len);
				done += len;
			}
			mutex_unlock(&p->mtx);
			if (done)
				pollhead_wake(&p->ph, EPOLLOUT | EPOLLWRNORM);
			return done ? (ssize_t)done : err;
		}
		bool eof = p->writers == 0;
		mutex_unlock(&p->mtx);
		if (eof)
			return 0;
		if (f->flags & O_NONBLOCK)
			return -EAGAIN;
		int r = wq_wait_event(&p->ph.wq, READ_ONCE(p->ring.count) || !READ_ONCE(p->writers),
				      TIME_FOREVER, WQ_INTERRUPTIBLE);
		if (r)
			return -EINTR;
	}
}

static ssize_t pipe_write(struct file *f, struct uio *u, uint64_t *pos)
{
	(void)pos;
	struct pipe *p = f->priv;
	size_t total = u->resid, done = 0;
	bool atomic = total <= PIPE_BUF;
	for (;;) {
		mutex_lock(&p->mtx);
		if (p->readers == 0) {
			mutex_unlock(&p->mtx);
			if (signal_raise_self)
				signal_raise_self(SIGPIPE);
			return done ? (ssize_t)done : -EPIPE;
		}
		int err = ensure_buffer(p);
		if (err) {
			mutex_unlock(&p->mtx);
			return done ? (ssize_t)done : err;
		}
		size_t room = ring_room(&p->ring);
		size_t need = atomic ? u->resid : 1;
		if (room >= need) {
			size_t before = done;
			while (u->resid && ring_room(&p->ring)) {
				size_t len;
				uint8_t *dst = ring_write_span(&p->ring, &len);
				len = MIN(len, u->resid);
				err = uio_copy_in(u, dst, len);
				if (err)
					break;
				ring_produce(&p->ring, len);
				done += len;
			}
			mutex_unlock(&p->mtx);
			if (done > before)
				pollhead_wake(&p->ph, EPOLLIN | EPOLLRDNORM);
			if (err)
				return done ? (ssize_t)done : err;
			if (!u->resid)
				return (ssize_t)done;
			continue;
		}
		mutex_unlock(&p->mtx);
		if (f->flags & O_NONBLOCK)
			return done ? (ssize_t)done : -EAGAIN;
		int r = wq_wait_event(&p->ph.wq,
				      ring_room(&p->ring) >= need || !READ_ONCE(p->readers),
				      TIME_FOREVER, WQ_INTERRUPTIBLE);
		if (r)
			return done ? (ssize_t)done : -EINTR;
	}
}

static uint32_t pipe_poll(struct file *f, struct poll_table *pt)
{
	struct pipe *p = f->priv;
	poll_wait(pt, &p->ph);
	uint32_t m = 0;
	uint64_t fl = wq_lock(&p->ph.wq);
	if (reader_end(f)) {
		if (p->ring.count)
			m |= EPOLLIN | EPOLLRDNORM;
		if (!p->writers && (!p->fifo || p->w_opens))
			m |= EPOLLHUP;
	}
	if (writer_end(f)) {
		size_t cap = p->ring.cap ? p->ring.cap : p->size;
		if (cap - p->ring.count >= MIN((size_t)PIPE_BUF, cap))
			m |= EPOLLOUT | EPOLLWRNORM;
		if (!p->readers)
			m |= EPOLLERR;
	}
	wq_unlock(&p->ph.wq, fl);
	return m;
}

/* Guards inode->pipe of FIFOs; the counts are under the pollhead's lock
 * (taken inside this one), which is what blocked openers check. */
static spinlock_t fifo_lock = SPINLOCK_INIT;

static void pipe_release(struct file *f)
{
	struct pipe *p = f->priv;
	uint64_t fl = spin_lock_irqsave(&fifo_lock);
	spin_lock(&p->ph.wq.lock);
	if (reader_end(f))
		p->readers--;
	if (writer_end(f))
		p->writers--;
	bool last = p->readers == 0 && p->writers == 0;
	if (last && p->fifo)
		p->fifo->pipe = NULL;
	spin_unlock(&p->ph.wq.lock);
	spin_unlock_irqrestore(&fifo_lock, fl);
	pollhead_wake(&p->ph, EPOLLHUP | EPOLLERR);
	if (last)
		pipe_free(p);
}

static const struct file_ops pipe_ops = {
	.read = pipe_read,
	.write = pipe_write,
	.poll = pipe_poll,
	.release = pipe_release,
};

int pipe_create(uint32_t flags, struct file **rd, struct file **wr)
{
	struct pipe *p = pipe_new();
	if (!p)
		return -ENOMEM;
	uint32_t keep = flags & (O_NONBLOCK | O_DIRECT);
	struct file *r = file_anon("pipe", S_IFIFO | 0600, O_RDONLY | keep, &pipe_ops, p);
	if (!r) {
		pipe_free(p);
		return -ENOMEM;
	}
	/* Both ends share the inode, as Linux (fstat shows one st_ino). */
	struct path path = r->path;
	vfs_iget(path.inode);
	struct file *w = file_alloc(&path, O_WRONLY | keep, &pipe_ops);
	if (!w) {
		vfs_iput(path.inode);
		r->ops = NULL;
		file_put(r);
		pipe_free(p);
		return -ENOMEM;
	}
	w->priv = p;
	w->mode = FMODE_WRITE | FMODE_STREAM;
	w->name = r->name ? fs_strdup(r->name) : NULL;
	p->readers = p->writers = 1;
	*rd = r;
	*wr = w;
	return 0;
}

int fifo_open(struct inode *i, struct file *f)
{
	struct pipe *fresh = NULL;
	f->mode = (f->mode & (FMODE_READ | FMODE_WRITE)) | FMODE_STREAM;
	bool rd = reader_end(f), wr = writer_end(f);
	uint64_t fl = spin_lock_irqsave(&fifo_lock);
	struct pipe *p = i->pipe;
	if (!p) {
		spin_unlock_irqrestore(&fifo_lock, fl);
		fresh = pipe_new();
		if (!fresh)
			return -ENOMEM;
		fresh->fifo = i;
		fl = spin_lock_irqsave(&fifo_lock);
		p = i->pipe;
		if (!p)
			p = i->pipe = fresh;
	}
	spin_lock(&p->ph.wq.lock);
	if (wr && !rd && !p->readers && (f->flags & O_NONBLOCK)) {
		bool unused = p->readers == 0 && p->writers == 0;
		if (unused)
			i->pipe = NULL;
		spin_unlock(&p->ph.wq.lock);
		spin_unlock_irqrestore(&fifo_lock, fl);
		if (unused)
			pipe_free(p);
		else if (fresh)
			pipe_free(fresh);
		return -ENXIO;
	}
	if (rd) {
		p->readers++;
		p->r_opens++;
	}
	if (wr) {
		p->writers++;
		p->w_opens++;
	}
	unsigned r0 = p->r_opens, w0 = p->w_opens;
	spin_unlock(&p->ph.wq.lock);
	spin_unlock_irqrestore(&fifo_lock, fl);
	if (fresh && fresh != p)
		pipe_free(fresh);
	f->ops = &pipe_ops;
	f->priv = p;
	pollhead_wake(&p->ph, 0);
	if (f->flags & O_NONBLOCK || (rd && wr))
		return 0;
	/* Block until the other end is opened (or already is). */
	int r = 0;
	if (rd)
		r = wq_wait_event(&p->ph.wq, p->writers || p->w_opens != w0,
				  TIME_FOREVER, WQ_INTERRUPTIBLE);
	else
		r = wq_wait_event(&p->ph.wq, p->readers || p->r_opens != r0,
				  TIME_FOREVER, WQ_INTERRUPTIBLE);
	if (r)
		return -EINTR;       /* file_put releases our end */
	return 0;
}

#define F_SETPIPE_SZ 1031
#define F_GETPIPE_SZ 1032

long pipe_fcntl(struct file *f, int cmd, unsigned long arg)
{
	if (f->ops != &pipe_ops)
		return -EBADF;
	struct pipe *p = f->priv;
	if (cmd == F_GETPIPE_SZ)
		return p->ring.buf ? (long)p->ring.cap : (long)p->size;
	if (arg > PIPE_MAX_SIZE)
		return -EPERM;
	unsigned o = order_for(arg ? (unsigned)arg : 1);
	unsigned size = PAGE_SIZE << o;
	mutex_lock(&p->mtx);
	long r = size;
	if (p->ring.count > size) {
		r = -EBUSY;
	} else if (!p->ring.buf) {
		p->size = size;
	} else if (size != p->ring.cap) {
		uint8_t *nb = page_alloc_virt(o);
		if (!nb) {
			r = -ENOMEM;
		} else {
			uint8_t *old = p->ring.buf;
			unsigned oo = p->order;
			ring_move(&p->ring, nb, size);
			p->order = o;
			p->size = size;
			page_free_virt(old, oo);
		}
	}
	mutex_unlock(&p->mtx);
	if (r > 0)
		pollhead_wake(&p->ph, 0);
	return r;
}

long pipe_nread(struct file *f)
{
	if (f->ops != &pipe_ops)
		return -ENOTTY;
	struct pipe *p = f->priv;
	return (long)READ_ONCE(p->ring.count);
}
