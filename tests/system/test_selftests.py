"""In-kernel self-tests (selftest=...) on real VMs, and the fatal ones that
must end the VM with a report and the panic status."""
import re

import pytest

from conftest import boot, kvm_usable, PANIC_STATUS


def assert_all_passed(b):
    m = re.search(r"selftests: (\d+) ran, (\d+) failed", b.log)
    assert m, b
    assert int(m.group(1)) > 0 and m.group(2) == "0", b
    assert b.status == 0, b


@pytest.mark.parametrize("machine", ["microvm", "q35"])
@pytest.mark.parametrize("mem", ["64M", "1G"])
def test_all_selftests_tcg(machine, mem):
    assert_all_passed(boot("heap_debug selftest=all", machine=machine, mem=mem, timeout=120))


def test_selftests_in_2_mib():
    assert_all_passed(boot("selftest=mm,heap,trap,ring3", mem="2M", timeout=60))


def test_selftests_without_x2apic_cpu():
    # qemu64: no x2APIC, no TSC-deadline, no 1 GiB pages.
    assert_all_passed(boot("selftest=all", cpu="qemu64", timeout=120))


@pytest.mark.skipif(not kvm_usable(), reason="/dev/kvm cannot be opened")
def test_selftests_kvm():
    assert_all_passed(boot("selftest=trap,timer,clock,acpi", accel="kvm", timeout=240))


def test_fault_gives_symbolized_backtrace():
    b = boot("selftest=fault")
    assert b.status == PANIC_STATUS, b
    assert "#PF page fault (vector 14)" in b.log, b
    assert re.search(r"cr2 0x0+10\b", b.log), b
    bt = b.log[b.log.index("backtrace:"):]
    for fn in ("selftest_fault_trigger", "selftest_fault", "selftest_run", "kernel_main"):
        assert fn in bt, b


def test_stack_overflow_is_caught_on_its_own_stack():
    b = boot("selftest=stackoverflow")
    assert b.status == PANIC_STATUS, b
    assert "double fault" in b.log.lower(), b
    assert "selftest_recurse" in b.log, b


def test_panic_reports_and_exits():
    b = boot("selftest=panic")
    assert b.status == PANIC_STATUS, b
    assert "panic" in b.log and "backtrace" in b.log, b
