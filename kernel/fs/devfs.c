/*
 * /dev: a tmpfs holding device nodes, and the character devices behind
 * them (chosen by major:minor when a node is opened, so a node made with
 * mknod elsewhere works too): null, zero, full, random, urandom, the
 * console (tty, console), and the program's three standard streams.
 *
 * The console is the framed serial line (drivers/console.h). Reads come
 * from console_read_stdin, which has no wake-up of its own: while someone
 * waits for input, a 10 ms timer looks for it and wakes the pollhead.
 */
#include "fs/vfs.h"
#include "fs/tmpfs.h"
#include "fs/pipe.h"
#include "drivers/console.h"
#include "fs/deps.h"
#include "sched/thread.h"
#include "sched/timer.h"
#include "arch/x86_64/time.h"
#include "fs/deps.h"
#include "lib/string.h"
#include "lib/klog.h"
#include "errno.h"

/* --- null, zero, full, random --------------------------------------------------- */

static ssize_t null_read(struct file *f, struct uio *u, uint64_t *pos)
{
	(void)f; (void)u; (void)pos;
	return 0;
}

static ssize_t sink_write(struct file *f, struct uio *u, uint64_t *pos)
{
	(void)f;
	size_t n = u->resid;
	*pos += n;
	u->resid = 0;
	return (ssize_t)n;
}

static ssize_t zero_read(struct file *f, struct uio *u, uint64_t *pos)
{
	(void)f;
	size_t n = u->resid;
	if (uio_zero(u, n) < 0)
		return -EFAULT;
	*pos += n;
	return (ssize_t)n;
}

static ssize_t full_write(struct file *f, struct uio *u, uint64_t *pos)
{
	(void)f; (void)u; (void)pos;
	return -ENOSPC;
}

static ssize_t random_read(struct file *f, struct uio *u, uint64_t *pos)
{
	(void)f; (void)pos;
	uint8_t buf[256];
	size_t done = 0;
	while (u->resid) {
		size_t n = MIN(u->resid, sizeof(buf));
		random_bytes(buf, n);
		if (uio_copy_out(u, buf, n) < 0)
			return done ? (ssize_t)done : -EFAULT;
		done += n;
	}
	return (ssize_t)done;
}

static int64_t zero_llseek(struct file *f, int64_t off, int whence)
{
	(void)off; (void)whence;
	f->pos = 0;
	return 0;
}

static uint32_t always_ready(struct file *f, struct poll_table *pt)
{
	(void)f; (void)pt;
	return EPOLLIN | EPOLLOUT | EPOLLRDNORM | EPOLLWRNORM;
}

static const struct file_ops null_ops = { .read = null_read, .write = sink_write,
	.llseek = zero_llseek, .poll = always_ready };
static const struct file_ops zero_ops = { .read = zero_read, .write = sink_write,
	.llseek = zero_llseek, .poll = always_ready };
static const struct file_ops full_ops = { .read = zero_read, .write = full_write,
	.llseek = zero_llseek, .poll = always_ready };
static const struct file_ops random_ops = { .read = random_read, .write = sink_write,
	.llseek = zero_llseek, .poll = always_ready };

/* --- the console ------------------------------------------------------------- */

static struct {
	spinlock_t lock;
	uint8_t buf[512];
	size_t head, count;
	bool eof;
	struct pollhead ph;
	struct ktimer timer;
	bool timer_on;
} con;

/* Pulls what the console has into con.buf. true when data or EOF is there. */
static bool con_fill(void)
{
	uint64_t f = spin_lock_irqsave(&con.lock);
	if (!con.count && !con.eof) {
		ssize_t n = console_read_stdin(con.buf, sizeof(con.buf));
		con.head = 0;
		if (n > 0)
			con.count = (size_t)n;
		else if (n == 0)
			con.eof = true;
	}
	bool ready = con.count || con.eof;
	spin_unlock_irqrestore(&con.lock, f);
	return ready;
}

#define CON_POLL_NS 10000000ull

static void con_timer(struct ktimer *t)
{
	(void)t;
	if (con_fill()) {
		con.timer_on = false;
		pollhead_wake(&con.ph, EPOLLIN | EPOLLRDNORM);
		return;
	}
	uint64_t f = wq_lock(&con.ph.wq);
	bool waiting = !list_empty(&con.ph.entries) || !list_empty(&con.ph.wq.waiters);
	wq_unlock(&con.ph.wq, f);
	if (waiting)
		ktimer_arm(&con.timer, clock_monotonic_ns() + CON_POLL_NS);
	else
		con.timer_on = false;
}

/* Someone is about to wait for input: make sure the timer looks for it. */
static void con_watch(void)
{
	if (!__atomic_exchange_n(&con.timer_on, true, __ATOMIC_ACQ_REL))
		ktimer_arm(&con.timer, clock_monotonic_ns() + CON_POLL_NS);
}

static ssize_t con_read(struct file *f, struct uio *u, uint64_t *pos)
{
	(void)pos;
	for (;;) {
		con_fill();
		uint64_t fl = spin_lock_irqsave(&con.lock);
		if (con.count) {
			size_t n = MIN(con.count, u->resid);
			uint8_t tmp[512];
			memcpy(tmp, con.buf + con.head, n);
			con.head += n;
			con.count -= n;
			spin_unlock_irqrestore(&con.lock, fl);
			if (uio_copy_out(u, tmp, n) < 0)
				return -EFAULT;
			return (ssize_t)n;
		}
		if (con.eof) {
			/* One end of file per EOF frame, like a terminal's ^D. */
			con.eof = false;
			spin_unlock_irqrestore(&con.lock, fl);
			return 0;
		}
		spin_unlock_irqrestore(&con.lock, fl);
		if (f->flags & O_NONBLOCK)
			return -EAGAIN;
		con_watch();
		int r = wq_wait_event(&con.ph.wq, READ_ONCE(con.count) || READ_ONCE(con.eof),
				      clock_monotonic_ns() + CON_POLL_NS, WQ_INTERRUPTIBLE);
		if (r == -EINTR)
			return -EINTR;
	}
}

static ssize_t con_write_chan(struct uio *u, enum console_chan chan)
{
	uint8_t buf[256];
	size_t done = 0;
	while (u->resid) {
		size_t n = MIN(u->resid, sizeof(buf));
		if (uio_copy_in(u, buf, n) < 0)
			return done ? (ssize_t)done : -EFAULT;
		console_write(chan, buf, n);
		done += n;
	}
	return (ssize_t)done;
}

static ssize_t con_write(struct file *f, struct uio *u, uint64_t *pos)
{
	(void)f; (void)pos;
	return con_write_chan(u, CON_STDOUT);
}

static ssize_t con_write_err(struct file *f, struct uio *u, uint64_t *pos)
{
	(void)f; (void)pos;
	return con_write_chan(u, CON_STDERR);
}

static uint32_t con_poll(struct file *f, struct poll_table *pt)
{
	(void)f;
	poll_wait(pt, &con.ph);
	uint32_t m = EPOLLOUT | EPOLLWRNORM;
	if (con_fill())
		m |= EPOLLIN | EPOLLRDNORM;
	else if (pt)
		con_watch();
	return m;
}

#define TCGETS     0x5401
#define FIONREAD   0x541B

static long con_ioctl(struct file *f, unsigned long cmd, unsigned long arg)
{
	(void)f;
	if (cmd == FIONREAD) {
		con_fill();
		int n = (int)READ_ONCE(con.count);
		return copy_to_user((void *)arg, &n, sizeof(n)) < 0 ? -EFAULT : 0;
	}
	/* Not a terminal to the program (TCGETS fails): output is block
	 * buffered and uncoloured, as on a host writing into a pipe, which is
	 * what the wisp tool's byte-exact streams are. */
	return -ENOTTY;
}

static const struct file_ops con_ops = { .read = con_read, .write = con_write,
	.poll = con_poll, .ioctl = con_ioctl };
static const struct file_ops con_err_ops = { .read = con_read, .write = con_write_err,
	.poll = con_poll, .ioctl = con_ioctl };

/* --- the device table -------------------------------------------------------------- */

#define MAJ_MEM 1
#define MAJ_TTY 5
#define MAJ_WISP 240       /* "local use": the stderr stream */

struct chardev {
	uint32_t major, minor;
	const char *name;
	uint32_t perm;
	const struct file_ops *ops;
	bool stream;
};

static const struct chardev devices[] = {
	{ MAJ_MEM, 3, "null", 0666, &null_ops, false },
	{ MAJ_MEM, 5, "zero", 0666, &zero_ops, false },
	{ MAJ_MEM, 7, "full", 0666, &full_ops, false },
	{ MAJ_MEM, 8, "random", 0666, &random_ops, false },
	{ MAJ_MEM, 9, "urandom", 0666, &random_ops, false },
	{ MAJ_TTY, 0, "tty", 0666, &con_ops, true },
	{ MAJ_TTY, 1, "console", 0620, &con_ops, true },
	{ MAJ_WISP, 2, ".stderr", 0620, &con_err_ops, true },
};

int devfs_open(struct inode *i, struct file *f)
{
	for (size_t k = 0; k < ARRAY_SIZE(devices); k++) {
		const struct chardev *d = &devices[k];
		if (d->major != i->rdev_major || d->minor != i->rdev_minor)
			continue;
		f->ops = d->ops;
		if (d->stream) {
			f->mode &= ~(FMODE_PREAD | FMODE_LSEEK);
			f->mode |= FMODE_STREAM;
		}
		return 0;
	}
	return -ENXIO;
}

bool devfs_is_zero(struct file *f)
{
	return f->ops == &zero_ops;
}

static struct super dev_sb, shm_sb;

static int mk(struct inode *dir, const char *name, uint32_t mode, uint32_t maj, uint32_t min,
	      struct inode **out)
{
	struct inode *i;
	int r = dir->ops->create(dir, name, strlen(name), mode, maj, min, &i);
	if (r == 0 && out)
		*out = i;
	return r;
}

static int ln(struct inode *dir, const char *name, const char *target)
{
	struct inode *i;
	return dir->ops->symlink(dir, name, strlen(name), target, strlen(target), &i);
}

int devfs_init(void)
{
	int r = tmpfs_new(&dev_sb, 0755);
	if (r < 0)
		return r;
	dev_sb.type = "devtmpfs";
	struct inode *root = dev_sb.root;
	for (size_t k = 0; k < ARRAY_SIZE(devices); k++) {
		const struct chardev *d = &devices[k];
		r = mk(root, d->name, S_IFCHR | d->perm, d->major, d->minor, NULL);
		if (r < 0)
			return r;
	}
	ln(root, "stdin", "/proc/self/fd/0");
	ln(root, "stdout", "/proc/self/fd/1");
	ln(root, "stderr", "/proc/self/fd/2");
	ln(root, "fd", "/proc/self/fd");
	mk(root, "shm", S_IFDIR | 01777, 0, 0, NULL);
	mk(root, "pts", S_IFDIR | 0755, 0, 0, NULL);
	spinlock_t z = SPINLOCK_INIT;
	con.lock = z;
	pollhead_init(&con.ph);
	ktimer_init(&con.timer, con_timer, NULL);
	r = vfs_mount(&dev_sb, "/dev", 0);
	if (r < 0)
		return r;
	r = tmpfs_new(&shm_sb, 01777);
	if (r < 0)
		return r;
	return vfs_mount(&shm_sb, "/dev/shm", 0);
}

/* fds 0, 1, 2: the console, with stderr on its own channel. */
int fd_init_stdio(void)
{
	static const char *const paths[3] = { "/dev/console", "/dev/console", "/dev/.stderr" };
	static const uint32_t flags[3] = { O_RDWR, O_RDWR, O_RDWR };
	for (int fd = 0; fd < 3; fd++) {
		struct file *f;
		int r = vfs_open(AT_FDCWD, paths[fd], flags[fd], 0, 0, &f);
		if (r < 0)
			return r;
		fs_free(f->name);
		f->name = fs_strdup("/dev/console");
		r = fd_install(f, fd, false);
		if (r >= 0 && r != fd)
			r = -EBUSY;
		file_put(f);
		if (r < 0)
			return r;
	}
	return 0;
}
