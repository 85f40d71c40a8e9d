"""Scheduler self-tests on 1, 2 and 4 vCPUs under TCG (selftest=...)."""
import re

import pytest

from conftest import boot

BASIC = "sched,sync,timer_sleep,fpu"


def run(tests, smp, timeout=90, machine="microvm"):
    b = boot(f"selftest={tests}", smp=smp, timeout=timeout, machine=machine)
    n = len(tests.split(","))
    assert re.search(rf"selftests: {n} ran, 0 failed", b.log), b
    assert b.status == 0, b
    return b


@pytest.mark.parametrize("smp", [1, 2, 4])
def test_sched_selftests(smp):
    run(BASIC, smp)


@pytest.mark.parametrize("smp", [2, 4, 8])
def test_sched_smp_selftests(smp):
    b = run("sched_smp", smp)
    assert f"sched_smp: {smp} CPUs online" in b.log, b


def test_sched_64_vcpus_q35():
    b = run("sched,sched_smp", 64, timeout=180, machine="q35")
    assert "sched_smp: 64 CPUs online" in b.log, b


def test_maxcpus_limits_the_cpus_started():
    b = boot("maxcpus=2 selftest=sched_smp", smp=4)
    assert "sched_smp: 2 CPUs online" in b.log, b
    assert b.status == 0, b


def test_sched_bench_reports_figures():
    b = run("sched_bench", 2)
    assert re.search(r"same-CPU switch \d+ ns", b.log), b
    assert re.search(r"cross-CPU wake-up \d+ ns", b.log), b
    m = re.search(r"idle CPUs: (\d+) timer interrupts/s", b.log)
    assert m and int(m.group(1)) == 0, b


def test_kernel_stack_overflow_hits_the_guard_page():
    b = boot("selftest=kstack_guard", timeout=60)
    assert b.status == 134, b
    assert "#DF double fault" in b.log, b
    assert "recurse" in b.log and "thread_start" in b.log, b
