/*
 * Bringing the stack up (net_init): netd, reassembly, lo, then eth0 from
 * the command line or DHCP, and /etc/resolv.conf when the root file
 * system has none.
 *
 *   net=dhcp|static|none   default: static when ip= is given, else DHCP
 *   ip=A.B.C.D/NN          address and prefix (default /24)
 *   gw=A.B.C.D             default route
 *   dns=A.B.C.D[,...]      name servers (added to DHCP's)
 *
 * The DHCP client (RFC 2131) runs in a thread of its own: DISCOVER,
 * OFFER, REQUEST, ACK with the broadcast flag set (we cannot receive
 * unicast before we have an address), retransmitting with a doubling
 * timeout from DHCP_RETRY0_NS and giving up after DHCP_GIVEUP_NS with a
 * warning, the interface left unconfigured. Replies reach it through
 * dhcp_input, called by ip.c for UDP to port 68 under net_lock.
 */
#include "net/ip.h"
#include "net/byteorder.h"
#include "net/checksum.h"
#include "net/dhcp.h"
#include "net/socket.h"
#include "arch/x86_64/cpu.h"
#include "fs/namei.h"
#include "fs/vfs.h"
#include "lib/cmdline.h"
#include "lib/klog.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "net/netconfig.h"
#include "sched/sync.h"
#include "sched/thread.h"
#include "errno.h"

extern struct cmdline kernel_cmdline;

#define MS 1000000ull
#define DHCP_RETRY0_NS  (100 * MS)
#define DHCP_RETRY_MAX  (1000 * MS)
#define DHCP_GIVEUP_NS  (3000 * MS)

#define DNS_MAX 3
static uint32_t dns_servers[DNS_MAX];
static unsigned ndns;

unsigned net_dns_servers(uint32_t *out, unsigned max)
{
	unsigned n = MIN(max, ndns);
	for (unsigned i = 0; i < n; i++)
		out[i] = dns_servers[i];
	return n;
}

static uint32_t dhcp_dns[DNS_MAX];
static unsigned ndhcp_dns;

static void dns_add(uint32_t ip)
{
	for (unsigned i = 0; i < ndns; i++)
		if (dns_servers[i] == ip)
			return;
	if (ndns < DNS_MAX && ip)
		dns_servers[ndns++] = ip;
}

/* ---- the DHCP client ---- */

static struct {
	struct netif *nif;         /* non-NULL while a client runs (or renews) */
	uint32_t xid;
	bool got;                  /* reply below is new */
	struct dhcp_reply reply;
	/* The lease, once bound (RFC 2131 4.4.5): renew from T1 by unicast
	 * to the server, rebind from T2 by broadcast, drop it at expiry. */
	struct netif *bound;
	uint32_t addr, server;
	uint64_t t0, t1, t2, end;  /* absolute, ns */
	bool renewing;
	struct net_timer timer;
	uint64_t renewals;
} dhcp;

static void lease_timer(struct net_timer *t);
static void renewal_ack(const struct dhcp_reply *r);

bool dhcp_input(struct netif *nif, const struct ipv4_info *ip, const struct udp_info *u)
{
	(void)ip;
	if (!dhcp.nif || nif != dhcp.nif || u->sport != DHCP_SERVER_PORT)
		return false;
	struct dhcp_reply r;
	if (dhcp_parse(u->payload, u->payload_len, dhcp.xid, nif->mac, &r) < 0)
		return true;       /* port 68 is ours while we run: not a no-port drop */
	if (dhcp.renewing) {
		renewal_ack(&r);
		return true;
	}
	/* The first answer of a round wins (several servers may offer). */
	if (!dhcp.got) {
		dhcp.reply = r;
		dhcp.got = true;
		net_wake();
	}
	return true;
}

/* Broadcasts one client message from 0.0.0.0 (net_lock taken here). */
static int dhcp_send(struct netif *nif, uint8_t type, uint16_t secs, uint32_t req_ip,
		     uint32_t server_id)
{
	static uint8_t f[ETH_HLEN + IPV4_HLEN + UDP_HLEN + DHCP_MSG_MAX];
	uint64_t fl = net_lock_irqsave();
	uint8_t *udp = f + ETH_HLEN + IPV4_HLEN;
	size_t n = dhcp_build(udp + UDP_HLEN, type, dhcp.xid, nif->mac, secs, 0, req_ip,
			      server_id);
	udp_build(udp, DHCP_CLIENT_PORT, DHCP_SERVER_PORT, 0, 0xffffffffu, n);
	n += UDP_HLEN;
	ipv4_build(f + ETH_HLEN, 0, ip_next_id(), 0, 64, IPPROTO_UDP, 0, 0xffffffffu, n);
	eth_build(f, eth_broadcast, nif->mac, ETH_P_IPV4);
	const struct net_iov iov = { f, ETH_HLEN + IPV4_HLEN + n };
	int r = netif_xmit_locked(nif, &iov, 1, NULL);
	net_mib.udp_out_datagrams++;
	net_mib.ip_out_requests++;
	net_unlock_irqrestore(fl);
	return r;
}

/* Sends `type` and waits for a reply of one of the wanted types,
 * retransmitting until the overall deadline. */
static int dhcp_exchange(struct netif *nif, uint8_t type, uint32_t req_ip, uint32_t server_id,
			 uint64_t start, uint64_t giveup, struct dhcp_reply *out)
{
	uint64_t retry = DHCP_RETRY0_NS;
	for (;;) {
		uint64_t now = net_now_ns();
		if (now >= giveup)
			return -ETIMEDOUT;
		uint64_t f = net_lock_irqsave();
		dhcp.got = false;
		net_unlock_irqrestore(f);
		uint16_t secs = (uint16_t)((now - start) / 1000000000ull);
		dhcp_send(nif, type, secs, req_ip, server_id);
		uint64_t until = MIN(giveup, now + retry);
		for (;;) {
			uint64_t seq = net_event_seq();
			f = net_lock_irqsave();
			bool got = dhcp.got;
			struct dhcp_reply r = dhcp.reply;
			dhcp.got = false;
			net_unlock_irqrestore(f);
			if (got) {
				bool want = type == DHCPDISCOVER ? r.type == DHCPOFFER
					 : r.type == DHCPACK || r.type == DHCPNAK;
				if (want && (type == DHCPDISCOVER || !server_id || !r.server_id ||
					     r.server_id == server_id)) {
					*out = r;
					return 0;
				}
				continue;
			}
			if (net_now_ns() >= until)
				break;
			net_wait(seq, until);
		}
		/* RFC 2131 4.1 backs off from 4 s with jitter; a VM's DHCP
		 * server is local, so we start at 100 ms. */
		retry = MIN(retry * 2, DHCP_RETRY_MAX);
	}
}

/* ---- lease renewal (netd, net_lock held) ---- */

#define SEC 1000000000ull

static void lease_times(const struct dhcp_reply *r, uint64_t t0)
{
	uint64_t lease = r->lease_s ? r->lease_s : 3600;
	uint64_t t1 = r->t1_s ? r->t1_s : lease / 2, t2 = r->t2_s ? r->t2_s : lease * 7 / 8;
	/* dhcp.t1=N (seconds) brings renewal forward, for tests. */
	const char *o = cmdline_get(&kernel_cmdline, "dhcp.t1");
	if (o && *o >= '1' && *o <= '9') {
		t1 = 0;
		for (; *o >= '0' && *o <= '9' && t1 < lease; o++)
			t1 = t1 * 10 + (uint64_t)(*o - '0');
	}
	if (lease == 0xffffffffu) {
		dhcp.t1 = dhcp.t2 = dhcp.end = UINT64_MAX;   /* infinite */
		return;
	}
	if (t2 > lease)
		t2 = lease;
	if (t1 > t2)
		t1 = t2;
	dhcp.t0 = t0;
	dhcp.t1 = t0 + t1 * SEC;
	dhcp.t2 = t0 + t2 * SEC;
	dhcp.end = t0 + lease * SEC;
}

static void lease_start(struct netif *nif, const struct dhcp_reply *ack, uint64_t t0)
{
	uint64_t f = net_lock_irqsave();
	dhcp.bound = nif;
	dhcp.addr = ack->yiaddr;
	dhcp.server = ack->server_id;
	lease_times(ack, t0);
	net_timer_init(&dhcp.timer, lease_timer, NULL);
	if (dhcp.t1 != UINT64_MAX)
		net_timer_arm(&dhcp.timer, dhcp.t1);
	net_unlock_irqrestore(f);
}

/* REQUEST with ciaddr: unicast to the server while renewing, broadcast
 * while rebinding (RFC 2131 4.3.2, 4.4.5). */
static void renew_send(bool broadcast)
{
	static uint8_t m[UDP_HLEN + DHCP_MSG_MAX];
	struct netif *nif = dhcp.bound;
	uint32_t dst = broadcast || !dhcp.server ? 0xffffffffu : dhcp.server;
	uint16_t secs = (uint16_t)((net_now_ns() - dhcp.t1) / SEC);
	size_t n = dhcp_build(m + UDP_HLEN, DHCPREQUEST, dhcp.xid, nif->mac, secs, dhcp.addr, 0, 0);
	udp_build(m, DHCP_CLIENT_PORT, DHCP_SERVER_PORT, dhcp.addr, dst, n);
	struct ip_tx tx = { .src = dhcp.addr, .dst = dst, .proto = IPPROTO_UDP };
	const struct net_iov iov = { m, UDP_HLEN + n };
	if (ip_output(&tx, &iov, 1) == 0)
		net_mib.udp_out_datagrams++;
}

static void lease_timer(struct net_timer *t)
{
	(void)t;
	struct netif *nif = dhcp.bound;
	uint64_t now = net_now_ns();
	if (!nif)
		return;
	if (now >= dhcp.end) {
		/* Expired without an answer: stop using the address. */
		char a[16];
		pr_warn("net: %s: DHCP lease of %s expired; address removed", nif->name,
			ip4_str(dhcp.addr, a));
		nif->addr = nif->netmask = nif->gateway = 0;
		route_set_nif(nif);
		dhcp.bound = NULL;
		dhcp.nif = NULL;
		dhcp.renewing = false;
		return;
	}
	if (!dhcp.renewing) {
		dhcp.renewing = true;
		dhcp.nif = nif;
		dhcp.xid = (uint32_t)(rdtsc() * 0x9e3779b97f4a7c15ull >> 32);
	}
	renew_send(now >= dhcp.t2);
	/* Retransmit halfway to the next deadline, at least a second
	 * apart (RFC 2131 4.4.5 says 60 s; leases here can be short). */
	uint64_t next = now < dhcp.t2 ? dhcp.t2 : dhcp.end;
	uint64_t wait = (next - now) / 2;
	net_timer_arm(&dhcp.timer, now + MAX(wait, SEC));
}

static void renewal_ack(const struct dhcp_reply *r)
{
	struct netif *nif = dhcp.bound;
	if (!nif || r->type == DHCPOFFER)
		return;
	if (r->type == DHCPNAK || r->yiaddr != dhcp.addr) {
		/* The server took it back: drop the address (a new DISCOVER
		 * needs a thread; the interface stays unconfigured). */
		pr_warn("net: %s: DHCP renewal refused; address removed", nif->name);
		nif->addr = nif->netmask = nif->gateway = 0;
		route_set_nif(nif);
		dhcp.bound = NULL;
		dhcp.nif = NULL;
		dhcp.renewing = false;
		net_timer_cancel(&dhcp.timer);
		return;
	}
	dhcp.renewing = false;
	dhcp.nif = NULL;
	if (r->server_id)
		dhcp.server = r->server_id;
	dhcp.renewals++;
	lease_times(r, net_now_ns());
	net_timer_cancel(&dhcp.timer);
	if (dhcp.t1 != UINT64_MAX)
		net_timer_arm(&dhcp.timer, dhcp.t1);
	char a[16];
	pr_info("net: %s: DHCP lease of %s renewed for %us", nif->name, ip4_str(dhcp.addr, a),
		r->lease_s);
}

/* Forgets the lease (the configuration file asked for another mode). */
static void lease_drop(void)
{
	uint64_t f = net_lock_irqsave();
	if (dhcp.bound)
		net_timer_cancel(&dhcp.timer);
	dhcp.bound = NULL;
	dhcp.nif = NULL;
	dhcp.renewing = false;
	net_unlock_irqrestore(f);
}

static int dhcp_run(struct netif *nif)
{
	int r = netif_up(nif);
	if (r < 0)
		return r;
	uint64_t rnd;
	if (!rdrand64(&rnd))
		rnd = rdtsc() * 0x9e3779b97f4a7c15ull;
	uint64_t start = net_now_ns(), giveup = start + DHCP_GIVEUP_NS;
	uint64_t f = net_lock_irqsave();
	dhcp.nif = nif;
	dhcp.xid = (uint32_t)rnd;
	net_unlock_irqrestore(f);
	struct dhcp_reply offer, ack;
	for (;;) {
		r = dhcp_exchange(nif, DHCPDISCOVER, 0, 0, start, giveup, &offer);
		if (r < 0)
			break;
		r = dhcp_exchange(nif, DHCPREQUEST, offer.yiaddr, offer.server_id, start, giveup,
				  &ack);
		if (r < 0)
			break;
		if (ack.type == DHCPACK && ack.yiaddr)
			break;
		pr_warn("net: %s: DHCP NAK; starting over", nif->name);
	}
	f = net_lock_irqsave();
	dhcp.nif = NULL;
	net_unlock_irqrestore(f);
	uint64_t us = (net_now_ns() - start) / 1000;
	if (r < 0) {
		pr_warn("net: %s: no DHCP answer in %lu ms; left unconfigured", nif->name,
			us / 1000);
		return r;
	}
	/* RFC 2132: without a subnet option, the class's mask. */
	uint32_t mask = ack.netmask ? ack.netmask
		: (ack.yiaddr >> 31) == 0 ? ip4_mask(8)
		: (ack.yiaddr >> 30) == 2 ? ip4_mask(16) : ip4_mask(24);
	/* Merged after dns= by dhcp_finish or net_init. */
	for (unsigned i = 0; i < ack.ndns && i < DNS_MAX; i++)
		dhcp_dns[ndhcp_dns++] = ack.dns[i];
	netif_set_addr(nif, ack.yiaddr, mask, ack.router);
	lease_start(nif, &ack, start);
	char a[16], s[16];
	unsigned bits = 0;
	for (uint32_t m = mask; m; m <<= 1)
		bits++;
	pr_info("net: %s: DHCP lease %s/%u from %s for %us in %lu.%03lu ms", nif->name,
		ip4_str(ack.yiaddr, a), bits, ip4_str(ack.server_id, s), ack.lease_s, us / 1000,
		us % 1000);
	return 0;
}

/* ---- /etc/resolv.conf ---- */

static int k_mkdir(const char *path)
{
	struct nameidata nd;
	struct path d;
	struct namei_last l;
	vfs_lock();
	int r = namei_start(&nd, AT_FDCWD, path, 0, &d);
	if (r == 0)
		r = namei_parent(&nd, &d, path, &l);
	struct inode *i;
	if (r == 0)
		r = d.inode->ops->create ? d.inode->ops->create(d.inode, l.name, l.len,
								S_IFDIR | 0755, 0, 0, &i)
					 : -EPERM;
	vfs_unlock();
	return r;
}

/* Only fills a missing one: an image's own resolv.conf wins. */
static void write_resolv_conf(void)
{
	if (!ndns)
		return;
	struct file *f;
	int r = vfs_open(AT_FDCWD, "/etc/resolv.conf", O_WRONLY | O_CREAT | O_EXCL, 0644, 0, &f);
	if (r == -ENOENT) {
		k_mkdir("/etc");
		r = vfs_open(AT_FDCWD, "/etc/resolv.conf", O_WRONLY | O_CREAT | O_EXCL, 0644, 0, &f);
	}
	if (r < 0) {
		if (r != -EEXIST && r != -EROFS)
			pr_warn("net: cannot write /etc/resolv.conf (error %d)", -r);
		return;
	}
	char buf[160];
	size_t n = 0;
	for (unsigned i = 0; i < ndns; i++) {
		char a[16];
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "nameserver %s\n",
				      ip4_str(dns_servers[i], a));
	}
	uint64_t pos = 0;
	vfs_write(f, buf, n, &pos);
	file_put(f);
}

/* ---- the command line ---- */

static bool parse_ip(const char *key, uint32_t *ip)
{
	const char *s = cmdline_get(&kernel_cmdline, key);
	if (!s)
		return false;
	if (ip4_parse(s, ip) == 0)
		return true;
	pr_warn("net: %s=%s is not an IPv4 address; ignored", key, s);
	return false;
}

/* "A.B.C.D/NN" (NN default 24). */
static bool parse_cidr(const char *s, uint32_t *ip, uint32_t *mask)
{
	char a[20];
	size_t i = 0;
	while (s[i] && s[i] != '/' && i < sizeof(a) - 1) {
		a[i] = s[i];
		i++;
	}
	a[i] = 0;
	if (ip4_parse(a, ip) < 0)
		return false;
	unsigned bits = 24;
	if (s[i] == '/') {
		const char *p = s + i + 1;
		if (!*p)
			return false;
		bits = 0;
		for (; *p; p++) {
			if (*p < '0' || *p > '9' || bits > 32)
				return false;
			bits = bits * 10 + (unsigned)(*p - '0');
		}
		if (bits > 32)
			return false;
	} else if (s[i]) {
		return false;
	}
	*mask = ip4_mask(bits);
	return true;
}

static void parse_dns(void)
{
	const char *s = cmdline_get(&kernel_cmdline, "dns");
	if (!s)
		return;
	while (*s) {
		char a[20];
		size_t i = 0;
		while (s[i] && s[i] != ',' && i < sizeof(a) - 1) {
			a[i] = s[i];
			i++;
		}
		a[i] = 0;
		uint32_t ip;
		if (ip4_parse(a, &ip) == 0)
			dns_add(ip);
		else
			pr_warn("net: dns: %s is not an IPv4 address; ignored", a);
		s += i;
		while (*s && *s != ',')
			s++;
		if (*s == ',')
			s++;
	}
}

/* The mode the command line asks for (it may grow: /etc/wisp/config is
 * read between net_start and net_init). */
struct netcfg {
	const char *mode;          /* "dhcp", "static", "none" */
	bool have_ip;
	uint32_t ip, mask, gw;
};

static void read_config(struct netcfg *c, bool warn)
{
	*c = (struct netcfg){ 0 };
	c->mode = cmdline_get(&kernel_cmdline, "net");
	const char *ipstr = cmdline_get(&kernel_cmdline, "ip");
	c->have_ip = ipstr && parse_cidr(ipstr, &c->ip, &c->mask);
	if (warn && ipstr && !c->have_ip)
		pr_warn("net: ip=%s is not A.B.C.D/NN; ignored", ipstr);
	if (warn)
		parse_ip("gw", &c->gw);
	else if (cmdline_get(&kernel_cmdline, "gw"))
		ip4_parse(cmdline_get(&kernel_cmdline, "gw"), &c->gw);
	if (c->mode && strcmp(c->mode, "dhcp") && strcmp(c->mode, "static") &&
	    strcmp(c->mode, "none")) {
		if (warn)
			pr_warn("net: net=%s: expected dhcp, static or none; using the default",
				c->mode);
		c->mode = NULL;
	}
	if (!c->mode)
		c->mode = c->have_ip ? "static" : "dhcp";
}

/* ---- the boot's DHCP, off the critical path ----
 *
 * The client runs in a thread started by net_start; net_init does not
 * wait for it: the program starts at once, and the first thing that
 * needs the configuration (an AF_INET or netlink socket, /proc/net)
 * calls net_wait_configured, which sleeps until the lease is in or DHCP
 * has given up (DHCP_GIVEUP_NS). What net_init adds on top of the lease
 * (gw=, DHCP's name servers after dns=) is applied by whichever of the
 * two finishes last. cfg_mu guards everything below. */
static struct mutex cfg_mu = MUTEX_INIT(cfg_mu);
static struct condvar cfg_cv = CONDVAR_INIT(cfg_cv);
static volatile bool cfg_pending;  /* the boot's configuration is not final yet */
static bool cfg_ready;             /* net_init has run: waiting makes sense */
static bool dhcp_started;          /* the boot's client thread was started */
static bool dhcp_finished;         /* its thread is done (lease or not) */
static bool cfg_read;              /* net_init has read the final configuration */
static uint32_t cfg_gw;            /* gw= over DHCP's router */
static struct netif *dhcp_eth;

/* The lease is in (or DHCP gave up) and net_init has read the
 * configuration: apply gw= and DHCP's name servers. cfg_mu held. */
static void dhcp_finish(void)
{
	struct netif *eth = dhcp_eth;
	if (cfg_gw && eth->addr)
		netif_set_addr(eth, eth->addr, eth->netmask, cfg_gw);
	for (unsigned i = 0; i < ndhcp_dns; i++)
		dns_add(dhcp_dns[i]);
	cfg_pending = false;
	cond_broadcast(&cfg_cv);
}

static void dhcp_thread_fn(void *arg)
{
	dhcp_run(arg);
	mutex_lock(&cfg_mu);
	dhcp_finished = true;
	if (cfg_read)
		dhcp_finish();
	cond_broadcast(&cfg_cv);
	mutex_unlock(&cfg_mu);
}

/* Starts the boot's DHCP client on eth in the background; false when no
 * thread could be made. */
static bool dhcp_start(struct netif *eth)
{
	/* High class: it runs whenever its answer is in, ahead of the
	 * unpacking boot thread or the program. */
	struct thread_attr a = { .sched_class = SCHED_HIGH, .cpu = -1 };
	mutex_lock(&cfg_mu);
	dhcp_eth = eth;
	cfg_pending = true;
	struct thread *t = thread_create_attr(dhcp_thread_fn, eth, "dhcp", &a);
	if (t) {
		dhcp_started = true;
		thread_detach(t);
	} else {
		cfg_pending = false;
		pr_warn("net: cannot start the DHCP thread; DHCP runs in the boot thread");
	}
	mutex_unlock(&cfg_mu);
	return t != NULL;
}

/* ---- the rest of the boot's configuration, off the critical path too ----
 *
 * Without DHCP, what is left costs the boot a few milliseconds under TCG
 * (mostly the first translation of the code): netd, and for a static
 * address bringing eth0 up: ~1 MiB of receive and transmit buffers
 * allocated and 256 posted to the device, the driver's receive thread,
 * the gratuitous ARP. Nothing needs it before the program's first
 * AF_INET or netlink socket or /proc/net, which call
 * net_wait_configured: a thread does it while the program starts, and
 * they wait for it as for DHCP, so none of them sees eth0 half set up.
 * Normal class, unlike DHCP's: on one vCPU it runs when the program
 * first blocks or its time slice ends, not ahead of it; with two it
 * runs on the idle one. */
static struct {
	struct netif *eth;         /* NULL: lo only */
	uint32_t ip, mask, gw;
} bg_cfg;

/* lo and reassembly, in the boot thread whatever the mode: lo must be
 * listed from the start, as interface ioctls on an AF_UNIX socket (musl's
 * and glibc's if_nametoindex) do not wait for the configuration. Once. */
static void net_lo(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	ip_reasm_init();
	if (loopback_init() < 0)
		pr_err("net: cannot bring up lo");
}

/* netd and lo: what every mode needs; netd only for timers and
 * deferred work, which nothing arms before the first socket without
 * DHCP. The boot thread (DHCP), or the background thread. */
static void net_base(void)
{
	net_lo();
	netd_start();
}

static void bg_apply(void)
{
	net_base();
	if (bg_cfg.eth)
		netif_set_addr(bg_cfg.eth, bg_cfg.ip, bg_cfg.mask, bg_cfg.gw);
}

static void bg_thread_fn(void *arg)
{
	(void)arg;
	bg_apply();
	mutex_lock(&cfg_mu);
	cfg_pending = false;
	cond_broadcast(&cfg_cv);
	mutex_unlock(&cfg_mu);
}

/* Starts netd and, when eth is given, applies its static address in the
 * background; in the calling thread when no thread can be made. */
static void bg_start(struct netif *eth, uint32_t ip, uint32_t mask, uint32_t gw)
{
	struct thread_attr a = { .sched_class = SCHED_NORMAL, .cpu = -1 };
	mutex_lock(&cfg_mu);
	bg_cfg.eth = eth;
	bg_cfg.ip = ip;
	bg_cfg.mask = mask;
	bg_cfg.gw = gw;
	cfg_pending = true;
	struct thread *t = thread_create_attr(bg_thread_fn, NULL, "netcfg", &a);
	if (t)
		thread_detach(t);
	else
		cfg_pending = false;
	mutex_unlock(&cfg_mu);
	if (!t)
		bg_apply();
}

void net_wait_configured(void)
{
	if (!cfg_pending || !cfg_ready)
		return;
	mutex_lock(&cfg_mu);
	while (cfg_pending)
		cond_wait(&cfg_cv, &cfg_mu);
	mutex_unlock(&cfg_mu);
}

static bool file_exists(const char *path)
{
	struct file *f;
	if (vfs_open(AT_FDCWD, path, O_RDONLY, 0, 0, &f) < 0)
		return false;
	file_put(f);
	return true;
}

/*
 * Early start, called by main.c once interrupts are on and before the
 * initramfs is unpacked: netd, lo, and the DHCP exchange in a thread of
 * its own, so the lease arrives while the boot and the program go on.
 * Only when the kernel command line asks for DHCP (explicitly or by
 * default); /etc/wisp/config is read later and is honoured by net_init.
 */
void net_start(void)
{
	static bool started;
	if (started)
		return;
	started = true;
	struct netif *eth = netif_find("eth0");
	struct netcfg c;
	read_config(&c, false);
	if (eth && eth->link_up && !strcmp(c.mode, "dhcp")) {
		net_base();
		dhcp_start(eth);
	}
}

void net_init(void)
{
	net_start();
	socket_init();
	struct netif *eth = netif_find("eth0");
	struct netcfg c;
	read_config(&c, true);
	parse_dns();
	bool dhcp = eth && !strcmp(c.mode, "dhcp");
	mutex_lock(&cfg_mu);
	if (dhcp_started && !dhcp) {
		/* The configuration file chose another mode: let the client
		 * finish (it is usually done by now), then drop its lease. */
		while (cfg_pending && !dhcp_finished)
			cond_wait(&cfg_cv, &cfg_mu);
		cfg_pending = false;
		mutex_unlock(&cfg_mu);
		if (eth->addr) {
			lease_drop();
			netif_set_addr(eth, 0, 0, 0);
		}
		mutex_lock(&cfg_mu);
	}
	bool started = dhcp_started;
	mutex_unlock(&cfg_mu);

	bool static_eth = eth && !strcmp(c.mode, "static");
	bool run_dhcp = dhcp && eth->link_up;
	net_lo();
	if (!run_dhcp) {
		/* netd, and eth0's static address, in the background. */
		if (static_eth && !c.have_ip)
			pr_warn("net: net=static without ip=: %s left unconfigured", eth->name);
		if (static_eth && c.have_ip)
			bg_start(eth, c.ip, c.mask, c.gw);
		else
			bg_start(NULL, 0, 0, 0);
	} else if (net_base(), started || dhcp_start(eth)) {
		/* The client runs (started early, or now: /etc/wisp/config
		 * chose DHCP). */
		mutex_lock(&cfg_mu);
		cfg_gw = c.gw;
		cfg_read = true;
		if (dhcp_finished)
			dhcp_finish();
		mutex_unlock(&cfg_mu);
	} else {
		/* No thread: the old way, in the boot thread. */
		dhcp_run(eth);
		if (c.gw && eth->addr)
			netif_set_addr(eth, eth->addr, eth->netmask, c.gw);
		for (unsigned i = 0; i < ndhcp_dns; i++)
			dns_add(dhcp_dns[i]);
	}
	cfg_ready = true;
	/* /etc/resolv.conf needs DHCP's name servers and is only written
	 * when the image has none (the tool puts one in): without it, wait
	 * here, as the program could read it before its first socket. */
	if (run_dhcp && cfg_pending && !file_exists("/etc/resolv.conf"))
		net_wait_configured();
	if (!run_dhcp || !cfg_pending)
		write_resolv_conf();    /* dns= (and DHCP's, once in) */
}
