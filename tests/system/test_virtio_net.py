"""virtio-net driver: feature negotiation, offloads, NAPI-style receive.

QEMU's user-mode network (slirp) offers MRG_RXBUF and EVENT_IDX but no
checksum or segmentation offload (those need a back-end with vnet headers);
a tap device in a private network namespace (unshare -n: nothing on the
host changes) offers CSUM, HOST_TSO4 and GUEST_CSUM, with the namespace's
Linux answering at 10.0.2.2. Each feature turned off on the QEMU side must
leave a working driver: selftest=net pings the gateway 600+ times and
selftest=vnet sends bursts of echo requests through the gather xmit.
The vnet self-test's figures (transmit frames/s, receive interrupts per
1000 frames with and without polling/event indexes) are printed, not
asserted."""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, boot

ALL_SLIRP = "mrg_rxbuf event_idx status"
ALL_TAP = "csum tso4 guest_csum guest_tso4 mrg_rxbuf event_idx status"


def net_args(machine, dev_opts="", tap=False):
    dev = "virtio-net-device" if machine == "microvm" else "virtio-net-pci"
    nd = "tap,id=n0,ifname=tap0,script=no,downscript=no" if tap else "user,id=n0"
    args = ["-netdev", nd, "-device", f"{dev},netdev=n0{dev_opts}"]
    if machine == "microvm":
        args = ["-global", "virtio-mmio.force-legacy=false"] + args
    return args


# QEMU runs in a private network namespace holding tap0 = 10.0.2.2/24.
TAP_WRAP = ["unshare", "-n", "sh", "-c",
            "ip tuntap add dev tap0 mode tap && ip addr add 10.0.2.2/24 dev tap0 && "
            "ip link set tap0 up && ip link set lo up && exec \"$@\"", "sh"]


def tap_available():
    if not shutil.which("unshare") or not shutil.which("ip"):
        return False
    r = subprocess.run(TAP_WRAP + ["true"], capture_output=True)
    return r.returncode == 0


needs_tap = pytest.mark.skipif(not tap_available(),
                               reason="no unshare -n / tap (needs CAP_NET_ADMIN)")


def run(machine="microvm", tests="net,vnet", cmdline="", dev_opts="", tap=False, smp=1):
    if tap:
        cmdline += " ip=10.0.2.15/24 gw=10.0.2.2"    # no DHCP server on the tap
    b = boot(f"selftest={tests} {cmdline}", machine=machine, smp=smp, mem="128M",
             timeout=120, extra=net_args(machine, dev_opts, tap),
             wrap=TAP_WRAP if tap else ())
    n = len(tests.split(","))
    m = re.search(r"selftests: (\d+) ran, (\d+) failed", b.log)
    assert m and m.group(1) == str(n) and m.group(2) == "0", b
    assert b.status == 0, b
    if "net" in tests.split(","):
        assert "net: 600 pings: rtt min/avg/max" in b.log, b
    return b


def features(b):
    m = re.search(r"net: eth0: features ([a-z0-9_ ]+)", b.log)
    assert m, b
    return m.group(1).strip()


def figures(b):
    """{(small|full): (tx frames/s, rx irqs per 1000, polls per 1000,
    all device interrupts per 1000 frames sent)}"""
    out = {}
    for what in ("small", "full"):
        tx = re.search(rf"vnet: {what}: tx \d+ frames of \d+ bytes in \d+ us: (\d+) frames/s",
                       b.log)
        rx = re.search(rf"vnet: {what}: rx \d+ frames, \d+ interrupts \((\d+) per 1000 frames\)"
                       rf", \d+ polls \((\d+) per 1000\); \d+ device interrupts in all "
                       rf"\((\d+) per 1000", b.log)
        assert tx and rx, b
        out[what] = (int(tx.group(1)), int(rx.group(1)), int(rx.group(2)), int(rx.group(3)))
    return out


def test_features_slirp_microvm():
    b = run()
    assert features(b) == ALL_SLIRP, b
    figures(b)


def test_q35_smp2():
    """virtio-pci, the interrupt on one CPU and the receive thread on any."""
    b = run(machine="q35", smp=2)
    assert features(b) == ALL_SLIRP, b


@pytest.mark.parametrize("opts,expect", [
    (",mrg_rxbuf=off", "event_idx status"),
    (",event_idx=off", "mrg_rxbuf status"),
    (",mrg_rxbuf=off,event_idx=off,status=off", "none"),
])
def test_features_off_slirp(opts, expect):
    b = run(dev_opts=opts)
    assert features(b) == expect, b


def test_no_napi():
    """virtio_net.napi=0: every frame taken in the interrupt handler."""
    run(cmdline="virtio_net.napi=0", dev_opts=",event_idx=off")


@needs_tap
@pytest.mark.parametrize("machine,smp", [("microvm", 1), ("q35", 2)])
def test_offloads_tap(machine, smp):
    b = run(machine=machine, tap=True, smp=smp)
    assert features(b) == ALL_TAP, b


@needs_tap
@pytest.mark.parametrize("opts,expect", [
    (",csum=off", "guest_csum guest_tso4 mrg_rxbuf event_idx status"),   # TSO needs CSUM
    (",mrg_rxbuf=off", "csum tso4 guest_csum event_idx status"),   # no 64 KiB buffers
    (",host_tso4=off,guest_csum=off", "csum mrg_rxbuf event_idx status"),
    (",csum=off,guest_csum=off,host_tso4=off,mrg_rxbuf=off,event_idx=off", "status"),
])
def test_offloads_off_tap(opts, expect):
    b = run(tap=True, dev_opts=opts)
    assert features(b) == expect, b


# Runs QEMU ("$@") and, once its QMP socket answers, turns the NIC's link
# off and on again (the guest waits for both).
LINK_FLIPPER = r"""
import json, os, socket, subprocess, sys, time
path = sys.argv[1]
q = subprocess.Popen(sys.argv[2:])
s = socket.socket(socket.AF_UNIX)
for _ in range(500):
    try:
        s.connect(path)
        break
    except OSError:
        time.sleep(0.01)
f = s.makefile("rw")
f.readline()
def cmd(c, **a):
    f.write(json.dumps({"execute": c, "arguments": a}) + "\n"); f.flush()
    while "return" not in json.loads(f.readline()):
        pass
cmd("qmp_capabilities")
time.sleep(1.0)
cmd("set_link", name="n0", up=False)
time.sleep(0.3)
cmd("set_link", name="n0", up=True)
sys.exit(q.wait())
"""


@pytest.mark.parametrize("machine", ["microvm", "q35"])
def test_link_status(machine, tmp_path):
    """VIRTIO_NET_F_STATUS: set_link off/on reaches the driver through the
    configuration interrupt; the network works afterwards."""
    sock = str(tmp_path / "qmp.sock")
    b = boot("selftest=vnet,net vnet.link_wait=1", machine=machine, timeout=60,
             extra=net_args(machine) + ["-qmp", f"unix:{sock},server=on,wait=off"],
             wrap=["/usr/bin/python3", "-c", LINK_FLIPPER, sock])
    assert re.search(r"vnet: 2 link change\(s\) after \d+ ms, link up", b.log), b
    assert "net: eth0: link down" in b.log and "net: eth0: link up" in b.log, b
    assert re.search(r"selftests: 2 ran, 0 failed", b.log) and b.status == 0, b


def test_measurements(capsys):
    """Receive interrupts per 1000 frames of a burst and transmit rate,
    with polling + event indexes (the default) and without either."""
    rows = []
    for name, cmdline, opts in (("napi+event_idx", "", ""),
                                ("napi", "", ",event_idx=off"),
                                ("neither", "virtio_net.napi=0", ",event_idx=off")):
        f = figures(run(tests="vnet", cmdline=cmdline, dev_opts=opts))
        rows.append((name, f))
    with capsys.disabled():
        print("\nvirtio-net bursts (microvm, slirp, TCG), per 1000 frames: receive "
              "interrupts, polls, all device interrupts; transmit frames/s")
        for name, f in rows:
            print("  " + f"{name:15s}" + "   ".join(
                f"{w}: {f[w][1]:4d} rx irq {f[w][2]:4d} polls {f[w][3]:4d} irq {f[w][0]:7d} fps"
                for w in ("small", "full")))


# --- TCP through the offloads, end to end ---------------------------------------

# The peer in the namespace: takes one connection, sends SENDFILE's bytes
# (if any) while reading to the guest's end of stream, then ends its own
# (only then: the guest exits, and the VM with it, on our end of stream). A
# packet socket on the tap counts frames longer than 1514 bytes each way:
# TSO frames from the guest, GSO frames Linux hands to the guest.
SINK = r"""
import hashlib, json, socket, sys, threading, time
addr, port, sendfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
big = {"from_guest": 0, "to_guest": 0}
def sniff():
    r = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    r.bind(("vq0", 0))
    while True:
        d, a = r.recvfrom(1 << 17)
        if len(d) > 1514:
            big["to_guest" if a[2] == socket.PACKET_OUTGOING else "from_guest"] += 1
threading.Thread(target=sniff, daemon=True).start()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port))
s.listen(1)
s.settimeout(150)
print("ready", flush=True)
c, _ = s.accept()
c.settimeout(150)
data = open(sendfile, "rb").read() if sendfile != "-" else b""
sent = {}
def sender():
    t0 = time.monotonic()
    c.sendall(data)
    sent["secs"] = time.monotonic() - t0
t = threading.Thread(target=sender)
t.start()
h, n, t0 = hashlib.sha256(), 0, None
while True:
    d = c.recv(1 << 20)
    if not d:
        break
    if t0 is None:
        t0 = time.monotonic()
    n += len(d)
    h.update(d)
secs = time.monotonic() - (t0 or time.monotonic())
t.join(150)
c.shutdown(socket.SHUT_WR)
c.close()
time.sleep(0.2)
print(json.dumps({"bytes": n, "sha256": h.hexdigest(), "secs": secs,
                  "sent_secs": sent.get("secs", 0), "big": big}), flush=True)
"""

XFER_MIB = 16


@pytest.fixture
def tapns():
    """A named network namespace holding tap vq0 (QEMU's) with the peer
    192.168.78.1/24 on it; removed in every case."""
    if not tap_available():
        pytest.skip("no unshare -n / tap (needs CAP_NET_ADMIN)")
    name = "wisp-vnet-%d" % os.getpid()
    ip = lambda *a: subprocess.run(["ip", *a], capture_output=True, timeout=30)
    if ip("netns", "add", name).returncode != 0:
        pytest.skip("cannot create a network namespace")
    try:
        for cmd in (["link", "set", "lo", "up"], ["tuntap", "add", "dev", "vq0", "mode", "tap"],
                    ["addr", "add", "192.168.78.1/24", "dev", "vq0"],
                    ["link", "set", "vq0", "up"]):
            assert ip("-n", name, *cmd).returncode == 0, cmd
        yield name
    finally:
        ip("netns", "del", name)


def test_tcp_offloads_end_to_end(tapns, tmp_path, capsys):
    """16 MiB from the guest (net_peer xfer connect) to a Linux peer over a
    tap with vnet headers, then 16 MiB back, with every offload (TSO and
    checksum both ways, GUEST_TSO4; 1 and 2 vCPUs), without HOST_TSO4, and
    without any.
    Every byte must arrive (sha256 at both ends); frames above 1514 bytes
    must appear on the tap exactly when TSO / GUEST_TSO4 are on; the
    throughputs are printed."""
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    import inspect
    import benchlib as bl
    import netguest as ng
    if "tap" not in inspect.signature(ng.Guest.__init__).parameters:
        pytest.skip("bench/netguest.py's Guest has no tap= yet")
    kind = os.environ.get("WISP_NET_GUEST", "wisp")
    linux = ng.LinuxKernel.prepare() if kind == "linux" else None
    prog = bl.build_guest_program("net_peer")
    data = tmp_path / "data.bin"
    data.write_bytes(os.urandom(XFER_MIB << 20))
    want = hashlib.sha256(data.read_bytes()).hexdigest()
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    dev = "virtio-net-device"
    off = lambda *names: sum((["-global", "%s.%s=off" % (dev, n)] for n in names), [])
    rates = {}
    for name, opts, tso, gtso, smp in (
            ("all offloads", [], True, True, 1),
            ("all offloads -smp 2", [], True, True, 2),
            ("no host_tso4", off("host_tso4"), False, True, 1),
            ("none", off("host_tso4", "csum", "guest_csum", "guest_tso4"), False, False, 1)):
        for up in (True, False):
            sink = subprocess.Popen(["ip", "netns", "exec", tapns, sys.executable, "-c", SINK,
                                     "192.168.78.1", "9000", "-" if up else str(data)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    start_new_session=True)
            g = None
            try:
                assert sink.stdout.readline() == b"ready\n", sink.stderr.read()
                send, expect = (data, empty) if up else (empty, data)
                g = ng.Guest(kind, [prog, "xfer", "connect", "192.168.78.1", "9000",
                                    "/send.bin", "/expect.bin"],
                             files={"/send.bin": str(send), "/expect.bin": str(expect)},
                             mem=256, smp=smp, linux=linux, workdir=str(tmp_path),
                             tap=("vq0", "192.168.78.2/24", "192.168.78.1"),
                             wrap=["ip", "netns", "exec", tapns], qemu_extra=opts).start()
                out, err = sink.communicate(timeout=170)
                lines = out.decode().splitlines()
                assert lines and lines[-1].startswith("{"), (err.decode()[-2000:], g.tail())
                res = json.loads(lines[-1])
                assert g.wait_exit(30) is not None, g.tail()
                assert b"net_peer: xfer ok" in g.output(), (name, up, res, g.tail())
                if up:
                    assert res["bytes"] == XFER_MIB << 20 and res["sha256"] == want, (
                        name, res, g.tail())
                    assert (res["big"]["from_guest"] > 0) == tso, (name, res)
                    rates[name + " up"] = res["bytes"] / max(res["secs"], 1e-6) / 1e6
                else:
                    assert (res["big"]["to_guest"] > 0) == gtso, (name, res)
                    rates[name + " down"] = (XFER_MIB << 20) / max(res["sent_secs"], 1e-6) / 1e6
            finally:
                if sink.poll() is None:
                    os.killpg(sink.pid, 9)
                    sink.wait()
                if g:
                    g.stop()
    with capsys.disabled():
        print("\nTCP %d MiB guest <-> tap peer (%s), MB/s: %s" % (
            XFER_MIB, kind, ", ".join("%s %.1f" % kv for kv in rates.items())))
