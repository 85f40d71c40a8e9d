"""Shared helpers for wisp's system tests: build initramfs archives, boot the
kernel under QEMU directly (framed console, decoded here), run build/wisp."""
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
KERNEL = os.path.join(BUILD, "kernel.elf")
WISP = os.path.join(BUILD, "wisp")

PANIC_STATUS = 134

# The CPU model for -accel kvm, as build/wisp picks it: this host's KVM (PVM)
# makes QEMU abort on MSR 0x10a unless arch-capabilities is off.
KVM_CPU = "host,-arch-capabilities"


def kvm_usable():
    try:
        fd = os.open("/dev/kvm", os.O_RDWR)
        os.close(fd)
        return True
    except OSError:
        return False


def populate(root, files, links=(), dirs=(), modes=()):
    """Fills directory root: files {guest: host path or bytes} (bytes become
    executables), links (guest, target) symlinks, dirs, then modes (guest, mode)."""
    for d in dirs:
        os.makedirs(os.path.join(root, d.lstrip("/")), exist_ok=True)
    for guest, src in files.items():
        path = os.path.join(root, guest.lstrip("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if isinstance(src, bytes):
            with open(path, "wb") as f:
                f.write(src)
            os.chmod(path, 0o755)
        else:
            shutil.copy2(src, path)
    for guest, target in links:
        path = os.path.join(root, guest.lstrip("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.symlink(target, path)
    for guest, mode in modes:
        os.chmod(os.path.join(root, guest.lstrip("/")), mode)


def cpio_from_tree(root, dest):
    """Archives directory root as `find . | cpio -o -H newc` would."""
    names = subprocess.run(["find", "."], cwd=root, capture_output=True,
                           check=True).stdout
    with open(dest, "wb") as out:
        subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=root,
                       input=names, stdout=out, check=True)
    return dest


def make_cpio(files, dest, links=(), dirs=(), modes=()):
    """Writes a newc archive of the tree populate() makes."""
    with tempfile.TemporaryDirectory() as tmp:
        populate(tmp, files, links, dirs, modes)
        return cpio_from_tree(tmp, dest)


@dataclass
class Boot:
    status: int          # from the exit frame; None if the VM gave none
    stdout: bytes
    stderr: bytes
    log: str             # kernel log text (info and warnings)
    qemu_rc: int
    timed_out: bool
    raw: bytes

    def __str__(self):
        return (f"status={self.status} qemu_rc={self.qemu_rc} timed_out={self.timed_out}\n"
                f"--- log ---\n{self.log}\n--- stdout ---\n{self.stdout!r}\n"
                f"--- stderr ---\n{self.stderr!r}")


def decode_frames(raw):
    out, err, log, status = bytearray(), bytearray(), bytearray(), None
    i = 0
    while i + 3 <= len(raw):
        if raw[i] != 0xF5:
            i += 1
            continue
        chan, n = raw[i + 1], raw[i + 2]
        payload = raw[i + 3:i + 3 + n]
        i += 3 + n
        if chan == 1:
            out += payload
        elif chan == 2:
            err += payload
        elif chan in (3, 4):
            log += payload
        elif chan == 5 and n == 4:
            status = int.from_bytes(payload, "little", signed=True)
    return bytes(out), bytes(err), log.decode(errors="replace"), status


def boot(args, files=None, machine="microvm", accel="tcg", mem="64M", smp=1,
         timeout=60, loglevel="info", extra=(), cpu=None, wrap=()):
    """Boots build/kernel.elf with `args` (kernel options, `--`, argv), with
    the heap's debug checks on. `wrap`: a command QEMU's is appended to
    (e.g. unshare in a private network namespace)."""
    with tempfile.TemporaryDirectory() as tmp:
        if cpu is None:
            cpu = KVM_CPU if accel == "kvm" else "max"
        cmd = ["qemu-system-x86_64", "-M", machine, "-accel", accel, "-cpu", cpu,
               "-m", mem,
               "-smp", str(smp), "-nodefaults", "-no-user-config", "-nographic",
               "-display", "none", "-no-reboot", "-serial", "stdio",
               "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
               "-kernel", KERNEL, "-append", f"console=framed loglevel={loglevel} heap_debug {args}"]
        if files:
            cmd += ["-initrd", make_cpio(files, os.path.join(tmp, "root.cpio"))]
        cmd = list(wrap) + cmd + list(extra)
        try:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=timeout)
            raw, rc, to = p.stdout, p.returncode, False
        except subprocess.TimeoutExpired as e:
            raw, rc, to = e.stdout or b"", None, True
    out, err, log, status = decode_frames(raw)
    return Boot(status, out, err, log, rc, to, raw)


def wisp(*args, timeout=120, input=None):
    return subprocess.run([WISP, *args], capture_output=True, timeout=timeout,
                          input=input, stdin=None if input is not None else subprocess.DEVNULL)


BUSYBOX = shutil.which("busybox") or "/bin/busybox"


@pytest.fixture
def busybox_root():
    return {"/bin/busybox": BUSYBOX}
