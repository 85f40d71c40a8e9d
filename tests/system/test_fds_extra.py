"""timerfd and signalfd: the guest programs tests/guest/fs_timerfd.c and
tests/guest/sig_signalfd.c, musl static and glibc dynamic, on microvm and
q35 (the timer hardware differs)."""
import os

import pytest

from conftest import BUILD, boot

GUEST = os.path.join(BUILD, "tests", "guest")
GLIBC_LIBS = ["/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/libc.so.6"]


def guest_files(variant, name):
    files = {f"/t/{name}": os.path.join(GUEST, variant, name)}
    if variant == "glibc":
        files.update({g: os.path.realpath(g) for g in GLIBC_LIBS})
    return files


NAMES = [n for n in ["fs_timerfd", "sig_signalfd"]
         if os.path.exists(os.path.join("tests", "guest", n + ".c"))
         or os.path.exists(os.path.join(os.path.dirname(__file__), "..", "guest", n + ".c"))]


@pytest.mark.parametrize("variant", ["musl", "glibc"])
@pytest.mark.parametrize("name", NAMES)
def test_guest(variant, name):
    b = boot(f"-- /t/{name}", files=guest_files(variant, name), timeout=120)
    assert b.status == 0, b
    assert f"{name}: ok\n".encode() in b.stdout, b


@pytest.mark.parametrize("name", NAMES)
def test_guest_q35_smp(name):
    # Timers armed on one CPU, read from another; the APIC timer.
    b = boot(f"-- /t/{name}", files=guest_files("musl", name), machine="q35", smp=2,
             timeout=120)
    assert b.status == 0, b
    assert f"{name}: ok\n".encode() in b.stdout, b
