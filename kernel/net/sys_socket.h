/*
 * Socket-layer internals shared by the families in kernel/net (socket.c,
 * unix.c, udp.c, netlink.c): ancillary data (cmsg) helpers, interface
 * indexes and flags as the ioctls and netlink report them, and the
 * AF_UNIX pair maker socketpair() calls. Not part of the contract
 * (net/socket.h): TCP need not use it.
 */
#pragma once
#include "net/socket.h"
#include "net/netif.h"

/* struct cmsghdr (x86-64): 16 bytes, data 8-aligned. */
struct cmsg_k {
	uint64_t len;              /* header + data */
	int32_t level, type;
};
#define CMSG_HDR 16u
#define CMSG_ALIGN8(n) (((n) + 7) & ~(size_t)7)
#define CMSG_SPACE_K(n) (CMSG_HDR + CMSG_ALIGN8(n))
#define SCM_RIGHTS      1
#define SCM_CREDENTIALS 2
#define SCM_MAX_FD      253        /* fds per SCM_RIGHTS message, as Linux */

/* Walks the control buffer of a send: the first/next well-formed header,
 * NULL at the end. *err becomes -EINVAL for a malformed one (length
 * smaller than the header or running past the buffer), as Linux's
 * CMSG_OK check. */
const struct cmsg_k *cmsg_next(const struct sock_msg *m, const struct cmsg_k *prev, int *err);
/* Appends a message to the control buffer of a receive (m->control,
 * room in *room, used in m->control_len): false and MSG_CTRUNC when it
 * does not fit (a truncated header is not written). */
bool cmsg_put(struct sock_msg *m, size_t room, int level, int type, const void *data, size_t len);

/* struct ucred of SO_PEERCRED / SCM_CREDENTIALS: one process, root. */
struct ucred_k {
	int32_t pid;
	uint32_t uid, gid;
};

/* Interface indexes as ioctls and netlink number them: loopback
 * interfaces first (lo is 1, as on Linux), then the NICs in order. */
int sock_ifindex(const struct netif *nif);
struct netif *sock_ifbyindex(int index);
bool sock_if_is_loopback(const struct netif *nif);
/* IFF_* flags of an interface (UP, BROADCAST, LOOPBACK, RUNNING, ...). */
unsigned sock_if_flags(const struct netif *nif);
#define IFF_UP          0x1
#define IFF_BROADCAST   0x2
#define IFF_LOOPBACK    0x8
#define IFF_RUNNING     0x40
#define IFF_MULTICAST   0x1000
#define IFF_LOWER_UP    0x10000

/* The socket layer's own state beside struct socket (socket.c). */
bool sock_is_listening(struct socket *s);

/* AF_UNIX (unix.c): connects two fresh sockets of the family's type. */
int unix_socketpair(struct socket *a, struct socket *b);
/* AF_NETLINK (netlink.c) and AF_UNIX, AF_INET (inet.c) families. */
int unix_create(struct socket *s, int type, int protocol, bool kern);
int inet_create(struct socket *s, int type, int protocol, bool kern);
int netlink_create(struct socket *s, int type, int protocol, bool kern);

/* --- socket.c, for sys_socket.c --- */
sock_create_fn sock_family(int family);
void sock_set_listening(struct socket *s);
/* -EINTR of a call on a socket with a timeout becomes a no-restart code. */
long sock_intr(struct socket *s, long r, bool rcv);
/* SIGPIPE for -EPIPE from a stream unless MSG_NOSIGNAL. */
void sock_epipe(struct socket *s, long r, int flags);
/* A message with no name and no ancillary data over u (name[] is left
 * as it is: only namelen counts). */
static inline void sock_msg_init(struct sock_msg *m, struct uio *u)
{
	m->namelen = 0;
	m->uio = u;
	m->control = NULL;
	m->control_len = 0;
	m->msg_flags = 0;
}
/* Every data transfer through a socket's ops (read/write, send*, recv*):
 * the family's sendmsg/recvmsg (-EOPNOTSUPP without one), then SIGPIPE
 * (send) and the restart rule of sock_intr. */
long sock_sendmsg(struct socket *s, struct sock_msg *m, int flags);
long sock_recvmsg(struct socket *s, struct sock_msg *m, int flags);
/* A file carrying s (takes over the reference; releases s on failure). */
struct file *sock_file_new(struct socket *s, int flags);
long sock_ioctl_common(struct socket *s, unsigned long cmd, unsigned long arg);
int sock_setsockopt_common(struct socket *s, int name, const void *val, size_t len);
int sock_getsockopt_common(struct socket *s, int name, void *val, size_t *len);
