/*
 * TEMPORARY (session 2 integration): weak stand-ins for the stack's
 * cross-layer entry points (net/stack.h, net/socket.h) so the kernel links
 * while the layers are written in parallel. Each layer's real definition
 * overrides its stand-in; this file is deleted once all exist.
 */
#include "net/stack.h"
#include "net/socket.h"
#include "errno.h"

#define WEAK __attribute__((weak))

WEAK spinlock_t net_lock;
WEAK struct net_mib net_mib;
WEAK uint64_t net_now_ns(void) { return 0; }
WEAK void net_timer_init(struct net_timer *t, net_timer_fn fn, void *arg)
{
	t->deadline = 0; t->fn = fn; t->arg = arg;
}
WEAK void net_timer_arm(struct net_timer *t, uint64_t deadline) { (void)t; (void)deadline; }
WEAK void net_timer_cancel(struct net_timer *t) { t->deadline = 0; }
WEAK int ip_output(const struct ip_tx *tx, const struct net_iov *iov, int n)
{
	(void)tx; (void)iov; (void)n; return -ENETUNREACH;
}
WEAK int ip_route(uint32_t dst, struct ip_route_info *ri) { (void)dst; (void)ri; return -ENETUNREACH; }
WEAK bool ip_is_local(uint32_t addr) { (void)addr; return false; }
WEAK bool ip_is_broadcast(uint32_t addr) { return addr == 0xffffffffu; }
WEAK uint16_t ip_next_id(void) { return 0; }
WEAK bool udp_input(struct netif *nif, const struct ipv4_info *ip, const struct udp_info *u)
{
	(void)nif; (void)ip; (void)u; return false;
}
WEAK void tcp_input(struct netif *nif, const struct ipv4_info *ip, const struct tcp_info *t)
{
	(void)nif; (void)ip; (void)t;
}
WEAK void udp_icmp_error(uint8_t type, uint8_t code, uint32_t mtu,
			 const struct ipv4_info *orig, const uint8_t *l4, size_t l4_len)
{
	(void)type; (void)code; (void)mtu; (void)orig; (void)l4; (void)l4_len;
}
WEAK void tcp_icmp_error(uint8_t type, uint8_t code, uint32_t mtu,
			 const struct ipv4_info *orig, const uint8_t *l4, size_t l4_len)
{
	(void)type; (void)code; (void)mtu; (void)orig; (void)l4; (void)l4_len;
}
WEAK void icmp_send_error(uint8_t type, uint8_t code, uint32_t info, const struct ipv4_info *ip)
{
	(void)type; (void)code; (void)info; (void)ip;
}
WEAK void net_init(void) {}
WEAK unsigned net_dns_servers(uint32_t *out, unsigned max) { (void)out; (void)max; return 0; }
WEAK size_t tcp_proc_net(char *buf, size_t len) { (void)buf; (void)len; return 0; }
WEAK size_t udp_proc_net(char *buf, size_t len) { (void)buf; (void)len; return 0; }
WEAK size_t unix_proc_net(char *buf, size_t len) { (void)buf; (void)len; return 0; }

WEAK struct socket *sock_alloc(int family, int type, int protocol)
{
	(void)family; (void)type; (void)protocol; return NULL;
}
WEAK void sock_get(struct socket *s) { (void)s; }
WEAK void sock_put(struct socket *s) { (void)s; }
WEAK int sock_install(struct socket *s, int flags) { (void)s; (void)flags; return -ENOSYS; }
WEAK void sock_register_family(int family, sock_create_fn create) { (void)family; (void)create; }
WEAK bool sock_nonblock(struct socket *s, int msg_flags) { (void)s; (void)msg_flags; return true; }
WEAK uint64_t sock_rcv_deadline(struct socket *s) { (void)s; return 0; }
WEAK uint64_t sock_snd_deadline(struct socket *s) { (void)s; return 0; }
WEAK void sock_wake(struct socket *s, uint32_t events) { (void)s; (void)events; }
WEAK struct socket *sock_of_file(struct file *f) { (void)f; return NULL; }
WEAK void socket_init(void) {}
/* AF_INET stream sockets (tcp_sock.c), called by the AF_INET create
 * function (inet.c) for SOCK_STREAM. */
WEAK int tcp_sock_create(struct socket *s, int protocol) { (void)s; (void)protocol; return -EPROTONOSUPPORT; }
WEAK int udp_sock_create(struct socket *s, int protocol) { (void)s; (void)protocol; return -EPROTONOSUPPORT; }
