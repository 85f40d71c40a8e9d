"""Networking: the net self-test on QEMU's user-mode network (slirp) over
virtio-mmio (microvm) and virtio-pci (q35, pc): virtio-net comes up with
the MAC and MTU from its config, the gateway 10.0.2.2 is resolved by ARP
and answers pings (four, then 600 to cycle the rings), malformed frames
fed to the input path are counted under their drop reasons. No traffic
leaves QEMU's user-mode network. The QEMU arguments are the ones
docs/net.md gives."""
import re

import pytest

from conftest import boot

MACHINES = ["microvm", "q35", "pc"]


def net_args(machine, dev_opts=""):
    """QEMU arguments for one virtio-net NIC on user-mode networking."""
    dev = "virtio-net-device" if machine == "microvm" else "virtio-net-pci"
    args = ["-netdev", "user,id=n0", "-device", f"{dev},netdev=n0{dev_opts}"]
    if machine == "microvm":
        # QEMU 7.2 gives legacy (virtio 0.9) MMIO devices unless told not to.
        args = ["-global", "virtio-mmio.force-legacy=false"] + args
    return args


def selftest_ok(b):
    m = re.search(r"selftests: (\d+) ran, (\d+) failed", b.log)
    assert m and m.group(1) == "1" and m.group(2) == "0", b
    assert b.status == 0, b


@pytest.mark.parametrize("machine", MACHINES)
def test_net_ping_gateway(machine):
    b = boot("selftest=net", machine=machine, timeout=120, extra=net_args(machine))
    selftest_ok(b)
    assert "net: eth0: 52:54:00:12:34:56, mtu 1500, link up" in b.log, b
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
                   "ip_csum", "ip_src", "ip_not_us", "ip_reasm", "udp_csum", "udp_no_port",
                   "tcp_opt"):
        assert f"dropped {reason}: 1" in b.log, (reason, b)
    assert "dropped ip_ihl: 2" in b.log, b
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
    assert "net: 600 pings: rtt min/avg/max" in b.log, b
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


def test_net_without_nic_skips():
    b = boot("selftest=net", timeout=60)
    selftest_ok(b)
    assert "no network interface; skipped" in b.log, b
