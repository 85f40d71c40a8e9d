/*
 * The socket layer: socket objects and their files, the SOL_SOCKET
 * options, the interface ioctls, and the helpers of net/socket.h. The
 * system calls themselves are in sys_socket.c.
 *
 * A socket is carried by a file on an anonymous S_IFSOCK inode (named
 * "socket:[ino]" in /proc/self/fd); the file holds the socket's first
 * reference and gives it back through ops->release when its last
 * reference goes. read/write/readv/writev (and sendfile, which writes
 * through the file) go to the family's recvmsg/sendmsg.
 */
#include "net/sys_socket.h"
#include "net/stack.h"
#include "fs/deps.h"
#include "linux/signal.h"
#include "sched/thread.h"
#include "arch/x86_64/time.h"
#include "mm/heap.h"
#include "lib/string.h"
#include "errno.h"

#define AF_MAX 46

/* struct socket plus what only this layer keeps. */
struct sock_full {
	struct socket s;
	bool listening;            /* SO_ACCEPTCONN */
	char bind_dev[16];         /* SO_BINDTODEVICE (recorded, not enforced) */
	int flags_opt[12];         /* options stored and read back only (gen_slot) */
	uint64_t pacing;           /* SO_MAX_PACING_RATE */
};

/* Options Linux stores and reports but which change nothing here (busy
 * polling, pacing, NIC timestamps...): kept so a program reads back what
 * it set. Their slot in sock_full.flags_opt, or -1. */
static int gen_slot(int name)
{
	switch (name) {
	case 40: return 0;      /* SO_RXQ_OVFL */
	case 41: return 1;      /* SO_WIFI_STATUS */
	case 43: return 2;      /* SO_NOFCS */
	case 44: return 3;      /* SO_LOCK_FILTER */
	case 45: return 4;      /* SO_SELECT_ERR_QUEUE */
	case 46: return 5;      /* SO_BUSY_POLL */
	case 49: return 6;      /* SO_INCOMING_CPU */
	case 60: return 7;      /* SO_ZEROCOPY */
	case 69: return 8;      /* SO_PREFER_BUSY_POLL */
	case 72: return 9;      /* SO_BUF_LOCK */
	case 74: return 10;     /* SO_TXREHASH */
	case 75: return 11;     /* SO_RCVMARK */
	}
	return -1;
}

static sock_create_fn families[AF_MAX] = {
	[AF_UNIX] = unix_create,
	[AF_INET] = inet_create,
	[AF_NETLINK] = netlink_create,
};

void sock_register_family(int family, sock_create_fn create)
{
	if (family > 0 && family < AF_MAX)
		families[family] = create;
}

sock_create_fn sock_family(int family)
{
	return family >= 0 && family < AF_MAX ? families[family] : NULL;
}

void socket_init(void)
{
	/* The families are in the table from the start (so the syscalls work
	 * whether or not net_init ran); nothing else to do. */
}

/* --- objects ---------------------------------------------------------------- */

#define SOCK_DEFAULT_BUF 212992     /* net.core.{r,w}mem_default */

struct socket *sock_alloc(int family, int type, int protocol)
{
	struct sock_full *sf = kzalloc(sizeof(*sf));
	if (!sf)
		return NULL;
	struct socket *s = &sf->s;
	s->refs = 1;
	s->family = family;
	s->type = type;
	s->protocol = protocol;
	pollhead_init(&s->ph);
	s->sndbuf = s->rcvbuf = SOCK_DEFAULT_BUF;
	s->rcvlowat = 1;
	sf->flags_opt[6] = -1;      /* SO_INCOMING_CPU: none yet */
	sf->pacing = ~0ull;         /* SO_MAX_PACING_RATE: unlimited */
	return s;
}

void sock_get(struct socket *s)
{
	__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
}

void sock_put(struct socket *s)
{
	if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	if (s->destroy)
		s->destroy(s);
	kfree(container_of(s, struct sock_full, s));
}

bool sock_is_listening(struct socket *s)
{
	return container_of(s, struct sock_full, s)->listening;
}

void sock_set_listening(struct socket *s)
{
	container_of(s, struct sock_full, s)->listening = true;
}

bool sock_nonblock(struct socket *s, int msg_flags)
{
	if (msg_flags & MSG_DONTWAIT)
		return true;
	struct file *f = READ_ONCE(s->file);
	return f && (READ_ONCE(f->flags) & O_NONBLOCK);
}

static uint64_t deadline_of(uint64_t timeo)
{
	if (!timeo)
		return TIME_FOREVER;
	uint64_t now = clock_monotonic_ns();
	return now + timeo < now ? TIME_FOREVER : now + timeo;
}

uint64_t sock_rcv_deadline(struct socket *s)
{
	return deadline_of(READ_ONCE(s->rcvtimeo_ns));
}

uint64_t sock_snd_deadline(struct socket *s)
{
	return deadline_of(READ_ONCE(s->sndtimeo_ns));
}

void sock_wake(struct socket *s, uint32_t events)
{
	pollhead_wake(&s->ph, events);
}

/* --- the file ----------------------------------------------------------------- */

static const struct file_ops sock_file_ops;

struct socket *sock_of_file(struct file *f)
{
	return f && f->ops == &sock_file_ops ? f->priv : NULL;
}

struct socket *sock_from_fd(int fd, int *err)
{
	struct file *f = fd_get_io(fd);
	if (!f) {
		*err = -EBADF;
		return NULL;
	}
	struct socket *s = sock_of_file(f);
	if (s)
		sock_get(s);
	else
		*err = -ENOTSOCK;
	file_put(f);
	return s;
}

#define ERESTARTNOHAND 514

/* Linux restarts an interrupted socket call under SA_RESTART unless the
 * socket has a timeout for that direction (man 7 signal); the syscall
 * exit (signal.c) restarts -EINTR of these calls, so a timed call gives
 * -ERESTARTNOHAND instead: EINTR when a handler runs, a restart when the
 * signal had none. */
long sock_intr(struct socket *s, long r, bool rcv)
{
	if (r == -EINTR && (rcv ? s->rcvtimeo_ns : s->sndtimeo_ns))
		return -ERESTARTNOHAND;
	return r;
}

/* -EPIPE from a stream raises SIGPIPE unless MSG_NOSIGNAL. */
void sock_epipe(struct socket *s, long r, int flags)
{
	if (r == -EPIPE && !(flags & MSG_NOSIGNAL) && s->type == SOCK_STREAM)
		signal_raise_self(SIGPIPE);
}

long sock_sendmsg(struct socket *s, struct sock_msg *m, int flags)
{
	if (!s->ops->sendmsg)
		return -EOPNOTSUPP;
	long r = s->ops->sendmsg(s, m, flags);
	sock_epipe(s, r, flags);
	return sock_intr(s, r, false);
}

long sock_recvmsg(struct socket *s, struct sock_msg *m, int flags)
{
	if (!s->ops->recvmsg)
		return -EOPNOTSUPP;
	return sock_intr(s, s->ops->recvmsg(s, m, flags), true);
}

static ssize_t sock_read(struct file *f, struct uio *u, uint64_t *pos)
{
	(void)pos;
	struct sock_msg m;
	sock_msg_init(&m, u);
	return sock_recvmsg(f->priv, &m, 0);
}

static ssize_t sock_write(struct file *f, struct uio *u, uint64_t *pos)
{
	(void)pos;
	struct sock_msg m;
	sock_msg_init(&m, u);
	return sock_sendmsg(f->priv, &m, 0);
}

static uint32_t sock_poll(struct file *f, struct poll_table *pt)
{
	struct socket *s = f->priv;
	if (!s->ops->poll) {
		poll_wait(pt, &s->ph);
		return EPOLLOUT | EPOLLWRNORM;
	}
	return s->ops->poll(s, pt);
}

static long sock_file_ioctl(struct file *f, unsigned long cmd, unsigned long arg)
{
	return sock_ioctl_common(f->priv, cmd, arg);
}

static void sock_release(struct file *f)
{
	struct socket *s = f->priv;
	WRITE_ONCE(s->file, NULL);
	if (s->ops && s->ops->release)
		s->ops->release(s);
	else
		sock_put(s);
}

static const struct file_ops sock_file_ops = {
	.read = sock_read,
	.write = sock_write,
	.poll = sock_poll,
	.ioctl = sock_file_ioctl,
	.release = sock_release,
};

/* A file for s (taking over its reference); NULL when out of memory, and
 * then the socket has been released. */
struct file *sock_file_new(struct socket *s, int flags)
{
	struct file *f = file_anon("socket", S_IFSOCK | 0777,
				   O_RDWR | ((flags & SOCK_NONBLOCK) ? O_NONBLOCK : 0),
				   &sock_file_ops, s);
	if (!f) {
		if (s->ops && s->ops->release)
			s->ops->release(s);
		else
			sock_put(s);
		return NULL;
	}
	s->file = f;
	return f;
}

int sock_install(struct socket *s, int flags)
{
	struct file *f = sock_file_new(s, flags);
	if (!f)
		return -ENOMEM;
	int fd = fd_install(f, 0, flags & SOCK_CLOEXEC);
	file_put(f);
	return fd;
}

/* --- addresses ------------------------------------------------------------- */

int sockaddr_in_parse(const void *addr, size_t len, uint32_t *ip, uint16_t *port)
{
	if (len < sizeof(struct sockaddr_in_k))
		return -EINVAL;
	const struct sockaddr_in_k *sin = addr;
	if (sin->family != AF_INET)
		return -EAFNOSUPPORT;
	*ip = __builtin_bswap32(sin->addr);
	*port = __builtin_bswap16(sin->port);
	return 0;
}

size_t sockaddr_in_fill(void *addr, uint32_t ip, uint16_t port)
{
	struct sockaddr_in_k *sin = addr;
	memset(sin, 0, sizeof(*sin));
	sin->family = AF_INET;
	sin->port = __builtin_bswap16(port);
	sin->addr = __builtin_bswap32(ip);
	return sizeof(*sin);
}

/* --- ancillary data ------------------------------------------------------- */

const struct cmsg_k *cmsg_next(const struct sock_msg *m, const struct cmsg_k *prev, int *err)
{
	if (!m->control || m->control_len < CMSG_HDR)
		return NULL;
	const uint8_t *base = m->control, *end = base + m->control_len;
	const uint8_t *p = prev ? (const uint8_t *)prev + CMSG_ALIGN8(prev->len) : base;
	if (p + CMSG_HDR > end || p < base)
		return NULL;
	const struct cmsg_k *c = (const void *)p;
	if (c->len < CMSG_HDR || c->len > (uint64_t)(end - p)) {
		*err = -EINVAL;
		return NULL;
	}
	return c;
}

bool cmsg_put(struct sock_msg *m, size_t room, int level, int type, const void *data, size_t len)
{
	size_t used = m->control_len;
	if (!m->control || used + CMSG_HDR + len > room) {
		m->msg_flags |= MSG_CTRUNC;
		return false;
	}
	struct cmsg_k *c = (void *)((uint8_t *)m->control + used);
	c->len = CMSG_HDR + len;
	c->level = level;
	c->type = type;
	memcpy((uint8_t *)c + CMSG_HDR, data, len);
	size_t sp = CMSG_SPACE_K(len);
	m->control_len = used + sp > room ? room : used + sp;
	return true;
}

/* --- interfaces ----------------------------------------------------------- */

bool sock_if_is_loopback(const struct netif *nif)
{
	return (nif->features & NETIF_F_LOOPBACK) || !strcmp(nif->name, "lo");
}

int sock_ifindex(const struct netif *nif)
{
	int i = 1;
	for (int pass = 0; pass < 2; pass++)
		for (struct netif *n = netif_first(); n; n = n->next)
			if (sock_if_is_loopback(n) == (pass == 0)) {
				if (n == nif)
					return i;
				i++;
			}
	return 0;
}

struct netif *sock_ifbyindex(int index)
{
	int i = 1;
	for (int pass = 0; pass < 2; pass++)
		for (struct netif *n = netif_first(); n; n = n->next)
			if (sock_if_is_loopback(n) == (pass == 0)) {
				if (i == index)
					return n;
				i++;
			}
	return NULL;
}

unsigned sock_if_flags(const struct netif *nif)
{
	unsigned f = 0;
	if (sock_if_is_loopback(nif))
		f |= IFF_LOOPBACK | IFF_UP | IFF_RUNNING | IFF_LOWER_UP;
	else {
		f |= IFF_BROADCAST | IFF_MULTICAST;
		if (nif->up || nif->addr)
			f |= IFF_UP;
		if ((nif->up || nif->addr) && nif->link_up)
			f |= IFF_RUNNING | IFF_LOWER_UP;
	}
	return f;
}

/* --- ioctls ------------------------------------------------------------------ */

#define FIONREAD       0x541B
#define SIOCGIFNAME    0x8910
#define SIOCGIFCONF    0x8912
#define SIOCGIFFLAGS   0x8913
#define SIOCGIFADDR    0x8915
#define SIOCGIFDSTADDR 0x8917
#define SIOCGIFBRDADDR 0x8919
#define SIOCGIFNETMASK 0x891b
#define SIOCGIFMETRIC  0x891d
#define SIOCGIFMTU     0x8921
#define SIOCGIFHWADDR  0x8927
#define SIOCGIFINDEX   0x8933
#define SIOCGIFTXQLEN  0x8942
#define SIOCGSTAMP     0x8906
#define SIOCGSTAMPNS   0x8907
#define ARPHRD_ETHER    1
#define ARPHRD_LOOPBACK 772
#define IFNAMSIZ 16

struct ifreq_k {
	char name[IFNAMSIZ];
	union {
		struct sockaddr_in_k addr;
		struct { uint16_t family; uint8_t data[14]; } hw;
		int16_t flags;
		int32_t ivalue;
		uint8_t pad[24];
	};
};

struct ifconf_k {
	int32_t len;
	int32_t pad;
	uint64_t buf;
};

static long ifconf(unsigned long arg)
{
	struct ifconf_k ic;
	if (copy_from_user(&ic, (void *)arg, sizeof(ic)) < 0)
		return -EFAULT;
	int32_t done = 0;
	for (int idx = 1;; idx++) {
		struct netif *n = sock_ifbyindex(idx);
		if (!n)
			break;
		uint32_t a = READ_ONCE(n->addr);
		if (!a && !sock_if_is_loopback(n))
			continue;           /* Linux lists IPv4 addresses */
		if (!a)
			a = 0x7f000001;
		if (ic.buf) {
			if (ic.len - done < (int32_t)sizeof(struct ifreq_k))
				break;
			struct ifreq_k r;
			memset(&r, 0, sizeof(r));
			strlcpy(r.name, n->name, sizeof(r.name));
			sockaddr_in_fill(&r.addr, a, 0);
			if (copy_to_user((void *)(ic.buf + (uint64_t)done), &r, sizeof(r)) < 0)
				return -EFAULT;
		}
		done += sizeof(struct ifreq_k);
	}
	ic.len = done;
	return copy_to_user((void *)arg, &ic.len, sizeof(ic.len)) < 0 ? -EFAULT : 0;
}

static uint32_t if_addr(const struct netif *n)
{
	uint32_t a = READ_ONCE(n->addr);
	return !a && sock_if_is_loopback(n) ? 0x7f000001 : a;
}

static uint32_t if_mask(const struct netif *n)
{
	uint32_t m = READ_ONCE(n->netmask);
	return !m && sock_if_is_loopback(n) ? 0xff000000 : m;
}

static long ifreq_ioctl(unsigned long cmd, unsigned long arg)
{
	struct ifreq_k r;
	if (copy_from_user(&r, (void *)arg, sizeof(r)) < 0)
		return -EFAULT;
	struct netif *n;
	if (cmd == SIOCGIFNAME) {
		n = sock_ifbyindex(r.ivalue);
		if (!n)
			return -ENODEV;
		memset(r.name, 0, sizeof(r.name));
		strlcpy(r.name, n->name, sizeof(r.name));
		return copy_to_user((void *)arg, &r, sizeof(r)) < 0 ? -EFAULT : 0;
	}
	r.name[IFNAMSIZ - 1] = 0;
	n = netif_find(r.name);
	if (!n)
		return -ENODEV;
	memset(r.pad, 0, sizeof(r.pad));
	switch (cmd) {
	case SIOCGIFFLAGS:
		r.flags = (int16_t)sock_if_flags(n);
		break;
	case SIOCGIFADDR:
	case SIOCGIFNETMASK:
	case SIOCGIFBRDADDR:
	case SIOCGIFDSTADDR: {
		uint32_t a = if_addr(n), m = if_mask(n);
		if (!a)
			return -EADDRNOTAVAIL;
		uint32_t v = cmd == SIOCGIFADDR ? a : cmd == SIOCGIFNETMASK ? m
			   : cmd == SIOCGIFDSTADDR ? a
			   : sock_if_is_loopback(n) ? 0 : (a | ~m);
		sockaddr_in_fill(&r.addr, v, 0);
		break;
	}
	case SIOCGIFMTU:
		r.ivalue = sock_if_is_loopback(n) && !n->mtu ? 65536 : (int32_t)n->mtu;
		break;
	case SIOCGIFMETRIC:
		r.ivalue = 0;
		break;
	case SIOCGIFTXQLEN:
		r.ivalue = sock_if_is_loopback(n) ? 1000 : 1000;
		break;
	case SIOCGIFINDEX:
		r.ivalue = sock_ifindex(n);
		break;
	case SIOCGIFHWADDR:
		if (sock_if_is_loopback(n)) {
			r.hw.family = ARPHRD_LOOPBACK;
		} else {
			r.hw.family = ARPHRD_ETHER;
			memcpy(r.hw.data, n->mac, ETH_ALEN);
		}
		break;
	default:
		return -ENOTTY;
	}
	return copy_to_user((void *)arg, &r, sizeof(r)) < 0 ? -EFAULT : 0;
}

long sock_ioctl_common(struct socket *s, unsigned long cmd, unsigned long arg)
{
	switch (cmd) {
	case SIOCGIFCONF:
		net_wait_configured();      /* AF_UNIX too: no half-configured eth0 */
		return ifconf(arg);
	case SIOCGIFADDR: case SIOCGIFDSTADDR: case SIOCGIFBRDADDR: case SIOCGIFNETMASK:
		/* IPv4 addresses: AF_INET sockets only (Linux's devinet ioctls) */
		if (s->family != AF_INET)
			break;
		return ifreq_ioctl(cmd, arg);
	case SIOCGIFNAME: case SIOCGIFFLAGS: case SIOCGIFMETRIC: case SIOCGIFMTU:
	case SIOCGIFHWADDR: case SIOCGIFINDEX: case SIOCGIFTXQLEN:
		net_wait_configured();
		return ifreq_ioctl(cmd, arg);
	}
	long r = s->ops->ioctl ? s->ops->ioctl(s, cmd, arg) : -ENOTTY;
	if (r == -ENOTTY && (cmd == SIOCGSTAMP || cmd == SIOCGSTAMPNS))
		r = -ENOENT;
	return r;
}

/* --- SOL_SOCKET options ---------------------------------------------------- */

#define SO_DEBUG        1
#define SO_REUSEADDR    2
#define SO_TYPE         3
#define SO_ERROR        4
#define SO_DONTROUTE    5
#define SO_BROADCAST    6
#define SO_SNDBUF       7
#define SO_RCVBUF       8
#define SO_KEEPALIVE    9
#define SO_OOBINLINE    10
#define SO_NO_CHECK     11
#define SO_PRIORITY     12
#define SO_LINGER       13
#define SO_BSDCOMPAT    14
#define SO_REUSEPORT    15
#define SO_PASSCRED     16
#define SO_PEERCRED     17
#define SO_RCVLOWAT     18
#define SO_SNDLOWAT     19
#define SO_RCVTIMEO_OLD 20
#define SO_SNDTIMEO_OLD 21
#define SO_BINDTODEVICE 25
#define SO_TIMESTAMP_OLD 29
#define SO_ACCEPTCONN   30
#define SO_SNDBUFFORCE  32
#define SO_RCVBUFFORCE  33
#define SO_TIMESTAMPNS_OLD 35
#define SO_MARK         36
#define SO_TIMESTAMPING_OLD 37
#define SO_PROTOCOL     38
#define SO_DOMAIN       39
#define SO_RXQ_OVFL     40
#define SO_INCOMING_CPU 49
#define SO_COOKIE       57
#define SO_BINDTOIFINDEX 62
#define SO_TIMESTAMP_NEW 63
#define SO_TIMESTAMPNS_NEW 64
#define SO_TIMESTAMPING_NEW 65
#define SO_RCVTIMEO_NEW 66
#define SO_SNDTIMEO_NEW 67

#define SOCK_MAX_BUF 212992         /* net.core.{r,w}mem_max */
#define SOCK_MIN_SNDBUF 4608
#define SOCK_MIN_RCVBUF 2304

struct timeval_k {
	int64_t sec, usec;
};

static int set_timeo(uint64_t *t, const void *val, size_t len)
{
	struct timeval_k tv;
	if (len < sizeof(tv))
		return -EINVAL;
	memcpy(&tv, val, sizeof(tv));
	if (tv.usec < 0 || tv.usec >= 1000000)
		return -EDOM;
	if (tv.sec < 0) {
		WRITE_ONCE(*t, 1);      /* Linux: a zero timeout, immediate EAGAIN */
		return 0;
	}
	uint64_t ns;
	if ((uint64_t)tv.sec > UINT64_MAX / 2000000000ull)
		ns = 0;                 /* huge: no timeout */
	else
		ns = (uint64_t)tv.sec * 1000000000ull + (uint64_t)tv.usec * 1000;
	WRITE_ONCE(*t, ns);
	return 0;
}

static void get_timeo(uint64_t t, struct timeval_k *tv)
{
	tv->sec = (int64_t)(t / 1000000000ull);
	tv->usec = (int64_t)(t % 1000000000ull) / 1000;
}

/* setsockopt(SOL_SOCKET): the value is a kernel copy of len bytes. */
int sock_setsockopt_common(struct socket *s, int name, const void *val, size_t len)
{
	int v = 0;
	if (name == SO_BINDTODEVICE) {
		char ifname[IFNAMSIZ] = { 0 };
		memcpy(ifname, val, MIN(len, sizeof(ifname) - 1));
		if (ifname[0] && !netif_find(ifname))
			return -ENODEV;
		memcpy(container_of(s, struct sock_full, s)->bind_dev, ifname, sizeof(ifname));
		return 0;
	}
	if (len < sizeof(int))
		return -EINVAL;
	memcpy(&v, val, sizeof(v));
	bool on = v != 0;
	struct sock_full *sf = container_of(s, struct sock_full, s);
	int slot = gen_slot(name);
	if (slot >= 0) {
		if (name == 60 && s->family != AF_INET)
			return -EOPNOTSUPP;     /* SO_ZEROCOPY: TCP and UDP only */
		sf->flags_opt[slot] = v;
		return 0;
	}
	if (name == 47) {               /* SO_MAX_PACING_RATE: 32 or 64 bits */
		uint64_t r = (uint32_t)v;
		if (len >= sizeof(uint64_t))
			memcpy(&r, val, sizeof(r));
		sf->pacing = r;
		return 0;
	}
	if (name == 70)                 /* SO_BUSY_POLL_BUDGET: set only */
		return 0;
	switch (name) {
	case 42:                        /* SO_PEEK_OFF: peek offsets not kept */
		return -EOPNOTSUPP;
	case 61:                        /* SO_TXTIME: struct sock_txtime, no effect */
		return len < 8 ? -EINVAL : 0;
	case 55: case 59: case 71:      /* SO_MEMINFO, SO_PEERGROUPS, SO_NETNS_COOKIE: read-only */
		return -ENOPROTOOPT;
	}
	bool pass = true;           /* the family may care */
	switch (name) {
	case SO_DEBUG:
	case SO_DONTROUTE:
	case SO_NO_CHECK:
	case SO_BSDCOMPAT:
	case SO_TIMESTAMP_OLD: case SO_TIMESTAMPNS_OLD: case SO_TIMESTAMPING_OLD:
	case SO_TIMESTAMP_NEW: case SO_TIMESTAMPNS_NEW: case SO_TIMESTAMPING_NEW:
		pass = false;           /* accepted, no effect */
		break;
	case SO_REUSEADDR:
		s->reuseaddr = on;
		break;
	case SO_REUSEPORT:
		if (on && s->family != AF_INET)
			return -EOPNOTSUPP;
		s->reuseport = on;
		break;
	case SO_KEEPALIVE:
		s->keepalive = on;
		break;
	case SO_BROADCAST:
		s->broadcast = on;
		break;
	case SO_OOBINLINE:
		s->oobinline = on;
		break;
	case SO_PASSCRED:
		s->passcred = on;
		break;
	case SO_SNDBUF:
	case SO_SNDBUFFORCE: {
		uint32_t u = (uint32_t)v;
		if (name == SO_SNDBUF && u > SOCK_MAX_BUF)
			u = SOCK_MAX_BUF;
		if (u > INT32_MAX / 2)
			u = INT32_MAX / 2;
		WRITE_ONCE(s->sndbuf, MAX((int)(u * 2), SOCK_MIN_SNDBUF));
		break;
	}
	case SO_RCVBUF:
	case SO_RCVBUFFORCE: {
		uint32_t u = (uint32_t)v;
		if (name == SO_RCVBUF && u > SOCK_MAX_BUF)
			u = SOCK_MAX_BUF;
		if (u > INT32_MAX / 2)
			u = INT32_MAX / 2;
		WRITE_ONCE(s->rcvbuf, MAX((int)(u * 2), SOCK_MIN_RCVBUF));
		break;
	}
	case SO_PRIORITY:
		s->priority = v;
		break;
	case SO_MARK:
		s->mark = v;
		break;
	case SO_RCVLOWAT:
		WRITE_ONCE(s->rcvlowat, v < 0 ? INT32_MAX : v ? v : 1);
		break;
	case SO_LINGER: {
		int32_t l[2];
		if (len < sizeof(l))
			return -EINVAL;
		memcpy(l, val, sizeof(l));
		s->linger_on = l[0] != 0;
		s->linger_s = l[1] < 0 ? 0 : l[1];
		break;
	}
	case SO_RCVTIMEO_OLD:
	case SO_RCVTIMEO_NEW: {
		int r = set_timeo(&s->rcvtimeo_ns, val, len);
		if (r)
			return r;
		pass = false;
		break;
	}
	case SO_SNDTIMEO_OLD:
	case SO_SNDTIMEO_NEW: {
		int r = set_timeo(&s->sndtimeo_ns, val, len);
		if (r)
			return r;
		pass = false;
		break;
	}
	case SO_BINDTOIFINDEX:
		if (v && !sock_ifbyindex(v))
			return -ENODEV;
		pass = false;
		break;
	default:
		/* read-only (SO_TYPE, SO_ERROR, SO_PEERCRED...) or unknown:
		 * the family's, or ENOPROTOOPT. */
		return s->ops->setsockopt ? s->ops->setsockopt(s, SOL_SOCKET, name, val, len)
					  : -ENOPROTOOPT;
	}
	if (pass && s->ops->setsockopt) {
		int r = s->ops->setsockopt(s, SOL_SOCKET, name, val, len);
		if (r != -ENOPROTOOPT && r != 0)
			return r;
	}
	return 0;
}

static uint64_t sock_cookie(struct socket *s)
{
	return (uint64_t)(uintptr_t)s >> 4;
}

/* getsockopt(SOL_SOCKET): fills val (room: *len, at least 256 bytes of
 * buffer), *len becomes the bytes to copy out (Linux copies a truncated
 * int when the caller's length is short). */
int sock_getsockopt_common(struct socket *s, int name, void *val, size_t *len)
{
	int v;
	size_t lv = sizeof(int);
	struct sock_full *sf = container_of(s, struct sock_full, s);
	int slot = gen_slot(name);
	if (slot >= 0) {
		v = sf->flags_opt[slot];
		memcpy(val, &v, sizeof(v));
		goto out;
	}
	switch (name) {
	case SO_DEBUG: case SO_DONTROUTE: case SO_NO_CHECK: case SO_BSDCOMPAT:
	case SO_TIMESTAMP_OLD: case SO_TIMESTAMPNS_OLD: case SO_TIMESTAMPING_OLD:
	case SO_TIMESTAMP_NEW: case SO_TIMESTAMPNS_NEW: case SO_TIMESTAMPING_NEW:
	case SO_BINDTOIFINDEX:
		v = 0;
		break;
	case 47: {                      /* SO_MAX_PACING_RATE */
		if (*len >= sizeof(uint64_t)) {
			lv = sizeof(uint64_t);
			memcpy(val, &sf->pacing, lv);
			goto out;
		}
		v = (int)(uint32_t)MIN(sf->pacing, (uint64_t)UINT32_MAX);
		break;
	}
	case 42:                        /* SO_PEEK_OFF */
		return -EOPNOTSUPP;
	case 61: {                      /* SO_TXTIME: none set */
		uint64_t z = 0;
		lv = MIN(*len, sizeof(z));
		memcpy(val, &z, lv);
		goto out;
	}
	case 55: {                      /* SO_MEMINFO: nothing allocated, the buffers */
		uint32_t mi[9] = { 0, (uint32_t)s->rcvbuf, 0, (uint32_t)s->sndbuf, 0, 0, 0, 0, 0 };
		lv = MIN(*len, sizeof(mi));
		memcpy(val, mi, lv);
		goto out;
	}
	case 59: {                      /* SO_PEERGROUPS: the peer has no supplementary groups */
		uint8_t tmp[SOCKADDR_MAX];
		size_t tl = sizeof(tmp);
		if (s->family == AF_UNIX && (sock_is_listening(s) ||
		    (s->ops->getname && s->ops->getname(s, tmp, &tl, true) == 0))) {
			*len = 0;
			return 0;
		}
		return -ENODATA;
	}
	case 71: {                      /* SO_NETNS_COOKIE: the one namespace */
		uint64_t c = 1;
		if (*len < sizeof(c))
			return -EINVAL;
		lv = sizeof(c);
		memcpy(val, &c, lv);
		goto out;
	}
	case SO_REUSEADDR: v = s->reuseaddr; break;
	case SO_REUSEPORT: v = s->reuseport; break;
	case SO_KEEPALIVE: v = s->keepalive; break;
	case SO_BROADCAST: v = s->broadcast; break;
	case SO_OOBINLINE: v = s->oobinline; break;
	case SO_PASSCRED: v = s->passcred; break;
	case SO_TYPE: v = s->type; break;
	case SO_DOMAIN: v = s->family; break;
	case SO_PROTOCOL: v = s->protocol; break;
	case SO_ACCEPTCONN: v = sock_is_listening(s); break;
	case SO_SNDBUF: v = s->sndbuf; break;
	case SO_RCVBUF: v = s->rcvbuf; break;
	case SO_PRIORITY: v = s->priority; break;
	case SO_MARK: v = s->mark; break;
	case SO_RCVLOWAT: v = s->rcvlowat; break;
	case SO_SNDLOWAT: v = 1; break;
	case SO_ERROR:
		v = __atomic_exchange_n(&s->error, 0, __ATOMIC_ACQ_REL);
		break;
	case SO_LINGER: {
		int32_t l[2] = { s->linger_on, s->linger_s };
		lv = sizeof(l);
		memcpy(val, l, lv);
		goto out;
	}
	case SO_RCVTIMEO_OLD: case SO_RCVTIMEO_NEW:
	case SO_SNDTIMEO_OLD: case SO_SNDTIMEO_NEW: {
		struct timeval_k tv;
		uint64_t t = (name == SO_RCVTIMEO_OLD || name == SO_RCVTIMEO_NEW)
			     ? s->rcvtimeo_ns : s->sndtimeo_ns;
		get_timeo(t, &tv);
		lv = sizeof(tv);
		memcpy(val, &tv, lv);
		goto out;
	}
	case SO_PEERCRED: {
		/* The peer's credentials: a connected or listening AF_UNIX
		 * socket has them (the one process, root); others none. */
		struct ucred_k c = { 0, (uint32_t)-1, (uint32_t)-1 };
		uint8_t tmp[SOCKADDR_MAX];
		size_t tl = sizeof(tmp);
		if (s->family == AF_UNIX && (sock_is_listening(s) ||
		    (s->ops->getname && s->ops->getname(s, tmp, &tl, true) == 0)))
			c = (struct ucred_k){ 1, 0, 0 };
		lv = sizeof(c);
		memcpy(val, &c, lv);
		goto out;
	}
	case SO_COOKIE: {
		uint64_t c = sock_cookie(s);
		lv = sizeof(c);
		if (*len < lv)
			return -EINVAL;
		memcpy(val, &c, lv);
		goto out;
	}
	case SO_BINDTODEVICE: {
		const char *d = container_of(s, struct sock_full, s)->bind_dev;
		size_t n = strlen(d);
		if (!n) {
			*len = 0;
			return 0;
		}
		if (*len < n + 1)
			return -EINVAL;
		memcpy(val, d, n + 1);
		*len = n + 1;
		return 0;
	}
	default:
		return s->ops->getsockopt ? s->ops->getsockopt(s, SOL_SOCKET, name, val, len)
					  : -ENOPROTOOPT;
	}
	memcpy(val, &v, sizeof(v));
out:
	if (*len > lv)
		*len = lv;
	return 0;
}
