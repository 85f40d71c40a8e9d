/*
 * The socket system calls, with Linux's argument checks and errno values
 * (net/socket.c of Linux: __sys_socket, __sys_bind, ...): an fd that is
 * not open gives EBADF, one that is not a socket ENOTSOCK; address
 * lengths beyond sizeof(struct sockaddr_storage) or negative EINVAL;
 * iovec counts beyond 1024 EMSGSIZE; unknown families EAFNOSUPPORT.
 *
 * The send/receive paths allocate nothing for the common cases: the
 * iovec (up to 8 segments), the address and small control buffers live
 * on the stack.
 */
#include "net/sys_socket.h"
#include "fs/deps.h"
#include "linux/syscall.h"
#include "arch/x86_64/time.h"
#include "sched/thread.h"
#include "mm/heap.h"
#include "lib/string.h"
#include "errno.h"

#define UIO_MAXIOV  1024
#define UIO_FASTIOV 8
#define RW_MAX 0x7ffff000ul
#define SOMAXCONN 4096
#define OPTMEM_MAX 20480
#define MSG_CMSG_COMPAT 0x80000000u

struct user_msghdr {
	uint64_t name;
	int32_t namelen;
	int32_t pad0;
	uint64_t iov;
	uint64_t iovlen;
	uint64_t control;
	uint64_t controllen;
	uint32_t flags;
	uint32_t pad1;
};

struct user_mmsghdr {
	struct user_msghdr hdr;
	uint32_t len;
	uint32_t pad;
};

/* The socket of an fd, the file referenced (file_put when done). */
static struct socket *fd_sock(int fd, struct file **fp, long *err)
{
	struct file *f = fd_get_io(fd);
	if (!f) {
		*err = -EBADF;
		return NULL;
	}
	struct socket *s = sock_of_file(f);
	if (!s) {
		file_put(f);
		*err = -ENOTSOCK;
		return NULL;
	}
	*fp = f;
	return s;
}

/* move_addr_to_kernel */
static long addr_in(const void *uaddr, long len, void *kaddr)
{
	if (len < 0 || len > SOCKADDR_MAX)
		return -EINVAL;
	if (len == 0)
		return 0;
	if (copy_from_user(kaddr, uaddr, (size_t)len) < 0)
		return -EFAULT;
	return 0;
}

/* move_addr_to_user: copies min(room, klen) bytes and stores klen. */
static long addr_out(const void *kaddr, size_t klen, void *uaddr, int32_t *ulen)
{
	int32_t len;
	if (copy_from_user(&len, ulen, sizeof(len)) < 0)
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	if ((size_t)len > klen)
		len = (int32_t)klen;
	if (len && copy_to_user(uaddr, kaddr, (size_t)len) < 0)
		return -EFAULT;
	int32_t kl = (int32_t)klen;
	if (copy_to_user(ulen, &kl, sizeof(kl)) < 0)
		return -EFAULT;
	return 0;
}

/* --- socket, socketpair --------------------------------------------------- */

static long create(int domain, int type, int protocol, struct socket **out)
{
	if (domain < 0 || domain >= 46)
		return -EAFNOSUPPORT;
	if (type < 0 || type > 10)
		return -EINVAL;
	sock_create_fn fn = sock_family(domain);
	if (!fn)
		return -EAFNOSUPPORT;
	struct socket *s = sock_alloc(domain, type, protocol);
	if (!s)
		return -ENOMEM;
	int r = fn(s, type, protocol, false);
	if (r < 0) {
		sock_put(s);
		return r;
	}
	*out = s;
	return 0;
}

static long sys_socket(int domain, int type, int protocol)
{
	int flags = type & ~SOCK_TYPE_MASK;
	if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK))
		return -EINVAL;
	struct socket *s;
	long r = create(domain, type & SOCK_TYPE_MASK, protocol, &s);
	if (r < 0)
		return r;
	return sock_install(s, flags);
}
SYSCALL(41, socket, sys_socket, "ddd");

static long sys_socketpair(int domain, int type, int protocol, int *usv)
{
	int flags = type & ~SOCK_TYPE_MASK;
	if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK))
		return -EINVAL;
	struct socket *a, *b;
	long r = create(domain, type & SOCK_TYPE_MASK, protocol, &a);
	if (r < 0)
		return r;
	r = create(domain, type & SOCK_TYPE_MASK, protocol, &b);
	if (r < 0) {
		sock_put(a);     /* not connected to anything yet */
		return r;
	}
	if (domain != AF_UNIX) {
		a->ops->release(a);
		b->ops->release(b);
		return -EOPNOTSUPP;
	}
	r = unix_socketpair(a, b);
	if (r < 0) {
		a->ops->release(a);
		b->ops->release(b);
		return r;
	}
	struct file *fa = sock_file_new(a, flags);
	struct file *fb = sock_file_new(b, flags);
	int fds[2] = { -1, -1 };
	if (!fa || !fb) {
		r = -ENOMEM;
		goto out;
	}
	fds[0] = fd_install(fa, 0, flags & SOCK_CLOEXEC);
	if (fds[0] < 0) {
		r = fds[0];
		goto out;
	}
	fds[1] = fd_install(fb, 0, flags & SOCK_CLOEXEC);
	if (fds[1] < 0) {
		r = fds[1];
		fd_close(fds[0]);
		goto out;
	}
	if (copy_to_user(usv, fds, sizeof(fds)) < 0) {
		fd_close(fds[0]);
		fd_close(fds[1]);
		r = -EFAULT;
		goto out;
	}
	r = 0;
out:
	if (fa)
		file_put(fa);
	if (fb)
		file_put(fb);
	return r;
}
SYSCALL(53, socketpair, sys_socketpair, "dddp");

/* --- bind, connect, listen, accept ---------------------------------------- */

static long sys_bind(int fd, const void *uaddr, int len)
{
	struct file *f;
	long r;
	struct socket *s = fd_sock(fd, &f, &r);
	if (!s)
		return r;
	uint8_t addr[SOCKADDR_MAX];
	r = addr_in(uaddr, len, addr);
	if (r == 0)
		r = s->ops->bind ? s->ops->bind(s, addr, (size_t)len) : -EOPNOTSUPP;
	file_put(f);
	return r;
}
SYSCALL(49, bind, sys_bind, "fpd");

static long sys_connect(int fd, const void *uaddr, int len)
{
	struct file *f;
	long r;
	struct socket *s = fd_sock(fd, &f, &r);
	if (!s)
		return r;
	uint8_t addr[SOCKADDR_MAX];
	r = addr_in(uaddr, len, addr);
	if (r == 0) {
		r = s->ops->connect ? s->ops->connect(s, addr, (size_t)len, sock_nonblock(s, 0))
				    : -EOPNOTSUPP;
		r = sock_intr(s, r, false);
	}
	file_put(f);
	return r;
}
SYSCALL(42, connect, sys_connect, "fpd");

static long sys_listen(int fd, int backlog)
{
	struct file *f;
	long r;
	struct socket *s = fd_sock(fd, &f, &r);
	if (!s)
		return r;
	if ((unsigned)backlog > SOMAXCONN)
		backlog = SOMAXCONN;
	r = s->ops->listen ? s->ops->listen(s, backlog) : -EOPNOTSUPP;
	if (r == 0)
		sock_set_listening(s);
	file_put(f);
	return r;
}
SYSCALL(50, listen, sys_listen, "fd");

static long sys_accept4(int fd, void *uaddr, int32_t *ulen, int flags)
{
	if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK))
		return -EINVAL;
	struct file *f;
	long r;
	struct socket *s = fd_sock(fd, &f, &r);
	if (!s)
		return r;
	struct socket *ns = NULL;
	if (!s->ops->accept) {
		r = -EOPNOTSUPP;
		goto out;
	}
	/* Linux takes the fd before the connection: with no fd left
	 * (EMFILE) the connection stays queued for a later accept (nginx
	 * counts on it). Probe for a free slot with a short-lived dup. */
	int probe = fd_install(f, 0, false);
	if (probe < 0) {
		r = probe;
		goto out;
	}
	fd_close(probe);
	r = s->ops->accept(s, &ns, sock_nonblock(s, 0));
	if (r < 0) {
		r = sock_intr(s, r, true);
		goto out;
	}
	struct file *nf = sock_file_new(ns, flags);
	if (!nf) {
		r = -ENOMEM;
		goto out;
	}
	if (uaddr) {
		uint8_t addr[SOCKADDR_MAX];
		size_t klen = sizeof(addr);
		r = ns->ops->getname ? ns->ops->getname(ns, addr, &klen, true) : -EOPNOTSUPP;
		if (r < 0)
			r = -ECONNABORTED;
		else
			r = addr_out(addr, klen, uaddr, ulen);
		if (r < 0) {
			file_put(nf);
			goto out;
		}
	}
	r = fd_install(nf, 0, flags & SOCK_CLOEXEC);
	file_put(nf);
out:
	file_put(f);
	return r;
}
SYSCALL(288, accept4, sys_accept4, "fppx");

static long sys_accept(int fd, void *uaddr, int32_t *ulen)
{
	return sys_accept4(fd, uaddr, ulen, 0);
}
SYSCALL(43, accept, sys_accept, "fpp");

/* --- names ------------------------------------------------------------------ */

static long getname(int fd, void *uaddr, int32_t *ulen, bool peer)
{
	struct file *f;
	long r;
	struct socket *s = fd_sock(fd, &f, &r);
	if (!s)
		return r;
	uint8_t addr[SOCKADDR_MAX];
	size_t klen = sizeof(addr);
	r = s->ops->getname ? s->ops->getname(s, addr, &klen, peer) : -EOPNOTSUPP;
	if (r >= 0)
		r = addr_out(addr, klen, uaddr, ulen);
	file_put(f);
	return r;
}

static long sys_getsockname(int fd, void *uaddr, int32_t *ulen)
{
	return getname(fd, uaddr, ulen, false);
}
SYSCALL(51, getsockname, sys_getsockname, "fpp");

static long sys_getpeername(int fd, void *uaddr, int32_t *ulen)
{
	return getname(fd, uaddr, ulen, true);
}
SYSCALL(52, getpeername, sys_getpeername, "fpp");

/* --- data ------------------------------------------------------------------- */

/* An iovec imported into a uio; small arrays stay on the stack. */
struct msg_io {
	struct iovec fast[UIO_FASTIOV];
	struct iovec *iov;
	struct uio uio;
};

static void msg_io_free(struct msg_io *io)
{
	if (io->iov && io->iov != io->fast)
		kfree(io->iov);
	io->iov = NULL;
}

/* import_iovec: EMSGSIZE beyond 1024 segments, EINVAL for a negative
 * length, EFAULT for a bad pointer; the total is capped at RW_MAX. */
static long import_iov(uint64_t uiov, uint64_t cnt, struct msg_io *io)
{
	io->iov = NULL;
	if (cnt > UIO_MAXIOV)
		return -EMSGSIZE;
	struct iovec *iov = io->fast;
	if (cnt > UIO_FASTIOV) {
		iov = kmalloc(sizeof(*iov) * cnt);
		if (!iov)
			return -ENOMEM;
	}
	io->iov = iov;
	if (cnt && copy_from_user(iov, (void *)uiov, sizeof(*iov) * cnt) < 0) {
		msg_io_free(io);
		return -EFAULT;
	}
	size_t total = 0;
	for (uint64_t i = 0; i < cnt; i++) {
		if ((int64_t)iov[i].len < 0) {
			msg_io_free(io);
			return -EINVAL;
		}
		if (iov[i].len && !user_range_ok((uint64_t)iov[i].base, iov[i].len)) {
			msg_io_free(io);
			return -EFAULT;
		}
		if (iov[i].len > RW_MAX - total)
			iov[i].len = RW_MAX - total;
		total += iov[i].len;
	}
	io->uio.iov = iov;
	io->uio.iovcnt = (int)cnt;
	io->uio.idx = 0;
	io->uio.off = 0;
	io->uio.resid = total;
	io->uio.user = true;
	return 0;
}

static long do_send(struct socket *s, struct uio *u, const void *uaddr, int alen,
		    int flags)
{
	struct sock_msg m;
	sock_msg_init(&m, u);
	if (uaddr) {
		long r = addr_in(uaddr, alen, m.name);
		if (r < 0)
			return r;
		m.namelen = (size_t)alen;
	}
	return sock_sendmsg(s, &m, flags);
}

static long sys_sendto(int fd, const void *buf, size_t len, int flags, const void *uaddr, int alen)
{
	if (len > INT32_MAX)
		len = INT32_MAX;
	if (len && !user_range_ok((uint64_t)buf, len))
		return -EFAULT;
	struct file *f;
	long r;
	struct socket *s = fd_sock(fd, &f, &r);
	if (!s)
		return r;
	struct iovec v;
	struct uio u;
	uio_init1(&u, &v, (void *)buf, len, true);
	r = do_send(s, &u, uaddr, alen, flags);
	file_put(f);
	return r;
}
SYSCALL(44, sendto, sys_sendto, "fbuxpd");

static long sys_recvfrom(int fd, void *buf, size_t len, int flags, void *uaddr, int32_t *ualen)
{
	if (len > INT32_MAX)
		len = INT32_MAX;
	if (len && !user_range_ok((uint64_t)buf, len))
		return -EFAULT;
	struct file *f;
	long r;
	struct socket *s = fd_sock(fd, &f, &r);
	if (!s)
		return r;
	struct iovec v;
	struct uio u;
	uio_init1(&u, &v, buf, len, true);
	struct sock_msg m;
	sock_msg_init(&m, &u);
	r = sock_recvmsg(s, &m, flags);
	if (r >= 0 && uaddr) {          /* a NULL length is EFAULT, as Linux */
		long e = addr_out(m.name, m.namelen, uaddr, ualen);
		if (e < 0)
			r = e;
	}
	file_put(f);
	return r;
}
SYSCALL(45, recvfrom, sys_recvfrom, "fbuxpp");

/* sendmsg on one msghdr (sendmsg, sendmmsg). */
static long send_one(struct socket *s, const struct user_msghdr *uh, int flags)
{
	struct user_msghdr h;
	if (copy_from_user(&h, uh, sizeof(h)) < 0)
		return -EFAULT;
	if (h.namelen < 0)
		return -EINVAL;
	struct sock_msg m;
	sock_msg_init(&m, NULL);
	if (h.name) {
		size_t nl = MIN((size_t)h.namelen, (size_t)SOCKADDR_MAX);
		if (nl && copy_from_user(m.name, (void *)h.name, nl) < 0)
			return -EFAULT;
		m.namelen = nl;
	}
	struct msg_io io;
	long r = import_iov(h.iov, h.iovlen, &io);
	if (r < 0)
		return r;
	uint64_t small[8];
	void *ctl = NULL;
	if (h.controllen > INT32_MAX) {
		r = -ENOBUFS;
		goto out;
	}
	if (h.controllen) {
		if (h.controllen > OPTMEM_MAX) {
			r = -ENOBUFS;
			goto out;
		}
		ctl = h.controllen <= sizeof(small) ? small : kmalloc(h.controllen);
		if (!ctl) {
			r = -ENOBUFS;
			goto out;
		}
		if (copy_from_user(ctl, (void *)h.control, h.controllen) < 0) {
			r = -EFAULT;
			goto out;
		}
	}
	m.uio = &io.uio;
	m.control = ctl;
	m.control_len = ctl ? h.controllen : 0;
	r = sock_sendmsg(s, &m, flags);
out:
	if (ctl && ctl != small)
		kfree(ctl);
	msg_io_free(&io);
	return r;
}

static long sys_sendmsg(int fd, const struct user_msghdr *uh, unsigned flags)
{
	if (flags & MSG_CMSG_COMPAT)
		return -EINVAL;
	struct file *f;
	long r;
	struct socket *s = fd_sock(fd, &f, &r);
	if (!s)
		return r;
	r = send_one(s, uh, (int)flags);
	file_put(f);
	return r;
}
SYSCALL(46, sendmsg, sys_sendmsg, "fpx");

#define CTL_STACK 256
#define CTL_MAX   4096     /* enough for SCM_RIGHTS with SCM_MAX_FD fds */

/* recvmsg on one msghdr (recvmsg, recvmmsg). */
static long recv_one(struct socket *s, struct user_msghdr *uh, int flags)
{
	struct user_msghdr h;
	if (copy_from_user(&h, uh, sizeof(h)) < 0)
		return -EFAULT;
	if (h.namelen < 0)
		return -EINVAL;
	struct msg_io io;
	long r = import_iov(h.iov, h.iovlen, &io);
	if (r < 0)
		return r;
	uint64_t small[CTL_STACK / 8];
	void *ctl = NULL;
	size_t room = 0;
	if (h.control && h.controllen) {
		room = MIN(h.controllen, (uint64_t)CTL_MAX);
		ctl = room <= sizeof(small) ? small : kmalloc(room);
		if (!ctl) {
			r = -ENOMEM;
			goto out;
		}
	}
	struct sock_msg m;
	sock_msg_init(&m, &io.uio);
	m.control = ctl;
	m.control_len = room;
	r = sock_recvmsg(s, &m, flags);
	if (r < 0)
		goto out;
	if (!ctl)
		m.control_len = 0;
	if (h.name) {
		long e = addr_out(m.name, m.namelen, (void *)h.name, &uh->namelen);
		if (e < 0) {
			r = e;
			goto out;
		}
	}
	uint32_t mf = (uint32_t)m.msg_flags;
	uint64_t clen = m.control_len;
	if ((ctl && clen && copy_to_user((void *)h.control, ctl, clen) < 0) ||
	    copy_to_user(&uh->flags, &mf, sizeof(mf)) < 0 ||
	    copy_to_user(&uh->controllen, &clen, sizeof(clen)) < 0)
		r = -EFAULT;
out:
	if (ctl && ctl != small)
		kfree(ctl);
	msg_io_free(&io);
	return r;
}

static long sys_recvmsg(int fd, struct user_msghdr *uh, unsigned flags)
{
	if (flags & MSG_CMSG_COMPAT)
		return -EINVAL;
	struct file *f;
	long r;
	struct socket *s = fd_sock(fd, &f, &r);
	if (!s)
		return r;
	r = recv_one(s, uh, (int)flags);
	file_put(f);
	return r;
}
SYSCALL(47, recvmsg, sys_recvmsg, "fpx");

/* sendmmsg and recvmmsg: one message after another until vlen, an error
 * or (receiving) the deadline, which is checked between messages only, as
 * Linux; each message's length is stored beside it. The count, or the
 * first message's error. */
static long mmsg_loop(struct socket *s, struct user_mmsghdr *uv, unsigned vlen,
		      unsigned flags, bool rcv, uint64_t deadline)
{
	if (vlen > UIO_MAXIOV)
		vlen = UIO_MAXIOV;
	unsigned n = 0;
	long r = 0;
	while (n < vlen) {
		r = rcv ? recv_one(s, &uv[n].hdr, (int)flags) : send_one(s, &uv[n].hdr, (int)flags);
		if (r < 0)
			break;
		uint32_t len = (uint32_t)r;
		if (copy_to_user(&uv[n].len, &len, sizeof(len)) < 0) {
			r = -EFAULT;
			break;
		}
		n++;
		if (!rcv)
			continue;
		if (flags & MSG_WAITFORONE)
			flags |= MSG_DONTWAIT;
		if (deadline != TIME_FOREVER && clock_monotonic_ns() >= deadline)
			break;
	}
	if (rcv && n && r < 0 && r != -EAGAIN)
		s->error = (int)-r;     /* reported by the next call, as Linux */
	return n ? (long)n : r;
}

static long sys_sendmmsg(int fd, struct user_mmsghdr *uv, unsigned vlen, unsigned flags)
{
	if (flags & MSG_CMSG_COMPAT)
		return -EINVAL;
	struct file *f;
	long r;
	struct socket *s = fd_sock(fd, &f, &r);
	if (!s)
		return r;
	r = mmsg_loop(s, uv, vlen, flags, false, TIME_FOREVER);
	file_put(f);
	return r;
}
SYSCALL(307, sendmmsg, sys_sendmmsg, "fpux");

static long sys_recvmmsg(int fd, struct user_mmsghdr *uv, unsigned vlen, unsigned flags,
			 struct timespec_k *uts)
{
	if (flags & MSG_CMSG_COMPAT)
		return -EINVAL;
	uint64_t deadline;
	long r = timeout_from_user(uts, &deadline);
	if (r < 0)
		return r;
	struct file *f;
	struct socket *s = fd_sock(fd, &f, &r);
	if (!s)
		return r;
	r = mmsg_loop(s, uv, vlen, flags, true, deadline);
	timeout_put_left(uts, deadline);
	file_put(f);
	return r;
}
SYSCALL(299, recvmmsg, sys_recvmmsg, "fpuxp");

/* --- shutdown, options ------------------------------------------------------ */

static long sys_shutdown(int fd, int how)
{
	struct file *f;
	long r;
	struct socket *s = fd_sock(fd, &f, &r);
	if (!s)
		return r;
	if (how < SHUT_RD || how > SHUT_RDWR)
		r = -EINVAL;
	else
		r = s->ops->shutdown ? s->ops->shutdown(s, how) : -EOPNOTSUPP;
	file_put(f);
	return r;
}
SYSCALL(48, shutdown, sys_shutdown, "fd");

#define OPT_STACK 64
#define OPT_MAX   4096

static long sys_setsockopt(int fd, int level, int name, const void *uval, int len)
{
	if (len < 0)
		return -EINVAL;
	struct file *f;
	long r;
	struct socket *s = fd_sock(fd, &f, &r);
	if (!s)
		return r;
	uint64_t small[OPT_STACK / 8];
	size_t n = MIN((size_t)len, (size_t)OPT_MAX);
	void *val = n <= sizeof(small) ? small : kmalloc(n);
	if (!val) {
		r = -ENOMEM;
		goto out;
	}
	if (n && copy_from_user(val, uval, n) < 0) {
		r = -EFAULT;
		goto out;
	}
	if (level == SOL_SOCKET)
		r = sock_setsockopt_common(s, name, val, n);
	else
		r = s->ops->setsockopt ? s->ops->setsockopt(s, level, name, val, n) : -EOPNOTSUPP;
out:
	if (val && val != small)
		kfree(val);
	file_put(f);
	return r;
}
SYSCALL(54, setsockopt, sys_setsockopt, "fddpd");

static long sys_getsockopt(int fd, int level, int name, void *uval, int32_t *ulen)
{
	struct file *f;
	long r;
	struct socket *s = fd_sock(fd, &f, &r);
	if (!s)
		return r;
	int32_t len;
	if (copy_from_user(&len, ulen, sizeof(len)) < 0) {
		r = -EFAULT;
		goto out;
	}
	if (len < 0) {
		r = -EINVAL;
		goto out;
	}
	uint64_t buf[512 / 8];
	memset(buf, 0, sizeof(buf));
	size_t klen = MIN((size_t)len, sizeof(buf));
	if (level == SOL_SOCKET)
		r = sock_getsockopt_common(s, name, buf, &klen);
	else
		r = s->ops->getsockopt ? s->ops->getsockopt(s, level, name, buf, &klen) : -EOPNOTSUPP;
	if (r < 0)
		goto out;
	if (klen > (size_t)len)
		klen = (size_t)len;
	int32_t out_len = (int32_t)klen;
	if ((klen && copy_to_user(uval, buf, klen) < 0) ||
	    copy_to_user(ulen, &out_len, sizeof(out_len)) < 0)
		r = -EFAULT;
out:
	file_put(f);
	return r;
}
SYSCALL(55, getsockopt, sys_getsockopt, "fddpp");
