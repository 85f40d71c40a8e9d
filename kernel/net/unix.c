/*
 * AF_UNIX sockets: SOCK_STREAM, SOCK_DGRAM (SOCK_RAW is taken as DGRAM,
 * as Linux does) and SOCK_SEQPACKET.
 *
 * Data moves as messages (struct unix_skb) queued on the receiver: the
 * sender copies from its uio into a fresh message outside any lock, then
 * links it under unix_lock; the receiver, holding its socket's reader
 * mutex (so nobody else consumes its queue), copies out of the head
 * message with unix_lock dropped. A stream read may span messages; a
 * datagram/seqpacket read takes one.
 *
 * Connections follow Linux: connect() to a listener makes the server's
 * socket at once (an "embryo" queued for accept), so the client may write
 * before accept. Shutdown is mirrored on the peer (SHUT_WR here is
 * SHUT_RD there); closing sets the peer's shutdown to both directions and,
 * when the closing side left data unread (or was never accepted), the
 * peer's pending error to ECONNRESET.
 *
 * Names: a path bind creates an S_IFSOCK node in the file system and the
 * socket keeps a reference on its inode: connect looks the path up and
 * finds the socket bound to that inode. Removing the path removes the
 * name only. Abstract names (leading NUL) live in a list here. Flow
 * control: a sender waits while the receiver's queue holds more than
 * the sender's SO_SNDBUF (stream, seqpacket) or the receiver's SO_RCVBUF
 * (datagrams).
 *
 * Locking: one spinlock (unix_lock) for all AF_UNIX state; never held
 * across user copies, sleeps, file operations or the VFS.
 */
#include "net/sys_socket.h"
#include "fs/namei.h"
#include "fs/deps.h"
#include "sched/spinlock.h"
#include "sched/thread.h"
#include "mm/heap.h"
#include "lib/string.h"
#include "lib/printf.h"
#include "errno.h"

#define UNIX_PATH_MAX 108
#define SUN_OFF 2                       /* offsetof(struct sockaddr_un, sun_path) */
#define SUN_LEN_MAX (SUN_OFF + UNIX_PATH_MAX)
#define UNIX_CHUNK (65536 - 256)        /* stream bytes per message: a 64 KiB block */

#define RCV_SHUTDOWN 1
#define SEND_SHUTDOWN 2

enum { U_UNCONN, U_LISTEN, U_CONNECTED };

struct unix_skb {
	struct list node;
	size_t len, off;                /* data bytes; consumed (stream) */
	struct file **fds;              /* SCM_RIGHTS in flight, or NULL */
	int nfds;
	uint8_t alen;                   /* sender's address (datagrams), 0: none */
	uint8_t *addr;
	uint8_t *data;
};

struct unix_sock {
	struct socket *s;
	int state;
	int shut;                       /* RCV_SHUTDOWN | SEND_SHUTDOWN */
	bool dead;                      /* released */
	bool embryo;                    /* made by connect, not accepted yet */
	struct unix_sock *peer;         /* holds a reference on peer->s */
	uint8_t addr[SUN_LEN_MAX];
	size_t alen;                    /* 0: unbound */
	struct inode *inode;            /* path bind: referenced */
	struct list all;                /* every socket, for /proc/net/unix */
	struct list named;              /* bound sockets */
	struct list rq;                 /* struct unix_skb */
	size_t rq_bytes;
	unsigned rq_count;
	struct list acceptq;            /* embryos (struct unix_sock via .named_acc) */
	struct list acc_node;
	unsigned nacc;
	int backlog;
	struct mutex rlock;             /* one reader at a time */
};

static spinlock_t unix_lock = SPINLOCK_INIT;
static struct list unix_all = LIST_INIT(unix_all);
static struct list unix_named = LIST_INIT(unix_named);
static unsigned unix_autobind_next;

static const struct sock_ops unix_stream_ops, unix_dgram_ops, unix_seqpacket_ops;

#define list_first_entry(l, type, member) list_entry((l)->next, type, member)
#define list_for_each(pos, head) \
	for (struct list *pos = (head)->next; pos != (head); pos = pos->next)

/* Moves every node of src to the (empty) list dst. */
static void list_move_all(struct list *dst, struct list *src)
{
	list_init(dst);
	if (list_empty(src))
		return;
	dst->next = src->next;
	dst->prev = src->prev;
	dst->next->prev = dst;
	dst->prev->next = dst;
	list_init(src);
}

static inline struct unix_sock *us(struct socket *s)
{
	return s->pcb;
}

static uint64_t ulock(void)
{
	return spin_lock_irqsave(&unix_lock);
}

static void uunlock(uint64_t f)
{
	spin_unlock_irqrestore(&unix_lock, f);
}

/* --- messages ------------------------------------------------------------------ */

static struct unix_skb *skb_new(size_t len, const uint8_t *addr, size_t alen)
{
	struct unix_skb *b = kmalloc(sizeof(*b) + alen + len);
	if (!b)
		return NULL;
	b->len = len;
	b->off = 0;
	b->fds = NULL;
	b->nfds = 0;
	b->alen = (uint8_t)alen;
	b->addr = (uint8_t *)(b + 1);
	b->data = b->addr + alen;
	if (alen)
		memcpy(b->addr, addr, alen);
	return b;
}

static void fds_put(struct file **fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i])
			file_put(fds[i]);
	kfree(fds);
}

/* No locks held: dropping in-flight files may release sockets. */
static void skb_free(struct unix_skb *b)
{
	if (b->fds)
		fds_put(b->fds, b->nfds);
	kfree(b);
}

static void skb_list_free(struct list *l)
{
	while (!list_empty(l)) {
		struct unix_skb *b = list_first_entry(l, struct unix_skb, node);
		list_remove(&b->node);
		skb_free(b);
	}
}

/* --- creation and teardown ------------------------------------------------------- */

static void unix_destroy(struct socket *s)
{
	kfree(s->pcb);
	s->pcb = NULL;
}

static struct unix_sock *unix_pcb_new(struct socket *s)
{
	struct unix_sock *u = kzalloc(sizeof(*u));
	if (!u)
		return NULL;
	u->s = s;
	list_init(&u->rq);
	list_init(&u->acceptq);
	list_init(&u->named);
	list_init(&u->acc_node);
	mutex_init(&u->rlock);
	s->pcb = u;
	s->destroy = unix_destroy;
	s->ops = s->type == SOCK_STREAM ? &unix_stream_ops
	       : s->type == SOCK_SEQPACKET ? &unix_seqpacket_ops : &unix_dgram_ops;
	uint64_t f = ulock();
	list_push_back(&unix_all, &u->all);
	uunlock(f);
	return u;
}

int unix_create(struct socket *s, int type, int protocol, bool kern)
{
	(void)kern;
	if (protocol && protocol != AF_UNIX)
		return -EPROTONOSUPPORT;
	if (type == SOCK_RAW)
		type = SOCK_DGRAM;
	if (type != SOCK_STREAM && type != SOCK_DGRAM && type != SOCK_SEQPACKET)
		return -ESOCKTNOSUPPORT;
	s->type = type;
	return unix_pcb_new(s) ? 0 : -ENOMEM;
}

static void unix_release_sock(struct unix_sock *u);

/* Tears u down (its file is gone, or it is an embryo nobody accepted) and
 * drops the reference its owner held. */
static void unix_release_sock(struct unix_sock *u)
{
	struct list rq, acc;
	list_init(&rq);
	list_init(&acc);
	uint64_t f = ulock();
	u->dead = true;
	u->shut = RCV_SHUTDOWN | SEND_SHUTDOWN;
	list_remove(&u->all);
	if (!list_empty(&u->named))
		list_remove(&u->named);
	list_init(&u->named);
	struct unix_sock *peer = u->peer;
	u->peer = NULL;
	bool unread = !list_empty(&u->rq) || u->embryo;
	if (peer && u->s->type != SOCK_DGRAM) {
		peer->shut = RCV_SHUTDOWN | SEND_SHUTDOWN;
		if (unread)
			peer->s->error = ECONNRESET;
	}
	list_move_all(&rq, &u->rq);
	u->rq_bytes = 0;
	u->rq_count = 0;
	list_move_all(&acc, &u->acceptq);
	u->nacc = 0;
	struct inode *ino = u->inode;
	u->inode = NULL;
	uunlock(f);

	sock_wake(u->s, 0);
	if (peer) {
		sock_wake(peer->s, EPOLLIN | EPOLLOUT | EPOLLHUP | EPOLLRDHUP | EPOLLERR);
		sock_put(peer->s);
	}
	while (!list_empty(&acc)) {
		struct unix_sock *e = list_first_entry(&acc, struct unix_sock, acc_node);
		list_remove(&e->acc_node);
		list_init(&e->acc_node);
		unix_release_sock(e);
	}
	skb_list_free(&rq);
	if (ino)
		vfs_iput(ino);
	sock_put(u->s);
}

static void unix_release(struct socket *s)
{
	unix_release_sock(us(s));
}

/* --- names --------------------------------------------------------------------- */

/* Checks a sockaddr_un for bind/connect and brings a path to its
 * canonical length (up to and with its NUL). -EINVAL when malformed. */
static int unix_addr_check(const void *addr, size_t len, uint8_t *out, size_t *olen)
{
	if (len <= SUN_OFF || len > SUN_LEN_MAX)
		return -EINVAL;
	const uint8_t *a = addr;
	if (*(const uint16_t *)a != AF_UNIX)
		return -EINVAL;
	memcpy(out, a, len);
	if (out[SUN_OFF]) {
		size_t n = strnlen((const char *)out + SUN_OFF, len - SUN_OFF);
		if (n == UNIX_PATH_MAX)
			return -EINVAL;     /* no room for the NUL Linux adds */
		out[SUN_OFF + n] = 0;
		len = SUN_OFF + n + 1;
	}
	*olen = len;
	return 0;
}

static bool is_abstract(const uint8_t *a, size_t len)
{
	return len > SUN_OFF && a[SUN_OFF] == 0;
}

/* The bound socket with abstract name a, unix_lock held. */
static struct unix_sock *find_abstract(const uint8_t *a, size_t len)
{
	list_for_each(n, &unix_named) {
		struct unix_sock *u = list_entry(n, struct unix_sock, named);
		if (!u->inode && u->alen == len && !memcmp(u->addr, a, len))
			return u;
	}
	return NULL;
}

static struct unix_sock *find_inode(struct inode *i)
{
	list_for_each(n, &unix_named) {
		struct unix_sock *u = list_entry(n, struct unix_sock, named);
		if (u->inode == i)
			return u;
	}
	return NULL;
}

/* The socket a name leads to, referenced (sock_put when done):
 * -ENOENT (no such path), -ECONNREFUSED (a path that is not a bound
 * socket, or an abstract name nobody has), -EPROTOTYPE (other type). */
static int find_other(const uint8_t *a, size_t len, int type, struct unix_sock **out)
{
	struct unix_sock *o = NULL;
	if (is_abstract(a, len)) {
		uint64_t f = ulock();
		o = find_abstract(a, len);
		if (o)
			sock_get(o->s);
		uunlock(f);
	} else {
		struct path p;
		int r = vfs_lookup(AT_FDCWD, (const char *)a + SUN_OFF, LOOKUP_FOLLOW, &p);
		if (r < 0)
			return r;
		if (!S_ISSOCK(p.inode->mode)) {
			path_put(&p);
			return -ECONNREFUSED;
		}
		uint64_t f = ulock();
		o = find_inode(p.inode);
		if (o)
			sock_get(o->s);
		uunlock(f);
		path_put(&p);
	}
	if (!o)
		return -ECONNREFUSED;
	if (o->s->type != type) {
		sock_put(o->s);
		return -EPROTOTYPE;
	}
	*out = o;
	return 0;
}

/* Gives u an abstract name "\0xxxxx" (unix_lock held). */
static void autobind_locked(struct unix_sock *u)
{
	if (u->alen)
		return;
	for (;;) {
		uint8_t a[8];
		*(uint16_t *)a = AF_UNIX;
		a[2] = 0;
		char hex[8];
		snprintf(hex, sizeof(hex), "%05x", unix_autobind_next++ & 0xfffff);
		memcpy(a + 3, hex, 5);
		if (find_abstract(a, sizeof(a)))
			continue;
		memcpy(u->addr, a, sizeof(a));
		u->alen = sizeof(a);
		list_push_back(&unix_named, &u->named);
		return;
	}
}

/* Creates the socket node for a path bind: the inode, referenced. */
static int mknod_sock(const char *path, struct unix_sock *u, struct inode **out)
{
	struct nameidata nd;
	struct path dir;
	struct namei_last last;
	vfs_lock();
	int r = namei_start(&nd, AT_FDCWD, path, 0, &dir);
	if (r == 0)
		r = namei_parent(&nd, &dir, path, &last);
	if (r == 0) {
		if (last.len == 0 || last.slash)
			r = -EINVAL;
		else if (!dir.inode->ops->create)
			r = -EPERM;
		else if ((dir.mnt && (dir.mnt->flags & 1)) || (dir.inode->sb && dir.inode->sb->read_only))
			r = -EROFS;
		else if (dir.inode->ops->lookup &&
			 dir.inode->ops->lookup(dir.inode, last.name, last.len, &(struct inode *){ 0 }) == 0)
			r = -EADDRINUSE;
		else if (READ_ONCE(u->alen))
			r = -EINVAL;
		else {
			struct inode *i;
			r = dir.inode->ops->create(dir.inode, last.name, last.len,
						   S_IFSOCK | (0777 & ~vfs_umask()), 0, 0, &i);
			if (r == 0) {
				vfs_iget(i);
				*out = i;
			}
		}
	}
	vfs_unlock();
	return r == -EEXIST ? -EADDRINUSE : r;
}

static int unix_bind(struct socket *s, const void *addr, size_t len)
{
	struct unix_sock *u = us(s);
	if (len < SUN_OFF || *(const uint16_t *)addr != AF_UNIX)
		return -EINVAL;
	if (len == SUN_OFF) {
		uint64_t f = ulock();
		int r = u->alen ? -EINVAL : 0;
		if (!r)
			autobind_locked(u);
		uunlock(f);
		return r;
	}
	uint8_t a[SUN_LEN_MAX];
	size_t alen;
	int r = unix_addr_check(addr, len, a, &alen);
	if (r)
		return r;
	struct inode *ino = NULL;
	if (!is_abstract(a, alen)) {
		/* As Linux: an existing path is EADDRINUSE before a socket
		 * already bound is EINVAL. */
		r = mknod_sock((const char *)a + SUN_OFF, u, &ino);
		if (r)
			return r;
	} else if (READ_ONCE(u->alen)) {
		return -EINVAL;
	}
	uint64_t f = ulock();
	if (u->alen)
		r = -EINVAL;
	else if (!ino && find_abstract(a, alen))
		r = -EADDRINUSE;
	else {
		memcpy(u->addr, a, alen);
		u->alen = alen;
		u->inode = ino;
		list_push_back(&unix_named, &u->named);
		ino = NULL;
	}
	uunlock(f);
	if (ino)
		vfs_iput(ino);
	return r;
}

static int unix_getname(struct socket *s, void *addr, size_t *len, bool peer)
{
	struct unix_sock *u = us(s);
	uint8_t a[SUN_LEN_MAX];
	size_t n;
	uint64_t f = ulock();
	struct unix_sock *o = u;
	if (peer) {
		o = u->peer;
		if (!o) {
			uunlock(f);
			return -ENOTCONN;
		}
	}
	n = o->alen;
	memcpy(a, o->addr, n);
	uunlock(f);
	if (!n) {
		*(uint16_t *)a = AF_UNIX;
		n = SUN_OFF;
	}
	n = MIN(n, *len);
	memcpy(addr, a, n);
	*len = n;
	return 0;
}

/* --- connections ------------------------------------------------------------------ */

static void link_peers(struct unix_sock *a, struct unix_sock *b)
{
	sock_get(b->s);
	a->peer = b;
	sock_get(a->s);
	b->peer = a;
	a->state = b->state = U_CONNECTED;
}

int unix_socketpair(struct socket *a, struct socket *b)
{
	uint64_t f = ulock();
	link_peers(us(a), us(b));
	uunlock(f);
	return 0;
}

static int unix_listen(struct socket *s, int backlog)
{
	struct unix_sock *u = us(s);
	if (s->type == SOCK_DGRAM)
		return -EOPNOTSUPP;
	uint64_t f = ulock();
	int r = 0;
	if (!u->alen || u->state == U_CONNECTED)
		r = -EINVAL;
	else {
		u->backlog = backlog;
		u->state = U_LISTEN;
	}
	uunlock(f);
	if (!r)
		sock_wake(s, 0);        /* connectors waiting for room */
	return r;
}

static int unix_stream_connect(struct socket *s, const void *addr, size_t len, bool nonblock)
{
	struct unix_sock *u = us(s);
	uint8_t a[SUN_LEN_MAX];
	size_t alen;
	int r = unix_addr_check(addr, len, a, &alen);
	if (r)
		return r;
	if (READ_ONCE(u->state) == U_CONNECTED)
		return -EISCONN;
	if (READ_ONCE(u->state) == U_LISTEN)
		return -EINVAL;
	struct unix_sock *o;
	r = find_other(a, alen, s->type, &o);
	if (r)
		return r;
	/* The server side, made now (as Linux): queued for accept. */
	struct socket *ns = sock_alloc(AF_UNIX, s->type, 0);
	struct unix_sock *e = ns ? unix_pcb_new(ns) : NULL;
	if (!e) {
		if (ns)
			sock_put(ns);
		sock_put(o->s);
		return -ENOMEM;
	}
	uint64_t deadline = sock_snd_deadline(s);
	for (;;) {
		uint64_t f = ulock();
		if (o->state != U_LISTEN || o->dead) {
			r = -ECONNREFUSED;
		} else if (u->state == U_CONNECTED) {
			r = -EISCONN;
		} else if ((int)o->nacc > o->backlog) {
			r = -EAGAIN;
		} else {
			if (s->passcred)
				autobind_locked(u);
			link_peers(u, e);
			e->embryo = true;
			memcpy(e->addr, o->addr, o->alen);
			e->alen = o->alen;
			e->s->passcred = o->s->passcred;
			list_push_back(&o->acceptq, &e->acc_node);
			o->nacc++;
			r = 0;
		}
		uunlock(f);
		if (r != -EAGAIN)
			break;
		r = sock_wait(o->s, o->state != U_LISTEN || o->dead ||
			      (int)o->nacc <= o->backlog, nonblock, deadline);
		if (r)
			break;
	}
	if (r == 0)
		sock_wake(o->s, EPOLLIN | EPOLLRDNORM);
	else {
		e->embryo = false;
		unix_release_sock(e);
	}
	sock_put(o->s);
	return r;
}

static int unix_accept(struct socket *s, struct socket **out, bool nonblock)
{
	struct unix_sock *u = us(s);
	uint64_t deadline = sock_rcv_deadline(s);
	for (;;) {
		uint64_t f = ulock();
		if (u->state != U_LISTEN || (u->shut & RCV_SHUTDOWN)) {
			uunlock(f);
			return -EINVAL;     /* not listening, or shut down (Linux) */
		}
		if (!list_empty(&u->acceptq)) {
			struct unix_sock *e = list_first_entry(&u->acceptq, struct unix_sock, acc_node);
			list_remove(&e->acc_node);
			list_init(&e->acc_node);
			u->nacc--;
			e->embryo = false;
			uunlock(f);
			sock_wake(s, 0);        /* room for a waiting connector */
			*out = e->s;
			return 0;
		}
		uunlock(f);
		int r = sock_wait(s, !list_empty(&u->acceptq) || u->state != U_LISTEN ||
				  (u->shut & RCV_SHUTDOWN), nonblock, deadline);
		if (r)
			return r;
	}
}

static int unix_dgram_connect(struct socket *s, const void *addr, size_t len, bool nonblock)
{
	(void)nonblock;
	struct unix_sock *u = us(s);
	if (len >= sizeof(uint16_t) && *(const uint16_t *)addr == AF_UNSPEC) {
		uint64_t f = ulock();
		struct unix_sock *old = u->peer;
		u->peer = NULL;
		u->state = U_UNCONN;
		uunlock(f);
		if (old) {
			sock_wake(old->s, EPOLLOUT);
			sock_put(old->s);
		}
		return 0;
	}
	uint8_t a[SUN_LEN_MAX];
	size_t alen;
	int r = unix_addr_check(addr, len, a, &alen);
	if (r)
		return r;
	struct unix_sock *o;
	r = find_other(a, alen, s->type, &o);
	if (r)
		return r;
	uint64_t f = ulock();
	struct unix_sock *old = NULL;
	if (o->dead)
		r = -ECONNREFUSED;
	else if (o->peer && o->peer != u && o != u)
		r = -EPERM;
	else {
		if (s->passcred)
			autobind_locked(u);
		old = u->peer;
		u->peer = o;            /* takes find_other's reference */
		u->state = U_CONNECTED;
		o = NULL;
	}
	uunlock(f);
	if (old)
		sock_put(old->s);
	if (o)
		sock_put(o->s);
	return r;
}

static int unix_shutdown(struct socket *s, int how)
{
	struct unix_sock *u = us(s);
	int mode = how + 1;             /* SHUT_RD 1, SHUT_WR 2, both 3 */
	uint64_t f = ulock();
	u->shut |= mode;
	struct unix_sock *p = s->type != SOCK_DGRAM ? u->peer : NULL;
	if (p) {
		int pm = 0;
		if (mode & RCV_SHUTDOWN)
			pm |= SEND_SHUTDOWN;
		if (mode & SEND_SHUTDOWN)
			pm |= RCV_SHUTDOWN;
		p->shut |= pm;
		sock_get(p->s);
	}
	uunlock(f);
	sock_wake(s, 0);
	if (p) {
		sock_wake(p->s, 0);
		sock_put(p->s);
	}
	return 0;
}

/* --- ancillary data ----------------------------------------------------------------- */

/* SCM_RIGHTS and SCM_CREDENTIALS of a send: *fds (referenced files). */
static int scm_parse(const struct sock_msg *m, struct file ***fds, int *nfds)
{
	int err = 0;
	*fds = NULL;
	*nfds = 0;
	struct file **v = NULL;
	int n = 0;
	for (const struct cmsg_k *c = cmsg_next(m, NULL, &err); c; c = cmsg_next(m, c, &err)) {
		if (c->level != SOL_SOCKET)
			continue;
		size_t dlen = c->len - CMSG_HDR;
		const uint8_t *d = (const uint8_t *)c + CMSG_HDR;
		if (c->type == SCM_CREDENTIALS) {
			if (dlen != sizeof(struct ucred_k)) {
				err = -EINVAL;
				break;
			}
			continue;           /* one process, root: nothing to check */
		}
		if (c->type != SCM_RIGHTS) {
			err = -EINVAL;
			break;
		}
		int k = (int)(dlen / sizeof(int));
		if (k == 0)
			continue;
		if (n + k > SCM_MAX_FD) {
			err = -EINVAL;
			break;
		}
		struct file **nv = kzalloc(sizeof(*nv) * (size_t)(n + k));
		if (!nv) {
			err = -ENOMEM;
			break;
		}
		if (n)
			memcpy(nv, v, sizeof(*nv) * (size_t)n);
		kfree(v);
		v = nv;
		for (int i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, d + i * sizeof(int), sizeof(int));
			struct file *fl = fd_get(fd);
			if (!fl) {
				err = -EBADF;
				break;
			}
			v[n++] = fl;
		}
		if (err)
			break;
	}
	if (err) {
		if (v)
			fds_put(v, n);
		return err;
	}
	*fds = v;
	*nfds = n;
	return 0;
}

/* Installs received files as fds in a SCM_RIGHTS message (as many as fit)
 * and adds SCM_CREDENTIALS when asked for. */
static void scm_deliver(struct socket *s, struct sock_msg *m, size_t room, struct unix_skb *b,
			int flags)
{
	if (s->passcred) {
		struct ucred_k c = { 1, 0, 0 };
		cmsg_put(m, room, SOL_SOCKET, SCM_CREDENTIALS, &c, sizeof(c));
	}
	if (!b->fds)
		return;
	int fit = 0;
	if (m->control && room >= m->control_len + CMSG_HDR)
		fit = (int)((room - m->control_len - CMSG_HDR) / sizeof(int));
	if (fit > b->nfds)
		fit = b->nfds;
	int fdv[SCM_MAX_FD];
	int got = 0;
	for (int i = 0; i < fit; i++) {
		int fd = fd_install(b->fds[i], 0, flags & MSG_CMSG_CLOEXEC);
		if (fd < 0)
			break;
		fdv[got++] = fd;
	}
	if (got)
		cmsg_put(m, room, SOL_SOCKET, SCM_RIGHTS, fdv, sizeof(int) * (size_t)got);
	if (got < b->nfds)
		m->msg_flags |= MSG_CTRUNC;
	fds_put(b->fds, b->nfds);
	b->fds = NULL;
	b->nfds = 0;
}

/* --- sending ------------------------------------------------------------------------ */

/* Stream: chunks of up to UNIX_CHUNK bytes; blocks while the peer's queue
 * holds more than our SO_SNDBUF. */
static ssize_t unix_stream_sendmsg(struct socket *s, struct sock_msg *m, int flags)
{
	struct unix_sock *u = us(s);
	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (m->namelen)
		return READ_ONCE(u->state) == U_CONNECTED ? -EISCONN : -EOPNOTSUPP;
	if (READ_ONCE(u->state) != U_CONNECTED)
		return -ENOTCONN;
	struct file **fds = NULL;
	int nfds = 0;
	int r = scm_parse(m, &fds, &nfds);
	if (r)
		return r;
	bool nonblock = sock_nonblock(s, flags);
	uint64_t deadline = sock_snd_deadline(s);
	struct uio *uio = m->uio;
	size_t sent = 0;
	ssize_t err = 0;
	do {
		/* Room in the peer's queue. */
		struct unix_sock *p = READ_ONCE(u->peer);
		err = sock_wait(s, (u->shut & SEND_SHUTDOWN) || !u->peer || u->peer->dead ||
				(u->peer->shut & RCV_SHUTDOWN) ||
				u->peer->rq_bytes < (size_t)s->sndbuf, nonblock, deadline);
		if (err)
			break;
		(void)p;
		size_t chunk = MIN(uio->resid, (size_t)UNIX_CHUNK);
		chunk = MIN(chunk, MAX((size_t)s->sndbuf / 2, (size_t)4096));
		struct unix_skb *b = skb_new(chunk, NULL, 0);
		if (!b) {
			err = -ENOBUFS;
			break;
		}
		if (chunk && uio_copy_in(uio, b->data, chunk) < 0) {
			kfree(b);
			err = -EFAULT;
			break;
		}
		uint64_t f = ulock();
		p = u->peer;
		if ((u->shut & SEND_SHUTDOWN) || !p || p->dead || (p->shut & RCV_SHUTDOWN)) {
			uunlock(f);
			kfree(b);
			err = -EPIPE;
			break;
		}
		if (fds) {
			b->fds = fds;
			b->nfds = nfds;
			fds = NULL;
		}
		list_push_back(&p->rq, &b->node);
		p->rq_bytes += chunk;
		p->rq_count++;
		sock_get(p->s);
		uunlock(f);
		sock_wake(p->s, EPOLLIN | EPOLLRDNORM);
		sock_put(p->s);
		sent += chunk;
	} while (uio->resid);
	if (fds)
		fds_put(fds, nfds);
	if (sent)
		return (ssize_t)sent;
	return err;
}

/* Datagrams and seqpacket: one message per call. */
static ssize_t unix_dgram_sendmsg(struct socket *s, struct sock_msg *m, int flags)
{
	struct unix_sock *u = us(s);
	bool seq = s->type == SOCK_SEQPACKET;
	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	size_t len = m->uio->resid;
	struct unix_sock *o = NULL;
	int r;
	if (seq) {
		if (m->namelen && READ_ONCE(u->state) == U_CONNECTED)
			return -EISCONN;
		if (READ_ONCE(u->state) != U_CONNECTED)
			return -ENOTCONN;
	}
	if (m->namelen && !seq) {
		uint8_t a[SUN_LEN_MAX];
		size_t alen;
		r = unix_addr_check(m->name, m->namelen, a, &alen);
		if (r)
			return r;
		r = find_other(a, alen, s->type, &o);
		if (r)
			return r;
	} else {
		uint64_t f = ulock();
		o = u->peer;
		if (o)
			sock_get(o->s);
		uunlock(f);
		if (!o)
			return seq ? -EPIPE : -ENOTCONN;
	}
	if (len > (size_t)s->sndbuf - 32) {
		sock_put(o->s);
		return -EMSGSIZE;
	}
	struct file **fds = NULL;
	int nfds = 0;
	r = scm_parse(m, &fds, &nfds);
	if (r) {
		sock_put(o->s);
		return r;
	}
	/* Our address rides with the message (recvfrom reports it). */
	uint8_t myaddr[SUN_LEN_MAX];
	size_t myalen;
	uint64_t f = ulock();
	if (s->passcred)
		autobind_locked(u);
	myalen = u->alen;
	memcpy(myaddr, u->addr, myalen);
	uunlock(f);
	struct unix_skb *b = skb_new(len, myaddr, myalen);
	if (!b) {
		r = -ENOBUFS;
		goto out;
	}
	if (len && uio_copy_in(m->uio, b->data, len) < 0) {
		r = -EFAULT;
		goto out;
	}
	b->fds = fds;
	b->nfds = nfds;
	fds = NULL;
	bool nonblock = sock_nonblock(s, flags);
	uint64_t deadline = sock_snd_deadline(s);
	struct unix_sock *drop = NULL;      /* a dead peer's link given up */
	/* A connected pair waits on its own queue (the receiver wakes its
	 * peer); a sender to someone else's socket waits on the receiver's. */
	for (;;) {
		f = ulock();
		if (u->shut & SEND_SHUTDOWN)
			r = -EPIPE;
		else if (o->dead) {
			r = seq ? -EPIPE : -ECONNREFUSED;
			if (!seq && u->peer == o) {
				/* Linux drops the link: the next send is ENOTCONN */
				u->peer = NULL;
				u->state = U_UNCONN;
				drop = o;
			}
		}
		else if (o->shut & RCV_SHUTDOWN)
			r = -EPIPE;
		else if (!seq && o->peer && o->peer != u && o != u)
			r = -EPERM;
		else if (o->rq_count && o->rq_bytes + len > (size_t)(seq ? s->sndbuf : o->s->rcvbuf))
			r = -EAGAIN;
		else {
			list_push_back(&o->rq, &b->node);
			o->rq_bytes += len;
			o->rq_count++;
			b = NULL;
			r = 0;
		}
		uunlock(f);
		if (r != -EAGAIN)
			break;
		/* Wake for exactly what the checks above look at (any other
		 * shutdown bit would make this loop spin). */
		struct socket *ws = o->peer == u ? s : o->s;
		r = sock_wait(ws, (u->shut & SEND_SHUTDOWN) || o->dead || (o->shut & RCV_SHUTDOWN) ||
			      (!seq && o->peer && o->peer != u && o != u) || !o->rq_count ||
			      o->rq_bytes + len <= (size_t)(seq ? s->sndbuf : o->s->rcvbuf),
			      nonblock, deadline);
		if (r)
			break;
	}
	if (r == 0) {
		sock_wake(o->s, EPOLLIN | EPOLLRDNORM);
		r = (int)len;
	}
	if (drop)
		sock_put(drop->s);
out:
	if (b)
		skb_free(b);
	if (fds)
		fds_put(fds, nfds);
	sock_put(o->s);
	return r;
}

/* --- receiving ------------------------------------------------------------------------ */

/* After consuming: the writer(s) may go on. */
static void wake_writers(struct unix_sock *u)
{
	uint64_t f = ulock();
	struct unix_sock *p = u->peer;
	if (p)
		sock_get(p->s);
	uunlock(f);
	sock_wake(u->s, EPOLLOUT | EPOLLWRNORM);
	if (p) {
		sock_wake(p->s, EPOLLOUT | EPOLLWRNORM);
		sock_put(p->s);
	}
}

static bool rcv_eof(struct unix_sock *u)
{
	return (u->shut & RCV_SHUTDOWN) != 0;
}

static ssize_t unix_stream_recvmsg(struct socket *s, struct sock_msg *m, int flags)
{
	struct unix_sock *u = us(s);
	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (READ_ONCE(u->state) != U_CONNECTED)
		return -EINVAL;
	struct uio *uio = m->uio;
	size_t room = m->control_len;
	m->control_len = 0;
	m->namelen = 0;
	bool nonblock = sock_nonblock(s, flags);
	uint64_t deadline = sock_rcv_deadline(s);
	size_t target = (flags & MSG_WAITALL) ? uio->resid
		      : MIN(uio->resid, (size_t)MAX(s->rcvlowat, 1));
	size_t copied = 0;
	ssize_t err = 0;
	bool consumed = false;
	mutex_lock(&u->rlock);
	for (;;) {
		uint64_t f = ulock();
		struct unix_skb *b = NULL;
		size_t skip = 0;
		if (flags & MSG_PEEK) {
			/* Peeking reads on from what this call already saw. */
			size_t want = copied;
			list_for_each(n, &u->rq) {
				struct unix_skb *x = list_entry(n, struct unix_skb, node);
				size_t avail = x->len - x->off;
				if (want < avail) {
					b = x;
					skip = want;
					break;
				}
				want -= avail;
			}
		} else if (!list_empty(&u->rq)) {
			b = list_first_entry(&u->rq, struct unix_skb, node);
		}
		if (!b) {
			int e = READ_ONCE(s->error);
			bool eof = rcv_eof(u);
			if (copied >= target || (copied && (eof || e))) {
				uunlock(f);
				break;
			}
			if (e) {
				e = __atomic_exchange_n(&s->error, 0, __ATOMIC_ACQ_REL);
				uunlock(f);
				err = -e;
				break;
			}
			uunlock(f);
			if (eof || !uio->resid)
				break;
			mutex_unlock(&u->rlock);
			/* A peek waits for bytes beyond those it has seen. */
			bool peek = flags & MSG_PEEK;
			err = sock_wait(s, (peek ? u->rq_bytes > copied : !list_empty(&u->rq)) ||
					s->error || rcv_eof(u), nonblock, deadline);
			mutex_lock(&u->rlock);
			if (err)
				break;
			continue;
		}
		uunlock(f);
		size_t n = MIN(b->len - b->off - skip, uio->resid);
		if (n && uio_copy_out(uio, b->data + b->off + skip, n) < 0) {
			err = -EFAULT;
			break;
		}
		copied += n;
		bool had_fds = b->fds != NULL;
		if (had_fds && !(flags & MSG_PEEK))
			scm_deliver(s, m, room, b, flags);
		if (!(flags & MSG_PEEK)) {
			f = ulock();
			b->off += n;
			u->rq_bytes -= n;
			bool done = b->off == b->len;
			if (done) {
				list_remove(&b->node);
				u->rq_count--;
			}
			uunlock(f);
			if (done)
				skb_free(b);
			consumed = true;
		}
		if (had_fds || !uio->resid)
			break;
	}
	mutex_unlock(&u->rlock);
	if (consumed)
		wake_writers(u);
	if (!m->control_len && s->passcred && copied) {
		struct ucred_k c = { 1, 0, 0 };
		cmsg_put(m, room, SOL_SOCKET, SCM_CREDENTIALS, &c, sizeof(c));
	}
	return copied ? (ssize_t)copied : err;
}

static ssize_t unix_dgram_recvmsg(struct socket *s, struct sock_msg *m, int flags)
{
	struct unix_sock *u = us(s);
	bool seq = s->type == SOCK_SEQPACKET;
	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (seq && READ_ONCE(u->state) != U_CONNECTED)
		return -EINVAL;
	struct uio *uio = m->uio;
	size_t room = m->control_len;
	m->control_len = 0;
	m->namelen = 0;
	bool nonblock = sock_nonblock(s, flags);
	uint64_t deadline = sock_rcv_deadline(s);
	ssize_t r;
	mutex_lock(&u->rlock);
	struct unix_skb *b;
	for (;;) {
		uint64_t f = ulock();
		b = list_empty(&u->rq) ? NULL : list_first_entry(&u->rq, struct unix_skb, node);
		if (b && !(flags & MSG_PEEK)) {
			list_remove(&b->node);
			u->rq_bytes -= b->len;
			u->rq_count--;
		}
		int e = READ_ONCE(s->error);
		if (!b && e)
			e = __atomic_exchange_n(&s->error, 0, __ATOMIC_ACQ_REL);
		bool eof = rcv_eof(u);
		uunlock(f);
		if (b)
			break;
		if (e) {
			r = -e;
			goto out;
		}
		if (eof) {
			r = 0;
			goto out;
		}
		mutex_unlock(&u->rlock);
		r = sock_wait(s, !list_empty(&u->rq) || s->error || rcv_eof(u), nonblock, deadline);
		mutex_lock(&u->rlock);
		if (r)
			goto out;
	}
	size_t n = MIN(b->len, uio->resid);
	r = n && uio_copy_out(uio, b->data, n) < 0 ? -EFAULT : (ssize_t)n;
	if (b->len > n)
		m->msg_flags |= MSG_TRUNC;
	if ((flags & MSG_TRUNC) && r >= 0)
		r = (ssize_t)b->len;
	if (b->alen) {
		memcpy(m->name, b->addr, b->alen);
		m->namelen = b->alen;
	}
	if (flags & MSG_PEEK) {
		if (s->passcred) {
			struct ucred_k c = { 1, 0, 0 };
			cmsg_put(m, room, SOL_SOCKET, SCM_CREDENTIALS, &c, sizeof(c));
		}
	} else {
		scm_deliver(s, m, room, b, flags);
		skb_free(b);
	}
out:
	mutex_unlock(&u->rlock);
	if (r >= 0 && !(flags & MSG_PEEK))
		wake_writers(u);
	return r;
}

/* --- readiness, ioctls, options ----------------------------------------------------- */

static uint32_t unix_poll(struct socket *s, struct poll_table *pt)
{
	struct unix_sock *u = us(s);
	poll_wait(pt, &s->ph);
	uint32_t m = 0;
	uint64_t f = ulock();
	if (READ_ONCE(s->error))
		m |= EPOLLERR;
	if (u->shut == (RCV_SHUTDOWN | SEND_SHUTDOWN))
		m |= EPOLLHUP;
	if (u->shut & RCV_SHUTDOWN)
		m |= EPOLLRDHUP | EPOLLIN | EPOLLRDNORM;
	if (!list_empty(&u->rq) || (u->state == U_LISTEN && !list_empty(&u->acceptq)))
		m |= EPOLLIN | EPOLLRDNORM;
	if (s->type != SOCK_DGRAM && u->state == U_UNCONN)
		m |= EPOLLHUP;
	/* Writable (Linux's unix_writable): not a listener, and what we have
	 * in flight is at most a quarter of our send buffer — shut down or
	 * not (a write then fails at once, which is not blocking). A datagram
	 * socket is held back only by a full receiver connected elsewhere. */
	if (u->state != U_LISTEN) {
		struct unix_sock *p = u->peer;
		bool w = true;
		if (s->type != SOCK_DGRAM)
			w = !p || p->dead || p->rq_bytes * 4 <= (size_t)s->sndbuf;
		else if (p && p->peer != u && p->rq_count && p->rq_bytes >= (size_t)p->s->rcvbuf)
			w = false;
		if (w)
			m |= EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND;
	}
	uunlock(f);
	return m;
}

#define FIONREAD 0x541B
#define SIOCOUTQ 0x5411

static long unix_ioctl(struct socket *s, unsigned long cmd, unsigned long arg)
{
	struct unix_sock *u = us(s);
	int v = 0;
	uint64_t f = ulock();
	if (cmd == FIONREAD) {
		if (u->state == U_LISTEN) {
			uunlock(f);
			return -EINVAL;
		}
		if (s->type == SOCK_DGRAM) {
			if (!list_empty(&u->rq))
				v = (int)list_first_entry(&u->rq, struct unix_skb, node)->len;
		} else {
			list_for_each(n, &u->rq) {
				struct unix_skb *b = list_entry(n, struct unix_skb, node);
				v += (int)(b->len - b->off);
			}
		}
	} else if (cmd == SIOCOUTQ) {
		if (u->peer && s->type != SOCK_DGRAM)
			v = (int)u->peer->rq_bytes;
	} else {
		uunlock(f);
		return -ENOTTY;
	}
	uunlock(f);
	return copy_to_user((void *)arg, &v, sizeof(v)) < 0 ? -EFAULT : 0;
}

static int unix_setsockopt(struct socket *s, int level, int name, const void *val, size_t len)
{
	(void)s; (void)name; (void)val; (void)len;
	return level == SOL_SOCKET ? -ENOPROTOOPT : -EOPNOTSUPP;
}

static int unix_getsockopt(struct socket *s, int level, int name, void *val, size_t *len)
{
	(void)s; (void)name; (void)val; (void)len;
	return level == SOL_SOCKET ? -ENOPROTOOPT : -EOPNOTSUPP;
}

static const struct sock_ops unix_stream_ops = {
	.bind = unix_bind,
	.connect = unix_stream_connect,
	.listen = unix_listen,
	.accept = unix_accept,
	.sendmsg = unix_stream_sendmsg,
	.recvmsg = unix_stream_recvmsg,
	.shutdown = unix_shutdown,
	.getname = unix_getname,
	.setsockopt = unix_setsockopt,
	.getsockopt = unix_getsockopt,
	.poll = unix_poll,
	.ioctl = unix_ioctl,
	.release = unix_release,
};

static const struct sock_ops unix_seqpacket_ops = {
	.bind = unix_bind,
	.connect = unix_stream_connect,
	.listen = unix_listen,
	.accept = unix_accept,
	.sendmsg = unix_dgram_sendmsg,
	.recvmsg = unix_dgram_recvmsg,
	.shutdown = unix_shutdown,
	.getname = unix_getname,
	.setsockopt = unix_setsockopt,
	.getsockopt = unix_getsockopt,
	.poll = unix_poll,
	.ioctl = unix_ioctl,
	.release = unix_release,
};

static const struct sock_ops unix_dgram_ops = {
	.bind = unix_bind,
	.connect = unix_dgram_connect,
	.listen = unix_listen,
	.sendmsg = unix_dgram_sendmsg,
	.recvmsg = unix_dgram_recvmsg,
	.shutdown = unix_shutdown,
	.getname = unix_getname,
	.setsockopt = unix_setsockopt,
	.getsockopt = unix_getsockopt,
	.poll = unix_poll,
	.ioctl = unix_ioctl,
	.release = unix_release,
};

/* --- /proc/net/unix -------------------------------------------------------------------- */

size_t unix_proc_net(char *buf, size_t len)
{
	size_t n = 0;
	n += snprintf(buf, len, "Num       RefCount Protocol Flags    Type St Inode Path\n");
	uint64_t f = ulock();
	list_for_each(it, &unix_all) {
		struct unix_sock *u = list_entry(it, struct unix_sock, all);
		struct socket *s = u->s;
		struct file *fl = READ_ONCE(s->file);
		uint64_t ino = fl ? fl->path.inode->ino : 0;
		int st = u->state == U_CONNECTED ? 3 : 1;
		char line[200];
		int k = snprintf(line, sizeof(line), "0000000000000000: %08X %08X %08X %04X %02X %5lu",
				 (unsigned)READ_ONCE(s->refs), 0u,
				 u->state == U_LISTEN ? 0x10000u : 0u, (unsigned)s->type, st, ino);
		if (u->alen > SUN_OFF && k > 0 && (size_t)k < sizeof(line) - 1) {
			line[k++] = ' ';
			size_t plen = u->inode ? strnlen((char *)u->addr + SUN_OFF, UNIX_PATH_MAX)
					       : u->alen - SUN_OFF;
			for (size_t i = 0; i < plen && (size_t)k < sizeof(line) - 2; i++) {
				char c = (char)u->addr[SUN_OFF + i];
				line[k++] = c ? c : '@';
			}
			line[k] = 0;
		}
		n += snprintf(n < len ? buf + n : NULL, n < len ? len - n : 0, "%s\n", line);
	}
	uunlock(f);
	return n;
}
