"""Guests that serve on the network, driven from the host: the harness of
tests/system/test_net_apps.py and bench/net_bench.py.

One Guest runs one server program (Debian's nginx, redis-server, iperf3,
busybox, or bench/guest/net_peer.c) either
  - in wisp:  build/wisp run -p HOST:GUEST ... -- PROGRAM ARGS, or
  - in Linux: Debian's kernel booted the way bench/boot.py boots it (PVH
    vmlinux, same QEMU machine, accelerator, -smp and -m), with an initramfs
    holding busybox as /init's shell, the virtio-net modules, the program,
    its libraries and the same files; /init loads the modules, gives eth0
    slirp's address (10.0.2.15/24 via 10.0.2.2) and execs the program;
on the same back-end: QEMU user networking with hostfwd on 127.0.0.1.

Readiness: slirp accepts a host connection before the guest does, so a
successful connect() means nothing. Each guest has a probe that needs an
answer from the program itself (an HTTP status line, +PONG, iperf3's first
state byte, an echo) or a line in its output. stop() kills QEMU whatever
happened; Guest is a context manager.
"""

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import benchlib as bl

WISP = os.path.join(bl.BUILD, "wisp")
KERNEL = os.path.join(bl.BUILD, "kernel.elf")
BUSYBOX = shutil.which("busybox") or "/bin/busybox"

# Debian's kernel has virtio-mmio and virtio-net as modules; in load order
# (modules.dep: virtio_net needs net_failover, which needs failover).
LINUX_NET_MODULES = [
    "kernel/drivers/virtio/virtio_ring.ko",
    "kernel/drivers/virtio/virtio.ko",
    "kernel/drivers/virtio/virtio_mmio.ko",
    "kernel/net/core/failover.ko",
    "kernel/drivers/net/net_failover.ko",
    "kernel/drivers/net/virtio_net.ko",
]

# The /etc both guests get (wisp's tool writes its own when the files do not
# provide them: see tools/wisp/etcfiles.c; Linux gets these).
LINUX_ETC = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33::/var/www:/bin/false\n"
                  "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    "etc/group": "root:x:0:\nwww-data:x:33:\nnogroup:x:65534:\n",
    "etc/hosts": "127.0.0.1\tlocalhost\n",
    "etc/nsswitch.conf": "passwd: files\ngroup: files\nhosts: files dns\n",
    "etc/resolv.conf": "nameserver 10.0.2.3\n",
}


# nginx as both guests run it: one process (no master, no daemon), logs to
# stderr, temporary files in /tmp, a PUT location (the dav module) for uploads.
NGINX_CONF = """\
daemon off;
master_process off;
worker_processes 1;
user root;
error_log stderr warn;
pid /tmp/nginx.pid;
events { worker_connections 256; }
http {
    access_log off;
    default_type application/octet-stream;
    client_body_temp_path /tmp/nginx_body;
    proxy_temp_path /tmp/nginx_proxy;
    fastcgi_temp_path /tmp/nginx_fastcgi;
    uwsgi_temp_path /tmp/nginx_uwsgi;
    scgi_temp_path /tmp/nginx_scgi;
    server {
        listen 80;
        root /www;
        location /up/ {
            root /tmp/www;
            dav_methods PUT;
            create_full_put_path on;
            client_max_body_size 256m;
        }
    }
}
"""
INDEX_612 = (b"<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n"
             b"<style>\n    body {\n        width: 35em;\n        margin: 0 auto;\n"
             b"        font-family: Tahoma, Verdana, Arial, sans-serif;\n    }\n</style>\n"
             b"</head>\n<body>\n<h1>Welcome to nginx!</h1>\n")
INDEX_612 += b"<p>" + b"x" * (612 - len(INDEX_612) - len(b"</p>\n</body>\n</html>\n") - 3) \
    + b"</p>\n</body>\n</html>\n"
assert len(INDEX_612) == 612


def nginx_files(workdir, big=0):
    """The config and document root nginx runs with (both guests):
    {guest path: host path}; big: size of a random /www/big.bin."""
    conf = os.path.join(workdir, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF)
    www = os.path.join(workdir, "www")
    os.makedirs(www, exist_ok=True)
    with open(os.path.join(www, "index.html"), "wb") as f:
        f.write(INDEX_612)
    if big:
        with open(os.path.join(www, "big.bin"), "wb") as f:
            left = big
            while left:
                n = min(left, 4 << 20)
                f.write(os.urandom(n))
                left -= n
    return {"/etc/nginx/nginx.conf": conf, "/www": www}


NGINX_ARGV = ["/usr/sbin/nginx", "-e", "stderr", "-p", "/tmp/", "-c", "/etc/nginx/nginx.conf"]



class GuestError(Exception):
    """The guest could not be started or did not become ready."""


def free_port():
    """A TCP port free on 127.0.0.1 right now (the kernel's pick)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --- probes: each returns True once the program itself answered ------------

def _exchange(port, send, want, timeout=1.0):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            if send:
                s.sendall(send)
            got = b""
            while len(got) < len(want):
                d = s.recv(4096)
                if not d:
                    return False
                got += d
            return got[:len(want)] == want if isinstance(want, bytes) else False
    except OSError:
        return False


def probe_http(port):
    return _exchange(port, b"HEAD / HTTP/1.0\r\n\r\n", b"HTTP/")


def probe_redis(port):
    return _exchange(port, b"PING\r\n", b"+PONG")


def probe_echo(port):
    return _exchange(port, b"x", b"x")


def probe_iperf3(port):
    """iperf3's control protocol opens with a 37-byte cookie from the client;
    the server answers with one state byte (PARAM_EXCHANGE). We then hang
    up, which the server logs and survives (it is not started with -1)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as s:
            s.settimeout(1.0)
            s.sendall(b"wispprobe".ljust(36, b"x") + b"\0")
            return len(s.recv(1)) == 1
    except OSError:
        return False


# --- the guests ------------------------------------------------------------

class Guest:
    """kind "wisp" or "linux". argv: the program (host path first) and its
    arguments; files: {guest path: host path} added to the image; ports:
    [(host_port, guest_port[, "udp"])]."""

    def __init__(self, kind, argv, files=None, ports=(), mem=256, smp=1, accel="tcg",
                 workdir=None, linux=None, tap=None, qemu_extra=(), wrap=(), machine=None,
                 image=None, linux_init=(), env=None):
        if kind not in ("wisp", "linux"):
            raise ValueError(kind)
        self.kind, self.argv, self.files = kind, list(argv), dict(files or {})
        self.ports, self.mem, self.smp, self.accel = list(ports), mem, smp, accel
        self.linux = linux           # LinuxKernel for kind "linux"
        # tap: (ifname, "A.B.C.D/NN", gateway) instead of user networking
        self.tap, self.qemu_extra, self.wrap = tap, list(qemu_extra), list(wrap)
        self.machine = machine       # wisp only: --machine (default microvm)
        self.image = image           # wisp only: `wisp boot IMAGE` (argv unused)
        self.linux_init = list(linux_init)  # Linux only: more /init lines before exec
        self.env = dict(env or {})   # more environment for QEMU (wisp: for build/wisp)
        self.proc = None
        self._own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="wisp-netguest-")
        self.out_path = os.path.join(self.dir, "%s.out" % kind)
        self.err_path = os.path.join(self.dir, "%s.err" % kind)
        self.started = None

    # -- command lines
    def command(self):
        if self.kind == "wisp":
            a = [WISP] + (["boot", self.image] if self.image else ["run"]) + [
                "--accel", self.accel, "--kernel", KERNEL, "-m", "%dM" % self.mem,
                "-c", str(self.smp)]
            if self.machine:
                a += ["--machine", self.machine]
            for h, g, proto in self._ports():
                a += ["-p", "127.0.0.1:%d:%d%s" % (h, g, "/udp" if proto == "udp" else "")]
            if self.tap:
                a += ["--net", "tap:" + self.tap[0], "--ip", "%s,gw=%s" % self.tap[1:]]
            for g, h in sorted(self.files.items()):
                a += ["--add", "%s:%s" % (h, g)]
            return self.wrap + a + ([] if self.image else ["--"] + self.argv)
        if self.linux is None:
            raise GuestError("no Linux kernel given")
        initrd = self._linux_initrd()
        fwd = "".join(",hostfwd=%s:127.0.0.1:%d-:%d" % (proto, h, g)
                      for h, g, proto in self._ports())
        netdev = ("tap,id=n0,ifname=%s,script=no,downscript=no" % self.tap[0] if self.tap
                  else "user,id=n0" + fwd)
        q = bl.Qemu(accel=self.accel, smp=self.smp)
        return self.wrap + q.argv(self.linux.kernel, initrd, " ".join(self.linux.flags),
                                  self.mem) + [
            "-global", "virtio-mmio.force-legacy=false",
            "-netdev", netdev, "-device", "virtio-net-device,netdev=n0"] + self.qemu_extra

    def _ports(self):
        """(host, guest, "tcp"|"udp") from ports given as (host, guest[, proto])."""
        return [(p[0], p[1], p[2] if len(p) > 2 else "tcp") for p in self.ports]

    def _linux_initrd(self):
        root = os.path.join(self.dir, "linux-root")
        shutil.rmtree(root, ignore_errors=True)
        for d in ("bin", "proc", "sys", "dev", "tmp", "etc", "modules", "root"):
            os.makedirs(os.path.join(root, d), exist_ok=True)

        def put(guest, host):
            dst = os.path.join(root, guest.lstrip("/"))
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            if os.path.isdir(host):
                shutil.copytree(host, dst, symlinks=True, dirs_exist_ok=True)
            else:
                shutil.copy2(host, dst)

        put("/bin/busybox", BUSYBOX)
        mdir = os.path.join("/lib/modules", self.linux.version)
        names = []
        for m in LINUX_NET_MODULES:
            src = os.path.join(mdir, m)
            if not os.path.isfile(src):
                raise GuestError("%s not found (the Linux guest needs Debian's virtio-net "
                                 "modules: linux-image-%s)" % (src, self.linux.version))
            put("/modules/" + os.path.basename(m), src)
            names.append(os.path.basename(m))
        for rel_path, text in LINUX_ETC.items():
            with open(os.path.join(root, rel_path), "w") as f:
                f.write(text)
        prog = self.argv[0]
        put(prog, prog)
        for g, h in library_files(prog).items():
            put(g, h)
        for g, h in self.files.items():
            put(g, h)
        bb = "/bin/busybox"
        script = ["#!/bin/busybox sh",
                  "%s mount -t proc proc /proc" % bb,
                  "%s mount -t sysfs sysfs /sys" % bb,
                  "%s mount -t devtmpfs devtmpfs /dev" % bb]
        script += ["%s insmod /modules/%s || echo 'linux: insmod %s failed'" % (bb, n, n)
                   for n in names]
        addr, gw = (self.tap[1], self.tap[2]) if self.tap else ("10.0.2.15/24", "10.0.2.2")
        script += ["%s ip link set lo up" % bb,
                   "%s ip link set eth0 up" % bb,
                   "%s ip addr add %s dev eth0" % (bb, addr),
                   "%s ip route add default via %s" % (bb, gw),
                   ] + self.linux_init + [
                   "echo 'linux: program started'",
                   "cd /",
                   "exec " + " ".join(shlex.quote(x) for x in self.argv)]
        with open(os.path.join(root, "init"), "w") as f:
            f.write("\n".join(script) + "\n")
        os.chmod(os.path.join(root, "init"), 0o755)
        out = os.path.join(self.dir, "linux-net.cpio")
        names_l = subprocess.run(["find", "."], cwd=root, stdout=subprocess.PIPE,
                                 check=True).stdout
        with open(out, "wb") as f:
            p = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet", "-R", "0:0"], cwd=root,
                               input=names_l, stdout=f, stderr=subprocess.PIPE)
        if p.returncode:
            raise GuestError("cpio failed: %s" % p.stderr.decode(errors="replace").strip())
        shutil.rmtree(root, ignore_errors=True)
        return out

    # -- life cycle
    def start(self):
        cmd = self.command()
        self.out = open(self.out_path, "wb")
        self.err = open(self.err_path, "wb")
        self.started = time.monotonic()
        env = dict(os.environ, **self.env) if self.env else None
        if self.kind == "wisp" and self.qemu_extra:
            env = dict(env or os.environ, WISP_QEMU_EXTRA=" ".join(self.qemu_extra))
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.out,
                                     stderr=self.err, start_new_session=True, env=env,
                                     preexec_fn=_die_with_parent)
        return self

    def output(self):
        """The program's output (wisp: its stdout; Linux: the console)."""
        try:
            with open(self.out_path, "rb") as f:
                return f.read()
        except OSError:
            return b""

    def errors(self):
        try:
            with open(self.err_path, "rb") as f:
                return f.read()
        except OSError:
            return b""

    def tail(self, n=12):
        text = (self.output()[-4000:] + b"\n" + self.errors()[-4000:]).decode("utf-8", "replace")
        lines = [l for l in text.replace("\r", "").splitlines() if l.strip()]
        return "\n".join("    | " + l for l in lines[-n:])

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, probe, timeout=90.0):
        """probe: a function of no argument, or a bytes regex to find in the
        output. Returns the seconds from start to ready; raises GuestError
        (with the output's tail) when the guest dies or the time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            if isinstance(probe, (bytes, re.Pattern)):
                ok = re.search(probe, self.output()) is not None
            else:
                ok = probe()
            if ok:
                return time.monotonic() - self.started
            if not self.alive():
                raise GuestError("the %s guest ended (status %s) before serving:\n%s"
                                 % (self.kind, self.proc.returncode, self.tail()))
            if time.monotonic() > deadline:
                raise GuestError("the %s guest did not serve within %.0f s:\n%s"
                                 % (self.kind, timeout, self.tail()))
            time.sleep(0.2)

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        """Ends the VM whatever its state: wisp is asked with SIGTERM (it
        kills QEMU's group), then everything of ours is SIGKILLed."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM if self.kind == "wisp" else signal.SIGKILL)
                self.proc.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for f in (getattr(self, "out", None), getattr(self, "err", None)):
            if f:
                f.close()

    def cleanup(self):
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()
        return False


def _die_with_parent():
    """In the child before exec: SIGKILL when the test or benchmark dies
    (even by SIGKILL), so no VM outlives it. wisp passes the same on to
    QEMU; for the Linux guest QEMU is the child itself."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def library_files(prog):
    """{path ld.so opens: host file} for a dynamic ELF, by ldd; {} if static."""
    p = subprocess.run(["ldd", prog], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    found = {}
    if p.returncode != 0:
        return found     # "not a dynamic executable"
    for line in p.stdout.splitlines():
        m = re.search(r"=>\s*(/\S+)", line) or re.match(r"\s*(/\S+)", line)
        if m:
            found[m.group(1)] = os.path.realpath(m.group(1))
    return found


class LinuxKernel:
    """Debian's kernel booted as bench/boot.py does (its LinuxLeg: the PVH
    vmlinux when it works, the TSC rate from one calibration boot)."""

    def __init__(self, kernel, flags, version):
        self.kernel, self.flags, self.version = kernel, flags, version

    @classmethod
    def prepare(cls, accel="tcg", mem=128, timeout=60.0):
        import boot   # bench/boot.py

        class Args:
            pass
        a = Args()
        a.linux, a.linux_boot, a.mem, a.timeout = None, "auto", mem, timeout

        class Ctx:
            pass
        c = Ctx()
        c.args, c.qemu = a, bl.Qemu(accel=accel)
        leg = boot.LinuxLeg(c)
        leg.prepare()        # raises bl.BenchError when it cannot boot
        flags = leg.flags() + ["loglevel=3"]
        return cls(leg.kernel, flags, leg.info.get("version"))
