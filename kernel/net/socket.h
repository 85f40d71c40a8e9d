/*
 * Sockets: the Linux socket ABI on top of per-family protocol code.
 *
 * kernel/net/socket.c owns the syscalls (socket, bind, connect, listen,
 * accept4, send*, recv*, shutdown, get/setsockopt, getsockname,
 * getpeername, socketpair), the file that carries a socket (read, write,
 * poll, ioctl, release go to the socket's ops), the options every family
 * shares (SOL_SOCKET), sockaddr copying and the blocking rules. A family
 * (AF_INET: udp.c and tcp_sock.c; AF_UNIX: unix.c; AF_NETLINK: netlink.c)
 * registers a create function and fills sock->ops.
 *
 * Addresses reach the ops already copied into the kernel (struct
 * sockaddr_storage-sized buffers); data stays in the caller's uio: an op
 * copies with uio_copy_in/out outside net_lock (user copies may fault).
 *
 * Blocking: an op blocks on sock->ph.wq (the pollhead's wait queue) with
 * sock_wait(), honouring sock_nonblock(sock, msg_flags) (-EAGAIN) and the
 * SO_RCVTIMEO/SO_SNDTIMEO deadlines (sock_rcv_deadline...). Waits are
 * interruptible: -EINTR, turned into -ERESTARTSYS-style restarts by the
 * syscall layer where Linux restarts them (SA_RESTART). Protocol code
 * changes the socket's state, then calls sock_wake(sock, EPOLL*), which
 * wakes blocked threads and poll/epoll listeners.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "fs/poll.h"
#include "fs/vfs.h"
#include "sched/sync.h"

/* Linux values */
#define AF_UNSPEC  0
#define AF_UNIX    1
#define AF_INET    2
#define AF_INET6   10
#define AF_NETLINK 16
#define AF_PACKET  17

#define SOCK_STREAM    1
#define SOCK_DGRAM     2
#define SOCK_RAW       3
#define SOCK_SEQPACKET 5
#define SOCK_TYPE_MASK 0xf
#define SOCK_NONBLOCK  0x800
#define SOCK_CLOEXEC   0x80000

#define MSG_OOB       0x1
#define MSG_PEEK      0x2
#define MSG_DONTROUTE 0x4
#define MSG_CTRUNC    0x8
#define MSG_TRUNC     0x20
#define MSG_DONTWAIT  0x40
#define MSG_EOR       0x80
#define MSG_WAITALL   0x100
#define MSG_NOSIGNAL  0x4000
#define MSG_MORE      0x8000
#define MSG_WAITFORONE 0x10000
#define MSG_CMSG_CLOEXEC 0x40000000

#define SHUT_RD   0
#define SHUT_WR   1
#define SHUT_RDWR 2

#define SOL_SOCKET 1
#define SOL_IP     0
#define SOL_TCP    6
#define SOL_UDP    17

/* Sockets' address buffers: as big as struct sockaddr_storage. */
#define SOCKADDR_MAX 128

struct sockaddr_in_k {         /* struct sockaddr_in, network order inside */
	uint16_t family;
	uint16_t port;             /* network order */
	uint32_t addr;             /* network order */
	uint8_t zero[8];
};

/* A message as the ops see it: the name (kernel copy), the data (the
 * caller's uio) and ancillary data (kernel copies; SCM_RIGHTS for
 * AF_UNIX). recvmsg fills name/namelen (namelen 0: none), control_len
 * (bytes written) and msg_flags (MSG_TRUNC, MSG_CTRUNC). */
struct sock_msg {
	uint8_t name[SOCKADDR_MAX];
	size_t namelen;
	struct uio *uio;
	void *control;             /* kernel buffer or NULL */
	size_t control_len;        /* in: room; out: used */
	int msg_flags;
};

struct socket;
struct sock_ops {
	int (*bind)(struct socket *s, const void *addr, size_t len);
	/* Blocking unless nonblock (then -EINPROGRESS for TCP). */
	int (*connect)(struct socket *s, const void *addr, size_t len, bool nonblock);
	int (*listen)(struct socket *s, int backlog);
	/* The new socket is created by the op (sock_alloc) and returned. */
	int (*accept)(struct socket *s, struct socket **out, bool nonblock);
	/* Bytes sent/received or -errno; flags are MSG_*. -EPIPE from a
	 * stream makes the socket layer raise SIGPIPE unless MSG_NOSIGNAL. */
	ssize_t (*sendmsg)(struct socket *s, struct sock_msg *m, int flags);
	ssize_t (*recvmsg)(struct socket *s, struct sock_msg *m, int flags);
	int (*shutdown)(struct socket *s, int how);
	/* peer: getpeername (-ENOTCONN when none). *len in: room, out: size. */
	int (*getname)(struct socket *s, void *addr, size_t *len, bool peer);
	/* Options other than the SOL_SOCKET ones socket.c handles itself; it
	 * also passes those SOL_SOCKET ones a protocol cares about
	 * (SO_RCVBUF, SO_SNDBUF, SO_KEEPALIVE, SO_LINGER...) after storing
	 * them. val is a kernel copy. -ENOPROTOOPT when unknown. */
	int (*setsockopt)(struct socket *s, int level, int name, const void *val, size_t len);
	int (*getsockopt)(struct socket *s, int level, int name, void *val, size_t *len);
	uint32_t (*poll)(struct socket *s, struct poll_table *pt);
	/* FIONREAD/SIOCINQ, SIOCOUTQ, ...; -ENOTTY when unknown (socket.c
	 * handles FIONBIO, FIOASYNC and the SIOCGIF* interface ioctls). */
	long (*ioctl)(struct socket *s, unsigned long cmd, unsigned long arg);
	/* The last file reference went: close (TCP: FIN or RST per
	 * SO_LINGER, then the connection lives on until it is done) and
	 * drop the socket's reference with sock_put. */
	void (*release)(struct socket *s);
};

struct socket {
	int refs;                  /* atomic; sock_get/sock_put */
	int family, type, protocol;
	const struct sock_ops *ops;
	struct file *file;         /* NULL until installed, and after release */
	struct pollhead ph;        /* readiness and blocking */
	void *pcb;                 /* the protocol's state */

	/* SOL_SOCKET options, stored by socket.c */
	int sndbuf, rcvbuf;        /* bytes; Linux's defaults (TCP reports its own, see tcp.h) */
	uint64_t rcvtimeo_ns, sndtimeo_ns;   /* 0: none */
	int rcvlowat;
	bool reuseaddr, reuseport, keepalive, broadcast, oobinline, passcred;
	bool linger_on;
	int linger_s;
	int priority, mark;
	int error;                 /* SO_ERROR: pending asynchronous error (positive errno) */
	void (*destroy)(struct socket *s);   /* frees pcb at the last sock_put */
};

/* A new socket with one reference, defaults set, pollhead ready. */
struct socket *sock_alloc(int family, int type, int protocol);
void sock_get(struct socket *s);
void sock_put(struct socket *s);
/* Installs s as a new fd (takes over the caller's reference). fd or -errno. */
int sock_install(struct socket *s, int flags /* SOCK_NONBLOCK|SOCK_CLOEXEC */);

typedef int (*sock_create_fn)(struct socket *s, int type, int protocol, bool kern);
/* At boot; families not registered get EAFNOSUPPORT. */
void sock_register_family(int family, sock_create_fn create);

/* True when this call must not block: O_NONBLOCK on the file or
 * MSG_DONTWAIT in the call's flags. */
bool sock_nonblock(struct socket *s, int msg_flags);
/* Absolute deadlines for blocking calls (TIME_FOREVER without a timeout). */
uint64_t sock_rcv_deadline(struct socket *s);
uint64_t sock_snd_deadline(struct socket *s);
/* Wakes threads blocked on s and its poll/epoll listeners (any context). */
void sock_wake(struct socket *s, uint32_t events);

/* Waits until cond holds (evaluated with the pollhead's wait-queue lock
 * held: protocol code changes the state before sock_wake, so a racy read
 * of a field is enough). 0, -EAGAIN (nonblock), -ETIMEDOUT turned into
 * -EAGAIN as Linux does for SO_RCVTIMEO, or -EINTR. */
#define sock_wait(s, cond, nonblock, deadline) ({                           \
	int r__ = 0;                                                        \
	if (!(cond)) {                                                      \
		if (nonblock)                                               \
			r__ = -EAGAIN;                                      \
		else {                                                      \
			r__ = wq_wait_event(&(s)->ph.wq, (cond), (deadline), \
					    WQ_INTERRUPTIBLE);              \
			if (r__ == -ETIMEDOUT)                              \
				r__ = -EAGAIN;                              \
		}                                                           \
	}                                                                   \
	r__;                                                                \
})

/* The socket behind an fd, with a reference; -EBADF / -ENOTSOCK. */
struct socket *sock_from_fd(int fd, int *err);
/* The socket of a file, or NULL when it is not one. */
struct socket *sock_of_file(struct file *f);

/* AF_INET sockaddr helpers (addresses and ports in host order). */
int sockaddr_in_parse(const void *addr, size_t len, uint32_t *ip, uint16_t *port);
size_t sockaddr_in_fill(void *addr, uint32_t ip, uint16_t port);

void socket_init(void);   /* registers the families; called from net_init */

/* AF_INET (inet.c) hands SOCK_STREAM sockets to TCP (tcp_sock.c) and
 * SOCK_DGRAM ones to UDP (udp.c): they fill s->ops and s->pcb. */
int tcp_sock_create(struct socket *s, int protocol);
int udp_sock_create(struct socket *s, int protocol);
