"""Shared pieces of wisp's benchmarks: paths, the QEMU command line, one timed
boot, statistics, and building the guest helper and initramfs images.

Every benchmark module (bench/boot.py, later syscalls, network...) imports
this; none of it is specific to one benchmark. Standard library only.
"""

import os
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
BUILD = os.path.join(ROOT, "build")
OUT = os.path.join(BUILD, "bench")

QEMU = "qemu-system-x86_64"
# The machine `wisp run` uses (tools/wisp/qemu.c): microvm without PCI and
# without option ROMs (qboot enters the PVH entry itself), a 16550 on the ISA
# bus, an RTC, and isa-debug-exit as wisp's last-resort power-off port. Both
# guests of a comparison get exactly this machine.
MACHINE = "microvm,x-option-roms=off,isa-serial=on,rtc=on"
MACHINE_DEVICES = ["-device", "isa-debug-exit,iobase=0xf4,iosize=4"]
# TCG: everything QEMU can emulate. KVM: the host CPU minus the
# IA32_ARCH_CAPABILITIES MSR, which the PVM hypervisor of our build machines
# refuses to set (QEMU 7.2 aborts in kvm_buf_set_msrs); same as `wisp run`.
CPU = {"tcg": "max", "kvm": "host,-arch-capabilities"}


class BenchError(Exception):
    """A benchmark leg cannot run; the message says why, in one line."""


def log(msg):
    """Progress goes to stderr so that stdout carries only JSON + table."""
    print("bench: " + msg, file=sys.stderr, flush=True)


def rel(path):
    """A path relative to the repository when it is inside it."""
    p = os.path.abspath(path)
    return os.path.relpath(p, ROOT) if p.startswith(ROOT + os.sep) else p


def ensure_out():
    os.makedirs(OUT, exist_ok=True)
    return OUT


def newer(target, *sources):
    """True when target exists and is at least as new as every source."""
    if not os.path.exists(target):
        return False
    t = os.path.getmtime(target)
    return all(os.path.getmtime(s) <= t for s in sources if os.path.exists(s))


# --- the monitor -------------------------------------------------------------

class Qemu:
    """The QEMU command line shared by every guest of a run."""

    def __init__(self, accel="tcg", cpu=None, smp=1, binary=QEMU):
        if accel not in CPU:
            raise ValueError("accel must be tcg or kvm")
        self.binary = shutil.which(binary) or binary
        self.accel = accel
        self.cpu = cpu or CPU[accel]
        self.smp = smp

    def check(self):
        if not shutil.which(self.binary):
            raise BenchError("%s not found (install qemu-system-x86 with scripts/deps.sh)" % QEMU)
        if self.accel == "kvm" and not os.access("/dev/kvm", os.R_OK | os.W_OK):
            raise BenchError("--accel kvm: /dev/kvm is missing or not accessible")

    def version(self):
        try:
            out = subprocess.run([self.binary, "--version"], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True, timeout=10).stdout
        except (OSError, subprocess.TimeoutExpired):
            return None
        m = re.search(r"version (\S+)", out)
        return m.group(1) if m else out.strip().splitlines()[0] if out.strip() else None

    def describe(self):
        return {
            "monitor": "qemu",
            "monitor_version": self.version(),
            "machine": MACHINE,
            "accel": self.accel,
            "cpu": self.cpu,
            "smp": self.smp,
        }

    def argv(self, kernel, initrd, append, mem_mib):
        a = [self.binary,
             "-M", MACHINE, "-accel", self.accel, "-cpu", self.cpu,
             "-m", "%dM" % mem_mib, "-smp", str(self.smp),
             "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
             "-serial", "stdio"]
        a += MACHINE_DEVICES
        a += ["-kernel", kernel]
        if initrd:
            a += ["-initrd", initrd]
        a += ["-append", append]
        return a


# --- one timed boot ----------------------------------------------------------

class BootResult:
    """What one QEMU run showed.

    ok       the pattern appeared on the console
    seconds  wall time from just before QEMU was started until the read that
             completed the pattern (None unless ok)
    match    the re.Match object on the console bytes (None unless ok)
    reason   why not ok, in one line
    """

    def __init__(self):
        self.ok = False
        self.seconds = None
        self.match = None
        self.reason = None
        self.console = b""
        self.stderr = b""
        self.exit_status = None

    def tail(self, lines=8):
        """The last console/stderr lines, for error messages."""
        text = (self.console + b"\n" + self.stderr).decode("utf-8", "replace")
        text = text.replace("\r", "")
        kept = [l for l in text.splitlines() if l.strip()]
        return "\n".join("    | " + l for l in kept[-lines:])


# QEMU reports these on stderr and then sits paused forever: stop at once.
FATAL_STDERR = re.compile(rb"KVM internal error|failed to set MSR|Assertion .* failed")


def boot_once(argv, pattern, timeout, grace=2.0, fatal=None):
    """Start QEMU with argv, watch its serial console (stdout) for pattern
    (a compiled bytes regex) and stop the clock at the read that completes it.

    Then give the VM `grace` seconds to power itself off and kill it if it
    has not. QEMU is always gone when this returns. `fatal` is an optional
    bytes regex that, seen on the console, ends the run early (a guest panic).
    """
    r = BootResult()
    console = bytearray()
    err = bytearray()
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    fds = {p.stdout.fileno(): console, p.stderr.fileno(): err}
    deadline = t0 + timeout
    scanned = 0
    try:
        while fds:
            now = time.monotonic()
            if now >= deadline:
                break
            ready, _, _ = select.select(list(fds), [], [], deadline - now)
            if not ready:
                break
            stamp = time.monotonic()
            for fd in ready:
                data = os.read(fd, 65536)
                if not data:
                    del fds[fd]
                    continue
                fds[fd] += data
            if not r.ok and r.reason is None:
                # Look only at what could contain a new match.
                start = max(0, scanned - 256)
                m = pattern.search(bytes(console), start)
                if m:
                    r.ok, r.seconds, r.match = True, stamp - t0, m
                    # From here on only drain the pipes while the VM shuts down.
                    deadline = min(deadline, stamp + grace)
                    continue
                scanned = len(console)
                if FATAL_STDERR.search(bytes(err)):
                    r.reason = "QEMU failed: " + _first_line(err, FATAL_STDERR)
                elif fatal is not None:
                    fm = fatal.search(bytes(console), start)
                    if fm:
                        r.reason = "guest failed: " + fm.group(0).decode("utf-8", "replace").strip()
                if r.reason:
                    # Keep what follows (a backtrace) for a moment, then stop.
                    deadline = min(deadline, stamp + 1.0)
        if not r.ok and r.reason is None and fds:
            r.reason = "no program-start line within %.0f s (killed)" % timeout
    finally:
        if p.poll() is None:
            try:
                p.wait(timeout=0.05 if fds else 1.0)
            except subprocess.TimeoutExpired:
                pass
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        p.wait()
        p.stdout.close()
        p.stderr.close()
    r.exit_status = p.returncode
    r.console, r.stderr = bytes(console), bytes(err)
    if not r.ok and r.reason is None:
        last = r.tail(1).replace("    | ", "", 1)
        r.reason = "QEMU exited (status %s) before the program-start line%s" % (
            p.returncode, "; last line: " + last if last else "")
    return r


def _first_line(buf, rx):
    m = rx.search(bytes(buf))
    s = bytes(buf)
    start = s.rfind(b"\n", 0, m.start()) + 1
    end = s.find(b"\n", m.end())
    return s[start:end if end >= 0 else len(s)].decode("utf-8", "replace").strip()


# --- statistics --------------------------------------------------------------

def summarize(samples, scale=1.0, digits=2):
    """median, min, max, mean, stdev (sample) and the samples, times scale."""
    if not samples:
        return None
    v = [x * scale for x in samples]
    rnd = lambda x: round(x, digits)
    return {
        "n": len(v),
        "median": rnd(statistics.median(v)),
        "min": rnd(min(v)),
        "max": rnd(max(v)),
        "mean": rnd(statistics.fmean(v)),
        "stdev": rnd(statistics.stdev(v)) if len(v) > 1 else 0.0,
        "samples": [rnd(x) for x in v],
    }


def min_passing(probe, lo, hi, say=None, known_ok=None):
    """Smallest n in [lo, hi] with probe(n) -> (ok, note) ok, assuming it is
    monotone. A failing probe is retried once so that one unlucky boot does
    not move the answer. known_ok: a value in [lo, hi] already seen to pass,
    used as the upper end without probing it again.
    Returns (n or None, [(n, ok, note), ...])."""
    probes = []

    def check(n):
        ok, note = probe(n)
        if not ok:
            ok, note = probe(n)
        probes.append((n, ok, note))
        if say:
            say("  -m %dM: %s" % (n, "boots" if ok else "does not boot: %s" % note))
        return ok

    if known_ok is not None and lo <= known_ok <= hi:
        hi = known_ok
    elif not check(hi):
        return None, probes
    while lo < hi:
        mid = (lo + hi) // 2
        if check(mid):
            hi = mid
        else:
            lo = mid + 1
    return hi, probes


# --- building guest pieces ---------------------------------------------------

def build_guest_program(name="hello_poweroff"):
    """bench/guest/NAME.c -> build/bench/NAME, static with musl."""
    src = os.path.join(BENCH, "guest", name + ".c")
    out = os.path.join(ensure_out(), name)
    if newer(out, src):
        return out
    if not shutil.which("musl-gcc"):
        raise BenchError("musl-gcc not found (install musl-tools with scripts/deps.sh)")
    cmd = ["musl-gcc", "-static", "-O2", "-Wall", "-Wextra", "-Werror", src, "-o", out]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        raise BenchError("building %s failed:\n%s" % (rel(src), p.stdout))
    return out


def make_cpio(files, out):
    """A cpio newc archive with `files` ({name in archive: host path}), made by
    GNU cpio from a temporary directory; every file mode 0755, owner root."""
    if not shutil.which("cpio"):
        raise BenchError("cpio not found (install cpio with scripts/deps.sh)")
    with tempfile.TemporaryDirectory(prefix="wisp-bench-") as d:
        names = []
        for name, src in sorted(files.items()):
            name = name.lstrip("/")
            dst = os.path.join(d, name)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copyfile(src, dst)
            os.chmod(dst, 0o755)
            names.append(name)
        listing = "".join(n + "\n" for n in names).encode()
        with open(out, "wb") as f:
            p = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet", "-R", "0:0",
                                "--reproducible"], input=listing, stdout=f,
                               stderr=subprocess.PIPE, cwd=d)
        if p.returncode != 0:
            raise BenchError("cpio failed: " + p.stderr.decode(errors="replace").strip())
    return out


def strip_copy(elf, out):
    """`strip -o out elf`; returns the size of the stripped copy."""
    if not shutil.which("strip"):
        raise BenchError("strip not found (install binutils with scripts/deps.sh)")
    p = subprocess.run(["strip", "-o", out, elf], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        raise BenchError("strip %s failed: %s" % (rel(elf), p.stdout.strip()))
    return os.path.getsize(out)
