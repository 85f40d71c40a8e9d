"""Real servers in wisp, real clients on the host (issue 6).

Debian's busybox httpd, nginx, redis-server and iperf3 run unmodified as the
guest program (`wisp run -p HOST:GUEST`, QEMU user networking under TCG);
curl, redis-cli, redis-benchmark and iperf3 talk to them from the host
through the published ports. Transfers are checked byte for byte (sha256).
test_loss_and_reorder runs the guest on a lossy, reordering link that the
test makes itself (a network namespace, a tap device, and a user-space relay
between QEMU and the tap that drops, reorders and delays frames both ways).

Readiness is the program's own answer (bench/netguest.py: an HTTP status
line, +PONG, ...), never a bare connect(), which slirp accepts before the
guest does. Every guest is killed in a finally (context manager).

WISP_NET_GUEST=linux runs the same tests against Debian's Linux kernel as
the guest (bench/boot.py's way of booting it): the harness's own check.
A test skips only when the machine lacks a program (scripts/deps.sh installs
them all) or the privileges for the namespace.
"""
import hashlib
import json
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "bench"))
import benchlib as bl  # noqa: E402
import netguest as ng  # noqa: E402

GUEST = os.environ.get("WISP_NET_GUEST", "wisp")
MIB = 1 << 20
# From start to serving: wisp takes about 1 s, Linux 3-7 s under TCG.
READY_S = 45


def need(*progs):
    for p in progs:
        if not shutil.which(p) and not os.path.exists(p):
            pytest.skip("%s is not installed (scripts/deps.sh installs it)" % p)


@pytest.fixture(scope="module")
def linux():
    if GUEST != "linux":
        return None
    try:
        return ng.LinuxKernel.prepare()
    except bl.BenchError as e:
        pytest.skip("the Linux guest cannot boot here: %s" % e)


@pytest.fixture
def guest(linux, tmp_path):
    """guest(argv, files={guest: host}, ports=[(host, guest)], mem=MiB) ->
    a started Guest; all are stopped at the end of the test."""
    made = []

    def start(argv, files=None, ports=(), mem=256, **kw):
        g = ng.Guest(GUEST, argv, files=files, ports=ports, mem=mem, linux=linux,
                     workdir=str(tmp_path), **kw)
        made.append(g)
        return g.start()
    yield start
    for g in made:
        g.stop()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(MIB), b""):
            h.update(chunk)
    return h.hexdigest()


def random_file(path, size):
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 4 * MIB)
            f.write(os.urandom(n))
            left -= n
    return str(path)


def curl(*args, timeout=60):
    return subprocess.run(["curl", "--silent", "--show-error", "--fail", "--max-time",
                           str(timeout), *args], capture_output=True, timeout=timeout + 10)


# --- busybox httpd ----------------------------------------------------------

def test_busybox_httpd_serves_files(guest, tmp_path):
    """busybox httpd serves files in Linux; in wisp it cannot (it forks a
    child per connection, with an MMU it has no other mode, and wisp runs
    one program: DESIGN.md decision 5). There the test checks the refusal
    is clean: one log line naming it, the client's connection closed at
    once (not a hang), and the server still up for the next client."""
    need("curl", ng.BUSYBOX)
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_bytes(b"<h1>hello from busybox httpd</h1>\n")
    blob = random_file(www / "blob.bin", 2 * MIB)
    port = ng.free_port()
    g = guest([ng.BUSYBOX, "httpd", "-f", "-vv", "-p", "80", "-h", "/www"],
              files={"/www": str(www)}, ports=[(port, 80)])
    refusal = b"clone: a new process"

    if GUEST == "wisp":
        # The first request makes httpd fork: the refusal is logged and the
        # connection closed; a second request is refused the same way.
        g.wait_ready(lambda: refusal in g.errors() or ng.probe_http(port), READY_S)
        for _ in range(2):
            t0 = time.monotonic()
            p = curl("--max-time", "20", "http://127.0.0.1:%d/index.html" % port)
            assert p.returncode != 0 and p.stdout == b"", (p.stdout, g.tail())
            assert time.monotonic() - t0 < 15, "the refused connection hung"
        assert g.errors().count(refusal) == 1, g.errors()   # said once, not per call
        assert b"returning ENOSYS" in g.errors()
        return

    g.wait_ready(lambda: ng.probe_http(port), READY_S)
    p = curl("http://127.0.0.1:%d/index.html" % port)
    assert p.returncode == 0, (p.stderr, g.tail())
    assert p.stdout == b"<h1>hello from busybox httpd</h1>\n"
    out = tmp_path / "blob.out"
    p = curl("-o", str(out), "http://127.0.0.1:%d/blob.bin" % port)
    assert p.returncode == 0, (p.stderr, g.tail())
    assert sha256_file(out) == sha256_file(blob)
    p = curl("-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:%d/nope" % port)
    assert p.stdout == b"404", g.tail()


# --- nginx --------------------------------------------------------------------

NGINX_ARGV = ng.NGINX_ARGV
INDEX_612 = ng.INDEX_612


def test_nginx_serves_index_and_64mib_both_ways(guest, tmp_path):
    need("/usr/sbin/nginx", "curl")
    files = ng.nginx_files(str(tmp_path), big=64 * MIB)
    port = ng.free_port()
    g = guest(NGINX_ARGV, files=files, ports=[(port, 80)], mem=640)
    g.wait_ready(lambda: ng.probe_http(port), READY_S)
    url = "http://127.0.0.1:%d" % port

    p = curl(url + "/")
    assert p.returncode == 0, (p.stderr, g.tail())
    assert p.stdout == INDEX_612
    p = curl("-o", "/dev/null", "-w", "%{http_code}", url + "/missing")
    assert p.stdout == b"404", g.tail()

    down = tmp_path / "down.bin"
    t = time.monotonic()
    p = curl("-o", str(down), url + "/big.bin")
    assert p.returncode == 0, (p.stderr, g.tail())
    assert sha256_file(down) == sha256_file(tmp_path / "www" / "big.bin")
    down_s = time.monotonic() - t

    up = random_file(tmp_path / "up.bin", 64 * MIB)
    t = time.monotonic()
    p = curl("-T", up, "-w", "%{http_code}", "-o", "/dev/null", url + "/up/up.bin")
    assert p.returncode == 0 and p.stdout in (b"201", b"204"), (p.stdout, p.stderr, g.tail())
    up_s = time.monotonic() - t
    back = tmp_path / "back.bin"
    p = curl("-o", str(back), url + "/up/up.bin")
    assert p.returncode == 0, (p.stderr, g.tail())
    assert sha256_file(back) == sha256_file(up)
    print("nginx 64 MiB: download %.1f s, upload %.1f s" % (down_s, up_s))


def test_built_image_boots_and_serves(tmp_path):
    """wisp build packs nginx and its configuration into an ext2 image (with
    the generated /etc); wisp boot IMAGE -p publishes its port."""
    if GUEST != "wisp":
        pytest.skip("wisp build/boot are wisp's")
    need("/usr/sbin/nginx", "curl", "mke2fs")
    files = ng.nginx_files(str(tmp_path))
    img = tmp_path / "nginx.img"
    p = subprocess.run([ng.WISP, "build", "-o", str(img),
                        *sum((["--add", "%s:%s" % (h, g)] for g, h in files.items()), []),
                        "--", *NGINX_ARGV], capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr
    port = ng.free_port()
    with ng.Guest("wisp", NGINX_ARGV, image=str(img), ports=[(port, 80)],
                  workdir=str(tmp_path)) as g:
        g.wait_ready(lambda: ng.probe_http(port), READY_S)
        p = curl("http://127.0.0.1:%d/" % port)
        assert p.returncode == 0 and p.stdout == INDEX_612, (p.stderr, g.tail())


# --- redis --------------------------------------------------------------------

def test_redis_commands_and_benchmark(guest):
    need("/usr/bin/redis-server", "redis-cli", "redis-benchmark")
    port = ng.free_port()
    g = guest(["/usr/bin/redis-server", "--port", "6379", "--save", "", "--appendonly", "no",
               "--protected-mode", "no"], ports=[(port, 6379)])
    g.wait_ready(lambda: ng.probe_redis(port), READY_S)

    def cli(*args):
        p = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args],
                           capture_output=True, timeout=30)
        assert p.returncode == 0, (args, p.stderr, g.tail())
        return p.stdout.decode().strip()

    assert cli("SET", "greeting", "hello wisp") == "OK"
    assert cli("GET", "greeting") == "hello wisp"
    assert cli("INCR", "n") == "1"
    assert cli("INCRBY", "n", "41") == "42"
    assert cli("LPUSH", "l", "a", "b", "c") == "3"
    assert cli("LRANGE", "l", "0", "-1").split() == ["c", "b", "a"]
    big = "v" * 100000
    assert cli("SET", "big", big) == "OK"
    assert cli("STRLEN", "big") == "100000"
    assert cli("DBSIZE") == "4"
    p = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-n", "2000",
                        "-c", "8", "-q", "-t", "set,get"], capture_output=True, timeout=120)
    assert p.returncode == 0, (p.stderr, g.tail())
    rates = re.findall(rb"(SET|GET): ([0-9.]+) requests per second", p.stdout)
    assert {r[0] for r in rates} == {b"SET", b"GET"}, p.stdout
    assert all(float(r[1]) > 0 for r in rates)
    print(p.stdout.decode().strip())


# --- iperf3 -------------------------------------------------------------------

def test_iperf3_both_directions(guest):
    need("iperf3")
    port = ng.free_port()
    # iperf3 prints "Server listening" after listen(), for each test; a probe
    # connection would count as a failed test, so the line is the signal.
    g = guest(["/usr/bin/iperf3", "-s", "-p", "5201", "--forceflush"], ports=[(port, 5201)])
    rates = {}
    for i, (name, extra) in enumerate((("host->guest", []), ("guest->host", ["-R"]))):
        g.wait_ready(lambda: len(re.findall(rb"Server listening on 5201", g.output())) > i,
                     READY_S)
        try:
            p = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", "3", "-J",
                                *extra], capture_output=True, timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail("iperf3 %s: no result within 30 s; the guest's last lines:\n%s"
                        % (name, g.tail()))
        assert p.returncode == 0, (name, p.stdout[-2000:], p.stderr, g.tail())
        r = json.loads(p.stdout)
        end = r["end"]
        got = end["sum_received"]["bytes"]
        assert got > 1 * MIB, (name, end["sum_received"])
        rates[name] = end["sum_received"]["bits_per_second"] / 1e6
    print("iperf3 Mbit/s: %s" % ", ".join("%s %.0f" % kv for kv in rates.items()))


# --- 16 MiB each way on one connection -----------------------------------------

def duplex_client(addr, port, send_path, want, timeout=120):
    """Connects, sends send_path's bytes while receiving `want` bytes, then
    ends the stream (only then: the guest exits on our end of stream, and
    a VM that powers off takes its unsent data with it); returns what came."""
    with open(send_path, "rb") as f:
        data = f.read()
    s = socket.create_connection((addr, port), timeout=timeout)
    s.settimeout(timeout)
    err = []

    def sender():
        try:
            s.sendall(data)
        except OSError as e:
            err.append(e)
    t = threading.Thread(target=sender)
    t.start()
    chunks, n = [], 0
    try:
        while n < want:
            d = s.recv(min(1 << 16, want - n))
            if not d:
                break
            chunks.append(d)
            n += len(d)
        t.join(timeout)
        s.shutdown(socket.SHUT_WR)
        # The guest's own end of stream follows.
        s.recv(1)
    finally:
        t.join(timeout)
        s.close()
    if err:
        raise err[0]
    return b"".join(chunks)


@pytest.mark.parametrize("cpus", [1, 2])
def test_net_peer_16mib_each_way(guest, tmp_path, cpus):
    """16 MiB each way at once on one connection through -p, on 1 and 2
    vCPUs (interrupts, netd and the program then run on different CPUs)."""
    prog = bl.build_guest_program("net_peer")
    to_guest = random_file(tmp_path / "to_guest.bin", 16 * MIB)
    to_host = random_file(tmp_path / "to_host.bin", 16 * MIB)
    port = ng.free_port()
    g = guest([prog, "xfer", "listen", "9000", "/send.bin", "/expect.bin"],
              files={"/send.bin": to_host, "/expect.bin": to_guest}, ports=[(port, 9000)],
              mem=256, smp=cpus)
    g.wait_ready(rb"net_peer: listening on 9000", READY_S)
    time.sleep(0.2)
    got = duplex_client("127.0.0.1", port, to_guest, 16 * MIB)
    assert hashlib.sha256(got).hexdigest() == sha256_file(to_host), (len(got), g.tail())
    assert g.wait_exit(30) is not None, g.tail()
    assert re.search(rb"net_peer: xfer ok sent=16777216 received=16777216", g.output()), g.tail()


# --- UDP ports and the q35 machine ------------------------------------------------

def test_udp_publish_and_q35(guest):
    """-p HOST:GUEST/udp forwards datagrams both ways (8000-byte ones are IP
    fragments on the guest's side); on q35 the NIC is virtio-net-pci."""
    prog = bl.build_guest_program("net_peer")
    port = ng.free_port()
    g = guest([prog, "udpecho", "5353"], ports=[(port, 5353, "udp")])
    g.wait_ready(rb"net_peer: udp on 5353", READY_S)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    try:
        for payload in (b"ping", os.urandom(8000)):
            got = None
            for _ in range(10):       # a datagram may be lost while the guest starts
                s.sendto(payload, ("127.0.0.1", port))
                try:
                    got = s.recvfrom(65536)[0]
                    break
                except socket.timeout:
                    continue
            assert got == payload, (len(got or b""), g.tail())
    finally:
        s.close()
    g.stop()
    if GUEST != "wisp":
        return        # the Linux guest runs on microvm only
    need("/usr/bin/redis-server", "redis-cli")
    port = ng.free_port()
    q = guest(["/usr/bin/redis-server", "--save", "", "--protected-mode", "no"],
              ports=[(port, 6379)], machine="q35")
    q.wait_ready(lambda: ng.probe_redis(port), READY_S)
    p = subprocess.run(["redis-cli", "-p", str(port), "SET", "k", "q35"],
                       capture_output=True, timeout=30)
    assert p.stdout.strip() == b"OK", (p, q.tail())


# --- a lossy, reordering link -------------------------------------------------

LOSS, REORDER, DELAY_MS = 0.05, 0.10, 10
LOSS_MIB = 16


def _ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, timeout=30, check=check)


@pytest.fixture
def netns():
    """A private network namespace with two taps: wq0 for QEMU (no address)
    and wr0 for the peer (192.168.77.1/24). Removed in every case."""
    need("ip")
    if os.geteuid() != 0:
        pytest.skip("the loss test needs root (CAP_NET_ADMIN) for a network namespace "
                    "and tap devices")
    name = "wisp-test-%d" % os.getpid()
    p = _ip("netns", "add", name, check=False)
    if p.returncode != 0:
        pytest.skip("cannot create a network namespace: %s" % p.stderr.decode().strip())
    try:
        for cmd in (["link", "set", "lo", "up"],
                    ["tuntap", "add", "dev", "wq0", "mode", "tap"],
                    ["tuntap", "add", "dev", "wr0", "mode", "tap"],
                    ["addr", "add", "192.168.77.1/24", "dev", "wr0"],
                    ["link", "set", "wq0", "up"], ["link", "set", "wr0", "up"]):
            p = _ip("-n", name, *cmd, check=False)
            if p.returncode != 0:
                pytest.skip("cannot set up tap devices in a namespace (ip %s): %s"
                            % (" ".join(cmd), p.stderr.decode().strip()))
        yield name
    finally:
        _ip("netns", "del", name, check=False)


def test_loss_and_reorder(guest, netns, tmp_path):
    """16 MiB each way on one connection across a link that drops 5% of the
    IP frames, delays every frame 10 ms and reorders 10%, in both
    directions; sha256 checked at both ends, in bounded time. The guest
    connects out (net_peer xfer connect) to the peer in the namespace."""
    prog = bl.build_guest_program("net_peer")
    to_guest = random_file(tmp_path / "to_guest.bin", LOSS_MIB * MIB)
    to_host = random_file(tmp_path / "to_host.bin", LOSS_MIB * MIB)
    relay = subprocess.Popen(
        ["ip", "netns", "exec", netns, sys.executable,
         os.path.join(os.path.dirname(os.path.abspath(__file__)), "net_relay.py"),
         "wq0", "wr0", "192.168.77.1", "9000", to_guest, to_host, str(LOSS), str(REORDER),
         str(DELAY_MS), "6", "150"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True)
    try:
        assert relay.stdout.readline() == b"ready\n", relay.stderr.read()
        # Offloads off: the relay moves plain frames (no virtio-net header).
        g = guest([prog, "xfer", "connect", "192.168.77.1", "9000", "/send.bin", "/expect.bin"],
                  files={"/send.bin": to_host, "/expect.bin": to_guest},
                  tap=("wq0", "192.168.77.2/24", "192.168.77.1"),
                  wrap=["ip", "netns", "exec", netns],
                  qemu_extra=["-global", "virtio-net-device.csum=off",
                              "-global", "virtio-net-device.guest_csum=off"])
        # The peer reports when its side is done; a guest that gave up
        # (net_peer stops after 60 s without progress) ends the wait sooner.
        deadline = time.monotonic() + 170
        line = b""
        while time.monotonic() < deadline and relay.poll() is None:
            r, _, _ = select.select([relay.stdout], [], [], 0.5)
            if r:
                line = relay.stdout.readline()
                break
            if not g.alive():
                r, _, _ = select.select([relay.stdout], [], [], 3)
                line = relay.stdout.readline() if r else b""
                break
        assert line.startswith(b"{"), ("the peer reported nothing", g.tail())
        res = json.loads(line)
        print("loss test:", res)
        assert res["ok"], (res, g.tail())
        assert res["link"]["dropped"] > 0 and res["link"]["reordered"] > 0, res
        # The link stays up until the guest has its last bytes too.
        assert g.wait_exit(60) is not None, ("the guest did not finish", g.tail())
        assert re.search(rb"net_peer: xfer ok sent=%d received=%d"
                         % (LOSS_MIB * MIB, LOSS_MIB * MIB), g.output()), g.tail()
    finally:
        if relay.poll() is None:
            os.killpg(relay.pid, 9)
        relay.communicate()
