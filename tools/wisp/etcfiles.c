/* The generated /etc files; see etcfiles.h. */
#include "etcfiles.h"

#include <stdlib.h>

#include "buf.h"

/* 127.0.1.1 for the host name, as Debian does: it resolves without a
 * network and whatever address the NIC gets. */
static const char hosts[] =
	"127.0.0.1\tlocalhost\n"
	"127.0.1.1\t" WISP_HOSTNAME "\n"
	"::1\tlocalhost ip6-localhost ip6-loopback\n";

/* glibc 2.34+ has the files and dns back-ends built in: no NSS module to
 * dlopen (musl reads the files directly). */
static const char nsswitch[] =
	"passwd:\tfiles\n"
	"group:\tfiles\n"
	"shadow:\tfiles\n"
	"hosts:\tfiles dns\n"
	"networks:\tfiles\n"
	"protocols:\tfiles\n"
	"services:\tfiles\n";

/* root, the unprivileged accounts servers drop to (nginx's Debian default
 * is www-data; nobody/nogroup elsewhere). There is one address space and
 * no permission checks between users, so the ids only need to resolve. */
static const char passwd[] =
	"root:x:0:0:root:/root:/bin/sh\n"
	"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
	"www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"
	"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";

static const char group[] =
	"root:x:0:\n"
	"daemon:x:1:\n"
	"www-data:x:33:\n"
	"nogroup:x:65534:\n";

/* The services and protocols servers and clients name most; the host's
 * full files can be added with --add /etc/services. */
static const char services[] =
	"ftp\t\t21/tcp\n"
	"ssh\t\t22/tcp\n"
	"telnet\t\t23/tcp\n"
	"smtp\t\t25/tcp\t\tmail\n"
	"domain\t\t53/tcp\n"
	"domain\t\t53/udp\n"
	"bootps\t\t67/udp\n"
	"bootpc\t\t68/udp\n"
	"http\t\t80/tcp\t\twww\n"
	"pop3\t\t110/tcp\t\tpop-3\n"
	"ntp\t\t123/udp\n"
	"imap2\t\t143/tcp\t\timap\n"
	"https\t\t443/tcp\n"
	"https\t\t443/udp\n"
	"submission\t587/tcp\n"
	"imaps\t\t993/tcp\n"
	"pop3s\t\t995/tcp\n"
	"mysql\t\t3306/tcp\n"
	"postgresql\t5432/tcp\tpostgres\n"
	"iperf3\t\t5201/tcp\n"
	"redis\t\t6379/tcp\n"
	"http-alt\t8080/tcp\twebcache\n"
	"memcache\t11211/tcp\n";

static const char protocols[] =
	"ip\t0\tIP\n"
	"icmp\t1\tICMP\n"
	"tcp\t6\tTCP\n"
	"udp\t17\tUDP\n"
	"ipv6\t41\tIPv6\n"
	"ipv6-icmp\t58\tIPv6-ICMP\n";

size_t etc_files(const char *dns, struct etc_file **out)
{
	struct etc_file *f = xcalloc(9, sizeof(*f));
	size_t n = 0;

	f[n++] = (struct etc_file){ "/etc/hostname", xstrdup(WISP_HOSTNAME "\n") };
	f[n++] = (struct etc_file){ "/etc/hosts", xstrdup(hosts) };
	if (dns)
		f[n++] = (struct etc_file){ "/etc/resolv.conf", xasprintf("nameserver %s\n", dns) };
	f[n++] = (struct etc_file){ "/etc/nsswitch.conf", xstrdup(nsswitch) };
	f[n++] = (struct etc_file){ "/etc/services", xstrdup(services) };
	f[n++] = (struct etc_file){ "/etc/protocols", xstrdup(protocols) };
	f[n++] = (struct etc_file){ "/etc/passwd", xstrdup(passwd) };
	f[n++] = (struct etc_file){ "/etc/group", xstrdup(group) };
	*out = f;
	return n;
}

void etc_files_free(struct etc_file *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(f[i].text);
	free(f);
}
