"""Networking: the net self-test on QEMU's user-mode network (slirp) over
virtio-mmio (microvm) and virtio-pci (q35, pc): virtio-net comes up with
the MAC and MTU from its config, eth0 gets 10.0.2.15 from slirp's DHCP
server (or ip=/gw= on the command line), the gateway 10.0.2.2 is resolved
by ARP and answers pings (four, then 600 to cycle the rings), lo answers
pings to 127/8 and to our own address, crafted fragments are reassembled
and answered in fragments, a UDP datagram to a closed port draws an ICMP
port unreachable, fragmentation-needed lowers one path's MTU, a datagram
waits behind ARP, malformed frames fed to the input path are counted
under their drop reasons. /proc/net files read by busybox. No traffic
leaves QEMU's user-mode network. The QEMU arguments are the ones
docs/net.md gives."""
import os
import re
import socket
import threading

import pytest

from conftest import BUILD, BUSYBOX, boot, wisp

MACHINES = ["microvm", "q35", "pc"]


def net_args(machine, dev_opts=""):
    """QEMU arguments for one virtio-net NIC on user-mode networking."""
    dev = "virtio-net-device" if machine == "microvm" else "virtio-net-pci"
    args = ["-netdev", "user,id=n0", "-device", f"{dev},netdev=n0{dev_opts}"]
    if machine == "microvm":
        # QEMU 7.2 gives legacy (virtio 0.9) MMIO devices unless told not to.
        args = ["-global", "virtio-mmio.force-legacy=false"] + args
    return args


def dhcp_ok(b):
    """eth0 got slirp's address by DHCP, quickly (a few ms under TCG)."""
    m = re.search(r"net: eth0: DHCP lease 10\.0\.2\.15/24 from 10\.0\.2\.2 for \d+s "
                  r"in (\d+)\.(\d{3}) ms", b.log)
    assert m, b
    assert int(m.group(1)) < 100, b
    assert "eth0: address 10.0.2.15 netmask 255.255.255.0 gateway 10.0.2.2" in b.log, b


def ip_layer_ok(b):
    """The IPv4 layer's self-test sections passed."""
    for line in ("net: lo: 64 bytes from 127.0.0.1: time=",
                 "net: lo: 64 bytes from 127.1.2.3: time=",
                 "net: lo: 64 bytes from 10.0.2.",      # our own address, through lo
                 "net: lo: 30008 bytes from 127.0.0.1: time=",
                 "net: lo: 200 pings: rtt min/avg = ",
                 "net: 47 net timers (5 ms to 1.2 s) ran in order,",
                 "net: fragmented echo request (3 fragments, reversed) answered in ",
                 "net: UDP to a closed port answered by ICMP port unreachable",
                 "net: fragmentation needed (mtu 1200) lowered the path MTU",
                 "net: datagram queued behind ARP and sent on the reply; 4008-byte UDP "
                 "datagram sent in "):
        assert line in b.log, (line, b)


def selftest_ok(b):
    m = re.search(r"selftests: (\d+) ran, (\d+) failed", b.log)
    assert m and m.group(1) == "1" and m.group(2) == "0", b
    assert b.status == 0, b


@pytest.mark.parametrize("machine", MACHINES)
def test_net_ping_gateway(machine):
    b = boot("selftest=net", machine=machine, timeout=120, extra=net_args(machine))
    selftest_ok(b)
    assert "net: eth0: 52:54:00:12:34:56, mtu 1500, link up" in b.log, b
    dhcp_ok(b)
    assert re.search(r"net: 10\.0\.2\.2 is at 52:55:0a:00:02:02 \(ARP", b.log), b
    for seq in (1, 2, 3):
        assert re.search(rf"64 bytes from 10\.0\.2\.2: icmp_seq={seq} time=\d+\.\d{{3}} ms",
                         b.log), b
    assert re.search(r"1480 bytes from 10\.0\.2\.2: icmp_seq=4 time=", b.log), b
    assert "net: 600 pings: rtt min/avg/max" in b.log, b
    # Replies came by interrupt; nothing was refused for lack of buffers.
    m = re.search(r"eth0: rx (\d+) packets .* tx (\d+) packets \d+ bytes \((\d+) dropped\), "
                  r"(\d+) rx interrupts", b.log)
    assert m, b
    rx, tx, txdrop, irqs = map(int, m.groups())
    assert rx >= 605 and tx >= 605 and txdrop == 0 and irqs > 0, b
    # Every malformed frame counted under its own reason.
    for reason in ("eth_short", "eth_type", "eth_dst", "arp_format", "ip_short", "ip_len",
                   "ip_csum", "ip_src", "ip_not_us", "udp_csum", "tcp_opt"):
        assert f"dropped {reason}: 1" in b.log, (reason, b)
    assert "dropped ip_ihl: 2" in b.log, b
    # A bad fragment and a conflicting overlap; the closed-port datagrams.
    assert "dropped ip_reasm: 2" in b.log, b
    assert "dropped udp_no_port: 3" in b.log, b
    ip_layer_ok(b)
    # The fuzzed input path: everything accounted for, every reply well formed.
    assert re.search(r"net: fuzz: 20000 frames in, \d+ dropped, \d+ replies \(0 malformed\)",
                     b.log), b


@pytest.mark.parametrize("machine", ["microvm", "q35"])
def test_net_smp(machine):
    """Four vCPUs: the interrupt on one CPU, the pinging thread anywhere.
    (Buffers are allocated when the interface comes up, after the APs
    started; allocating them at probe once broke AP start-up.)"""
    b = boot("selftest=net", machine=machine, smp=4, mem="128M", timeout=120,
             extra=net_args(machine))
    selftest_ok(b)
    dhcp_ok(b)
    assert "net: 600 pings: rtt min/avg/max" in b.log, b
    ip_layer_ok(b)
    assert "0 malformed" in b.log, b


@pytest.mark.parametrize("machine", ["microvm", "q35"])
def test_net_mac_and_mtu_from_config(machine):
    """mac= and host_mtu= reach the driver through the device config
    (VIRTIO_NET_F_MAC, VIRTIO_NET_F_MTU); the full-size ping shrinks."""
    b = boot("selftest=net", machine=machine, timeout=120,
             extra=net_args(machine, ",mac=52:54:00:ab:cd:ef,host_mtu=1280"))
    selftest_ok(b)
    assert "net: eth0: 52:54:00:ab:cd:ef, mtu 1280, link up" in b.log, b
    assert re.search(r"1260 bytes from 10\.0\.2\.2: icmp_seq=4 time=", b.log), b


def test_net_static_address_from_cmdline():
    b = boot("selftest=net net.ip=10.0.2.20", timeout=120, extra=net_args("microvm"))
    selftest_ok(b)
    assert "eth0: address 10.0.2.20 netmask 255.255.255.0 gateway 10.0.2.2" in b.log, b


def test_net_static_ip_and_gw():
    """ip=/gw=/dns= configure eth0 without DHCP; the self-test runs on it."""
    b = boot("selftest=net ip=10.0.2.30/24 gw=10.0.2.2 dns=10.0.2.3,1.1.1.1", timeout=120,
             extra=net_args("microvm"))
    selftest_ok(b)
    assert "eth0: address 10.0.2.30 netmask 255.255.255.0 gateway 10.0.2.2" in b.log, b
    assert "DHCP" not in b.log, b
    assert "net selftest: eth0 is 10.0.2.30/24, gateway 10.0.2.2" in b.log, b
    ip_layer_ok(b)


def test_net_none_leaves_eth0_unconfigured():
    b = boot("net=none -- /bin/busybox cat /proc/net/route", files={"/bin/busybox": BUSYBOX},
             timeout=60, extra=net_args("microvm"))
    assert b.status == 0, b
    assert "DHCP" not in b.log and "eth0: address" not in b.log, b
    # No route but the header.
    assert b.stdout.decode().count("\n") == 1, b


def test_net_without_nic_skips():
    b = boot("selftest=net", timeout=60)
    selftest_ok(b)
    assert "no network interface; skipped" in b.log, b
    assert "DHCP" not in b.log, b


def test_proc_net_files():
    """busybox reads /proc/net/{dev,snmp,route,arp} after a DHCP boot; they
    have Linux's layout; /etc/resolv.conf was written from DHCP's DNS."""
    b = boot("-- /bin/busybox cat /proc/net/dev /proc/net/snmp /proc/net/route "
             "/proc/net/arp /proc/net/tcp /proc/net/udp /proc/net/unix /etc/resolv.conf",
             files={"/bin/busybox": BUSYBOX}, timeout=60, extra=net_args("q35"),
             machine="q35")
    assert b.status == 0, b
    out = b.stdout.decode()
    resolv = out[out.index("nameserver"):]
    lines = out.splitlines()
    assert lines[0].startswith("Inter-|   Receive"), out
    assert lines[1].startswith(" face |bytes    packets errs drop"), out
    dev = {l.split(":")[0].strip(): l.split(":")[1].split() for l in lines[2:4]}
    assert set(dev) == {"eth0", "lo"}, out
    assert all(len(v) == 16 and all(x.isdigit() for x in v) for v in dev.values()), out
    assert int(dev["eth0"][1]) >= 2 and int(dev["eth0"][9]) >= 3, out   # DHCP exchange
    snmp = [l for l in lines if re.match(r"(Ip|Icmp|Tcp|Udp|UdpLite): ", l)]
    assert [l.split(":")[0] for l in snmp] == ["Ip", "Ip", "Icmp", "Icmp", "Tcp", "Tcp",
                                               "Udp", "Udp", "UdpLite", "UdpLite"], out
    for head, vals in zip(snmp[0::2], snmp[1::2]):
        assert len(head.split()) == len(vals.split()), (head, vals)
        assert all(re.fullmatch(r"-?\d+", v) for v in vals.split()[1:]), vals
    ip = dict(zip(snmp[0].split()[1:], map(int, snmp[1].split()[1:])))
    assert ip["Forwarding"] == 2 and ip["DefaultTTL"] == 64 and ip["InReceives"] >= 2, out
    route = [l for l in lines if l.startswith("Iface\t") or l.startswith("eth0\t")]
    assert route[0].split() == ["Iface", "Destination", "Gateway", "Flags", "RefCnt", "Use",
                                "Metric", "Mask", "MTU", "Window", "IRTT"], out
    assert "eth0\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF" in out, out
    assert "eth0\t00000000\t0202000A\t0003\t0\t0\t0\t00000000" in out, out
    assert all(len(l) == 127 for l in route), out
    assert any(l.startswith("IP address       HW type     Flags       HW address") for l in lines)
    assert resolv == "nameserver 10.0.2.3\n", resolv


def test_net_dhcp_renewal():
    """The lease is renewed at T1 (brought forward to 1 s by dhcp.t1=1) by a
    unicast REQUEST from netd while the program runs."""
    b = boot("dhcp.t1=1 -- /bin/busybox sleep 2", files={"/bin/busybox": BUSYBOX},
             timeout=60, extra=net_args("microvm"))
    assert b.status == 0, b
    dhcp_ok(b)
    assert "net: eth0: DHCP lease of 10.0.2.15 renewed for " in b.log, b


def test_net_config_file_overrides_early_dhcp():
    """DHCP starts before /etc/wisp/config is read; ip= from the file still
    wins: the lease is dropped and the static address set."""
    conf = b"ip=10.0.2.40/24 gw=10.0.2.2 -- /bin/busybox cat /proc/net/route\n"
    b = boot("", files={"/bin/busybox": BUSYBOX, "/etc/wisp/config": conf},
             timeout=60, extra=net_args("microvm"))
    assert b.status == 0, b
    assert "eth0: address 10.0.2.40 netmask 255.255.255.0 gateway 10.0.2.2" in b.log, b
    assert b.log.rindex("address 10.0.2.40") > b.log.rindex("DHCP lease"), b
    assert "eth0\t0002000A\t00000000\t0001" in b.stdout.decode(), b


def test_net_dhcp_without_server():
    """A NIC on a hub with nobody else: DHCP retries with backoff, gives up
    after 3 s with a warning, eth0 stays unconfigured and the program runs."""
    extra = ["-global", "virtio-mmio.force-legacy=false", "-netdev", "hubport,id=n0,hubid=0",
             "-device", "virtio-net-device,netdev=n0"]
    b = boot("-- /bin/busybox cat /proc/net/snmp", files={"/bin/busybox": BUSYBOX}, timeout=60,
             extra=extra)
    assert b.status == 0, b
    m = re.search(r"net: eth0: no DHCP answer in (\d+) ms; left unconfigured", b.log)
    assert m and 2900 <= int(m.group(1)) <= 4000, b
    assert "eth0: address" not in b.log, b
    # DISCOVERs at 0, 0.1, 0.3, 0.7, 1.5, 2.5 s: six.
    udp = [l.split() for l in b.stdout.decode().splitlines() if l.startswith("Udp:")]
    out = dict(zip(udp[0][1:], udp[1][1:]))
    assert out["OutDatagrams"] == "6", out


# A NIC on a hub with nobody else: DHCP never gets an answer (3 s to give up).
HUB_NIC = ["-global", "virtio-mmio.force-legacy=false", "-netdev", "hubport,id=n0,hubid=0",
           "-device", "virtio-net-device,netdev=n0"]
RESOLV = {"/etc/resolv.conf": b"nameserver 10.0.2.3\n"}   # as `wisp run` images have


def test_net_program_starts_before_dhcp():
    """DHCP is off the boot's critical path: with a DHCP server that never
    answers, a program that does not use the network starts and ends at once
    (the boot used to wait the 3 s DHCP takes to give up)."""
    b = boot("-- /bin/busybox true", files={"/bin/busybox": BUSYBOX, **RESOLV}, timeout=60,
             extra=HUB_NIC)
    assert b.status == 0, b
    m = re.search(r"program started after (\d+) us", b.log)
    assert m and int(m.group(1)) < 1000000, b
    assert "no DHCP answer" not in b.log, b


@pytest.mark.parametrize("cmd", ["ifconfig eth0",       # AF_INET socket, SIOCGIF* ioctls
                                 "ip -4 addr",          # netlink (getifaddrs' path)
                                 "cat /proc/net/route"])
def test_net_first_user_waits_for_dhcp(cmd):
    """...while the first user of the configuration (an AF_INET or netlink
    socket, /proc/net) waits until DHCP gives up, and sees eth0 unconfigured."""
    b = boot(f"-- /bin/busybox {cmd}", files={"/bin/busybox": BUSYBOX, **RESOLV}, timeout=60,
             extra=HUB_NIC)
    assert b.status == 0, b
    m = re.search(r"net: eth0: no DHCP answer in (\d+) ms; left unconfigured", b.log)
    assert m and 2900 <= int(m.group(1)) <= 4000, b
    assert b.log.index("program started after") < m.start(), b
    out = b.stdout.decode()
    assert "10.0.2." not in out and "inet addr" not in out, b


def test_net_slirp_program_gets_lease_started_early():
    """On slirp, a program that started while DHCP ran gets the lease on its
    first socket (ifconfig shows the address; gw= from the command line
    still replaces DHCP's router)."""
    b = boot("gw=10.0.2.3 -- /bin/busybox ifconfig eth0",
             files={"/bin/busybox": BUSYBOX, **RESOLV}, timeout=60, extra=net_args("microvm"))
    assert b.status == 0, b
    dhcp_ok(b)
    assert "inet addr:10.0.2.15  Bcast:10.0.2.255  Mask:255.255.255.0" in b.stdout.decode(), b
    assert "eth0: address 10.0.2.15 netmask 255.255.255.0 gateway 10.0.2.3" in b.log, b


def test_net_boot_waits_for_dhcp_without_resolv_conf():
    """An image without /etc/resolv.conf: the kernel writes it from DHCP's
    name servers, so the program (which may read it before any socket)
    starts only once DHCP is done (here: has given up)."""
    b = boot("-- /bin/busybox true", files={"/bin/busybox": BUSYBOX}, timeout=60, extra=HUB_NIC)
    assert b.status == 0, b
    m = re.search(r"net: eth0: no DHCP answer in (\d+) ms", b.log)
    assert m and m.start() < b.log.index("program started after"), b


def test_net_default_plan_program_starts_before_eth0_is_up():
    """`wisp run`'s default plan (slirp, with the static address the tool
    passes): eth0 is brought up and given its address by a thread, not by
    the boot, so on one vCPU the program starts first; its first AF_INET
    socket (ifconfig's) waits for it and sees eth0 configured."""
    p = wisp("run", "--accel", "tcg", "-c", "1", "--verbose", "--",
             "busybox", "ifconfig", "eth0")
    err = p.stderr.decode()
    assert p.returncode == 0, err
    assert "net=static ip=10.0.2.15/24 gw=10.0.2.2" in err, err
    started = err.index("program started after")
    up = err.index("virtio-net: eth0: up")
    addr = err.index("net: eth0: address 10.0.2.15 netmask 255.255.255.0 gateway 10.0.2.2")
    assert started < up < addr, err
    out = p.stdout.decode()
    assert "inet addr:10.0.2.15  Bcast:10.0.2.255  Mask:255.255.255.0" in out, out
    assert "UP BROADCAST RUNNING" in out, out


def _pattern(n, mod, mul, add):
    block = bytes(((i * mul + add) & 255) for i in range(mod))
    return (block * (n // mod + 1))[:n]


def _host_exchange(ls, n, result):
    """tcp_peer's exchange (tests/guest/tcp_peer.c) on one connection:
    send n bytes of the host's pattern while receiving the guest's."""
    try:
        c, _ = ls.accept()
        c.settimeout(60)
        c.sendall(_pattern(n, 65519, 13, 5))
        c.shutdown(socket.SHUT_WR)
        got = bytearray()
        while True:
            d = c.recv(65536)
            if not d:
                break
            got += d
        result["ok"] = bytes(got) == _pattern(n, 65521, 7, 3)
        c.close()
    except OSError as e:
        result["error"] = repr(e)


@pytest.mark.parametrize("smp", [1, 2])
def test_net_default_plan_program_uses_network_at_once(smp):
    """A program that connects to the host as its first act, under the
    default plan: its socket waits for the background configuration and the
    connection works (tcp_peer and the host exchange 64 KiB, every byte
    checked)."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    ls.settimeout(120)
    port = ls.getsockname()[1]
    result = {}
    t = threading.Thread(target=_host_exchange, args=(ls, 1 << 16, result))
    t.start()
    peer = os.path.join(BUILD, "tests", "guest", "musl", "tcp_peer")
    try:
        p = wisp("run", "--accel", "tcg", "-c", str(smp), "--verbose", "--",
                 peer, "connect", "10.0.2.2", str(port), str(1 << 16), timeout=180)
    finally:
        t.join(timeout=60)
        ls.close()
    err = p.stderr.decode()
    assert p.returncode == 0, (p.stdout, err)
    assert b"sent 65536 received 65536 ok" in p.stdout, (p.stdout, err)
    assert result.get("ok"), result
    if smp == 1:    # with two vCPUs the thread configuring eth0 may run first
        assert err.index("program started after") < err.index("net: eth0: address 10.0.2.15"), err
