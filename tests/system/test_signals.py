"""Signals: handlers, frames, masks, faults, restarts, timers and default
actions, through the guest programs tests/guest/sig_*.c built with musl
(static) and glibc (dynamic)."""
import re

import pytest

from conftest import boot
from test_abi import VARIANTS, run_guest


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", ["sig_basic", "sig_fault", "sig_restart"])
def test_self_checking(variant, name):
    b = run_guest(variant, name, timeout=120)
    assert b.status == 0, b
    assert f"{name}: ok\n".encode() in b.stdout, b


@pytest.mark.parametrize("variant", VARIANTS)
def test_abort_is_134_with_report(variant):
    b = run_guest(variant, "sig_default", "abort")
    assert b.status == 134, b
    assert b.stdout == b"aborting\n", b
    assert "program killed by SIGABRT" in b.log, b
    assert "user backtrace" in b.log, b


@pytest.mark.parametrize("variant", VARIANTS)
def test_kill_self_sigterm_is_143(variant):
    b = run_guest(variant, "sig_default", "term")
    assert b.status == 143, b
    assert "program killed by SIGTERM" in b.log, b


@pytest.mark.parametrize("variant", VARIANTS)
def test_sigpipe_default_kills_141(variant):
    b = run_guest(variant, "sig_default", "pipe")
    assert b.status == 141, b
    assert "program killed by SIGPIPE" in b.log, b


@pytest.mark.parametrize("variant", VARIANTS)
def test_sigpipe_ignored_gives_epipe(variant):
    b = run_guest(variant, "sig_default", "pipe-ignored")
    assert b.status == 0, b
    assert b.stdout == b"EPIPE\n", b


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("how", ["segv-blocked", "segv-ignored"])
def test_fault_blocked_or_ignored_is_fatal(variant, how):
    b = run_guest(variant, "sig_default", how)
    assert b.status == 139, b
    assert re.search(r"program killed by SIGSEGV at address 0x10\b", b.log), b


@pytest.mark.parametrize("variant", VARIANTS)
def test_ignored_signals(variant):
    b = run_guest(variant, "sig_default", "ignored")
    assert b.status == 0, b
    assert b.stdout == b"survived\n", b
