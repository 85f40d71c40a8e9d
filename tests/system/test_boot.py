"""The kernel boots under QEMU and ends the VM with a status."""
import re

import pytest

from conftest import boot, kvm_usable, PANIC_STATUS


@pytest.mark.parametrize("machine", ["microvm", "q35"])
def test_boots_to_program_tcg(machine, busybox_root):
    b = boot("-- /bin/busybox true", files=busybox_root, machine=machine)
    assert b.status == 0, b
    assert re.search(r"program started after \d+ us", b.log), b


@pytest.mark.skipif(not kvm_usable(), reason="/dev/kvm cannot be opened")
def test_boots_on_kvm(busybox_root):
    # /dev/kvm here is PVM: ring 0 is emulated and slow, hence the long timeout;
    # its QEMU refuses MSR 0x10a, hence -arch-capabilities in boot().
    b = boot("-- /bin/busybox true", files=busybox_root, accel="kvm", timeout=240)
    assert b.status == 0, b
    assert "program started" in b.log, b


def kernel_base(log):
    m = re.search(r"kernel at (0x[0-9a-f]+) \((no)?kaslr\)", log)
    assert m, log
    return int(m.group(1), 16)


def test_kaslr_moves_the_kernel(busybox_root):
    bases = {kernel_base(boot("-- /bin/busybox true", files=busybox_root).log)
             for _ in range(3)}
    assert len(bases) > 1
    for base in bases:
        assert 0xFFFF808000000000 <= base < 0xFFFFC00000000000
        assert base % (2 << 20) == 0


def test_nokaslr_uses_the_lowest_base(busybox_root):
    b = boot("nokaslr -- /bin/busybox true", files=busybox_root)
    assert kernel_base(b.log) == 0xFFFF808000000000
    assert "(nokaslr)" in b.log


def test_no_program_is_a_clear_error():
    b = boot("")
    assert b.status == 125, b
    assert "no program given" in b.log


def test_unknown_selftest_is_refused():
    b = boot("selftest=no_such_test")
    assert b.status == 1, b
    assert "no test named 'no_such_test'" in b.log
