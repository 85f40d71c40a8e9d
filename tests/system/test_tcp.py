"""TCP: the state machine's host tests, the loopback guest program
tests/guest/tcp_loop.c (musl and glibc, 1 and 2 vCPUs), and transfers with
the host through QEMU user networking (slirp) both ways, every byte checked:
guest -> host (the guest connects to 10.0.2.2:PORT, slirp forwards to a
Python server on the host's 127.0.0.1:PORT) and host -> guest (hostfwd to a
guest listener), with the throughput printed."""
import os
import re
import socket
import subprocess
import threading
import time

import pytest

from conftest import BUILD, boot

GUEST = os.path.join(BUILD, "tests", "guest")
GLIBC_LIBS = [
    "/lib64/ld-linux-x86-64.so.2",
    "/lib/x86_64-linux-gnu/libc.so.6",
    "/lib/x86_64-linux-gnu/libgcc_s.so.1",
]
LOOP_TESTS = ["bulk", "half_close", "nonblocking", "accept_nonblock", "many", "resets",
              "options", "linger"]


def files_for(variant, name):
    files = {f"/t/{name}": os.path.join(GUEST, variant, name)}
    if variant == "glibc":
        files.update({g: os.path.realpath(g) for g in GLIBC_LIBS})
    return files


def nic(hostfwd=""):
    return ["-global", "virtio-mmio.force-legacy=false",
            "-netdev", "user,id=n0" + hostfwd, "-device", "virtio-net-device,netdev=n0"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def pattern(n, mod, mul, add):
    block = bytes(((i * mul + add) & 255) for i in range(mod))
    reps = n // mod + 1
    return (block * reps)[:n]


def test_unit_tcp():
    exe = os.path.join(BUILD, "tests", "unit", "test_tcp")
    p = subprocess.run([exe], capture_output=True, timeout=300)
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    assert b" 0 failed" in p.stdout


@pytest.mark.parametrize("variant", ["musl", "glibc"])
@pytest.mark.parametrize("smp", [1, 2])
def test_loopback(variant, smp):
    b = boot("net=none -- /t/tcp_loop", files=files_for(variant, "tcp_loop"), smp=smp,
             mem="256M", timeout=240)
    assert b.status == 0, b
    assert b"tcp_loop: ok\n" in b.stdout, b
    m = re.search(rb"loopback one way: ([\d.]+) MB/s", b.stdout)
    assert m, b
    print(f"loopback ({variant}, smp {smp}): {m.group(1).decode()} MB/s")


def duplex(c, n, result):
    """The host's side of tcp_peer's exchange on a connected socket: sends
    n bytes of one pattern (then FIN) while receiving the guest's n bytes
    of the other, recording in result whether they were all right."""
    c.settimeout(120)
    out = pattern(n, 65519, 13, 5)
    t0 = time.time()

    def send():
        try:
            c.sendall(out)
            c.shutdown(socket.SHUT_WR)
        except OSError as e:
            result["send_error"] = repr(e)
    t = threading.Thread(target=send)
    t.start()
    got = bytearray()
    try:
        while True:
            d = c.recv(1 << 20)
            if not d:
                break
            got += d
    except OSError as e:
        result["error"] = repr(e)
    t.join()
    result["secs"] = time.time() - t0
    result["ok"] = bytes(got) == pattern(n, 65521, 7, 3)
    result["len"] = len(got)
    c.close()


def serve_host(port, n, result):
    """One connection: receive n bytes while sending n bytes, check them."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(1)
    ls.settimeout(120)
    try:
        c, _ = ls.accept()
    except OSError as e:
        result["error"] = repr(e)
        return
    duplex(c, n, result)
    ls.close()


@pytest.mark.parametrize("size", [1 << 10, 16 << 20])
def test_guest_to_host(size):
    port = free_port()
    result = {}
    t = threading.Thread(target=serve_host, args=(port, size, result))
    t.start()
    time.sleep(0.2)
    b = boot(f"-- /t/tcp_peer connect 10.0.2.2 {port} {size}",
             files=files_for("musl", "tcp_peer"), mem="256M", timeout=240, extra=nic())
    t.join(timeout=30)
    assert b.status == 0, b
    assert f"sent {size} received {size} ok".encode() in b.stdout, b
    assert result.get("ok"), (result, b)
    m = re.search(rb"duplex: ([\d.]+) MB/s", b.stdout)
    print(f"guest->host duplex {size} bytes: {m.group(1).decode()} MB/s each way")


def host_client(port, n, result, deadline):
    """Connects until the guest answers RDY (slirp accepts before the guest
    listens), then the exchange."""
    while time.time() < deadline:
        c = socket.socket()
        # Long: a guest that accepted may be slow to answer on a loaded host,
        # and giving up on it would leave it serving a dead connection. One
        # that is not listening yet makes slirp close at once.
        c.settimeout(60)
        try:
            c.connect(("127.0.0.1", port))
            rdy = b""
            while len(rdy) < 4:
                d = c.recv(4 - len(rdy))
                if not d:
                    break
                rdy += d
            if rdy != b"RDY\n":
                c.close()
                time.sleep(0.3)
                continue
        except OSError:
            c.close()
            time.sleep(0.3)
            continue
        duplex(c, n, result)
        return
    result["error"] = "guest never answered"


@pytest.mark.parametrize("size", [1 << 10, 16 << 20])
def test_host_to_guest(size):
    port = free_port()
    result = {}
    t = threading.Thread(target=host_client, args=(port, size, result, time.time() + 120))
    t.start()
    b = boot(f"-- /t/tcp_peer serve 8080 {size}", files=files_for("musl", "tcp_peer"),
             mem="256M", timeout=240, extra=nic(f",hostfwd=tcp:127.0.0.1:{port}-:8080"))
    t.join(timeout=30)
    assert b.status == 0, b
    assert f"sent {size} received {size} ok".encode() in b.stdout, b
    assert result.get("ok"), (result, b)
    print(f"host->guest duplex {size} bytes: {size / result['secs'] / 1e6:.1f} MB/s each way")


def test_host_to_guest_many():
    """Several connections one after the other through hostfwd (TIME_WAIT on
    the guest side does not get in the way, ports are reused)."""
    port = free_port()
    size = 100000
    results = []

    def clients():
        deadline = time.time() + 120
        for _ in range(5):
            r = {}
            host_client(port, size, r, deadline)
            results.append(r)
    t = threading.Thread(target=clients)
    t.start()
    b = boot(f"-- /t/tcp_peer serve 8080 {size} 5", files=files_for("musl", "tcp_peer"),
             mem="256M", timeout=240, extra=nic(f",hostfwd=tcp:127.0.0.1:{port}-:8080"))
    t.join(timeout=30)
    assert b.status == 0, b
    assert b.stdout.count(f"sent {size} received {size} ok".encode()) == 5, b
    assert len(results) == 5 and all(r.get("ok") for r in results), results


# --- the program's exit delivers what TCP holds ---------------------------------

def exit_pattern(n):
    return bytes(((i * 131 + i // 65536) & 255) for i in range(n))


def sink(port, result, read=True, ready=None, slow=False):
    """One connection: read to EOF (sha256 and length), or accept and never
    read (the guest's data stops at a zero window). slow: a small receive
    buffer, nothing read for the first second: the host's socket buffers
    and slirp's fill, slirp's window closes and the guest's sender still
    holds a full send buffer when it exits."""
    import hashlib
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if not read or slow:
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096 if not read else 16384)
    ls.bind(("127.0.0.1", port))
    ls.listen(1)
    ls.settimeout(120)
    if ready:
        ready.set()
    try:
        c, _ = ls.accept()
    except OSError as e:
        result["error"] = repr(e)
        return
    c.settimeout(120)
    h, n = hashlib.sha256(), 0
    try:
        if slow:
            time.sleep(1.0)
        while read:
            d = c.recv(1 << 20)
            if not d:
                break
            h.update(d)
            n += len(d)
        if not read:
            result["closed"] = result.get("stop").wait(120)
    except OSError as e:
        result["error"] = repr(e)
    result["sha256"], result["len"] = h.hexdigest(), n
    c.close()
    ls.close()


@pytest.mark.parametrize("variant,mode", [("musl", ""), ("glibc", ""), ("musl", "reader")])
def test_exit_delivers(variant, mode):
    """The guest writes 4 MiB to a host server and exits at once (no
    SIOCOUTQ loop, no SO_LINGER, no close): the exit closes the descriptors
    and waits until the peer acknowledged everything and the FIN, so the
    host gets all 4 MiB and EOF. The host starts reading after a second:
    at the exit the guest still holds its whole send buffer (with
    net.drain_ms=0 the host got 4 MiB minus about that)."""
    import hashlib
    size = 4 << 20
    port, result, ready = free_port(), {}, threading.Event()
    t = threading.Thread(target=sink, args=(port, result, True, ready, True))
    t.start()
    ready.wait(10)
    b = boot(f"-- /t/tcp_exit 10.0.2.2 {port} {size} {mode}",
             files=files_for(variant, "tcp_exit"), mem="256M", timeout=240, extra=nic())
    t.join(timeout=30)
    assert b.status == 7, b
    assert f"tcp_exit: wrote {size}".encode() in b.stdout, b
    assert result.get("len") == size, (result, b)
    assert result["sha256"] == hashlib.sha256(exit_pattern(size)).hexdigest()
    m = re.search(r"TCP delivered what it held in ([\d.]+) ms", b.log)
    assert m and float(m.group(1)) < 4000, b
    print(f"exit drain ({variant} {mode or 'plain'}): {m.group(1)} ms")


def test_exit_zero_window_gives_up():
    """The host stops reading: the guest's data sits behind a zero window,
    the exit drain gives up after net.drain_ms and the VM still ends with
    the program's status."""
    port, result, ready = free_port(), {}, threading.Event()
    result["stop"] = threading.Event()
    t = threading.Thread(target=sink, args=(port, result, False, ready))
    t.start()
    ready.wait(10)
    t0 = time.time()
    try:
        b = boot(f"net.drain_ms=1500 -- /t/tcp_exit 10.0.2.2 {port} {64 << 20} nonblock",
                 files=files_for("musl", "tcp_exit"), mem="256M", timeout=120, extra=nic())
    finally:
        result["stop"].set()
        t.join(timeout=30)
    took = time.time() - t0
    assert b.status == 7, b
    assert b"tcp_exit: wrote" in b.stdout, b
    assert "gave up after 15" in b.log, b
    assert took < 60, took
