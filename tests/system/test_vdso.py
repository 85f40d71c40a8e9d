"""The vDSO: tests/guest/vdso.c (musl static and glibc dynamic) finds it
through AT_SYSINFO_EHDR, checks its symbols and that its clocks agree with
the system calls; the kernel's syscall trace proves the C library's clock
calls did not enter the kernel."""
import os
import re

import pytest

from conftest import BUILD, boot, kvm_usable

GUEST = os.path.join(BUILD, "tests", "guest")
GLIBC_LIBS = {
    "/lib64/ld-linux-x86-64.so.2": "/lib64/ld-linux-x86-64.so.2",
    "/lib/x86_64-linux-gnu/libc.so.6": "/lib/x86_64-linux-gnu/libc.so.6",
}
VARIANTS = ["musl", "glibc"]


def files_for(variant):
    files = {"/t/vdso": os.path.join(GUEST, variant, "vdso")}
    if variant == "glibc":
        files.update({g: os.path.realpath(h) for g, h in GLIBC_LIBS.items()})
    return files


def run(variant, args="", opts="", **kw):
    return boot(f"{opts} -- /t/vdso {args}", files=files_for(variant), **kw)


def traced(log, name):
    return len(re.findall(rf"strace: {name}\(", log))


@pytest.mark.parametrize("variant", VARIANTS)
def test_vdso_checks(variant):
    b = run(variant)
    assert b.status == 0, b
    assert b"vdso: ok\n" in b.stdout, b


@pytest.mark.parametrize("variant", VARIANTS)
def test_libc_clock_calls_stay_in_user_space(variant):
    """Under `strace`, the only clock system calls are the ones the program
    made itself (raw syscall() and clocks the vDSO leaves to the kernel)."""
    b = run(variant, "20", opts="strace", timeout=120)
    assert b.status == 0, b
    m = re.search(rb"clock_gettime syscalls made: (\d+)", b.stdout)
    assert m, b
    assert traced(b.log, "clock_gettime") == int(m.group(1)), b.stdout
    assert traced(b.log, "gettimeofday") == 0
    assert traced(b.log, "time") == 0
    # The raw one; musl's clock_getres always makes the system call.
    assert traced(b.log, "clock_getres") == (1 if variant == "glibc" else 3)


def test_unmapping_the_vdso():
    """munmap of the vDSO and its data page (the kernel's own page) leaves
    fresh memory there and the kernel intact."""
    b = run("musl", "unmap")
    assert b.status == 0, b
    assert b"vdso unmap: ok\n" in b.stdout, b


def test_vdso_off():
    """`vdso=0`: no AT_SYSINFO_EHDR; the C library falls back to syscalls."""
    b = run("musl", opts="vdso=0")
    assert b.status == 1, b
    assert b"FAILED: eh != 0" in b.stderr, b


def test_vdso_smp():
    """getcpu through TSC_AUX on several CPUs."""
    b = run("musl", "100", smp=4)
    assert b.status == 0, b
    assert b"vdso: ok\n" in b.stdout, b


@pytest.mark.skipif(not kvm_usable(), reason="no usable /dev/kvm")
@pytest.mark.parametrize("variant", VARIANTS)
def test_vdso_kvm(variant):
    b = run(variant, "100", accel="kvm")
    assert b.status == 0, b
    assert b"vdso: ok\n" in b.stdout, b
