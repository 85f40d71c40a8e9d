"""The VFS: the in-kernel self-test (selftest=vfs), the guest programs
tests/guest/fs_*.c (musl static and glibc dynamic), and busybox reading
/proc, /dev and tmpfs the way a shell user would."""
import os

import pytest

from conftest import BUILD, boot, BUSYBOX

GUEST = os.path.join(BUILD, "tests", "guest")
GLIBC_LIBS = ["/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/libc.so.6"]


def guest_files(variant, name):
    files = {f"/t/{name}": os.path.join(GUEST, variant, name)}
    if variant == "glibc":
        files.update({g: os.path.realpath(g) for g in GLIBC_LIBS})
    return files


def test_vfs_selftest():
    b = boot("heap_debug selftest=vfs", timeout=120)
    assert "selftest vfs: ok" in b.log, b
    assert b.status == 0 or b.qemu_rc == 1, b


@pytest.mark.parametrize("variant", ["musl", "glibc"])
@pytest.mark.parametrize("name", ["fs_files", "fs_dirs", "fs_pipes"])
def test_guest(variant, name):
    b = boot(f"-- /t/{name}", files=guest_files(variant, name), timeout=120)
    assert b.status == 0, b
    assert f"{name}: ok\n".encode() in b.stdout, b


def busybox(args, **kw):
    return boot(f"-- /bin/busybox {args}", files={"/bin/busybox": BUSYBOX}, **kw)


def test_proc_and_dev_listings():
    b = busybox("ls /dev /proc /proc/self/ /proc/self/fd")
    assert b.status == 0, b
    for name in [b"null", b"zero", b"urandom", b"shm", b"stdout", b"cpuinfo", b"meminfo",
                 b"self", b"maps", b"mounts", b"cmdline"]:
        assert name in b.stdout, b


def test_proc_mounts_and_maps():
    b = busybox("cat /proc/mounts /proc/self/maps /sys/devices/system/cpu/online")
    assert b.status == 0, b
    assert b"proc /proc proc rw" in b.stdout, b
    # The in-memory root is writable: /tmp is a directory of it, not a mount
    # that would hide what the image put there.
    assert b" /tmp " not in b.stdout, b
    assert b"/bin/busybox" in b.stdout and b"[stack]" in b.stdout, b
    assert b.stdout.endswith(b"0\n"), b


def test_proc_self_links():
    b = busybox("ls -l /proc/self/exe /proc/self/cwd /dev/stdout")
    assert b.status == 0, b
    assert b"/proc/self/exe -> /bin/busybox\n" in b.stdout, b
    assert b"/proc/self/cwd -> /\n" in b.stdout, b
    assert b"/dev/stdout -> /proc/self/fd/1\n" in b.stdout, b


def test_proc_cmdline():
    b = busybox("cat /proc/self/cmdline")
    assert b.status == 0, b
    assert b.stdout == b"/bin/busybox\0cat\0/proc/self/cmdline\0", b
