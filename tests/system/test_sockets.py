"""Sockets: the Linux socket ABI (argument errors, AF_UNIX, UDP, netlink,
interface ioctls) through the guest programs tests/guest/sock_*.c built
with musl (static) and glibc (dynamic)."""
import pytest

from test_abi import VARIANTS, run_guest


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", ["sock_errors", "sock_unix"])
def test_self_checking(variant, name):
    b = run_guest(variant, name, timeout=120)
    assert b.status == 0, b
    assert f"{name}: ok\n".encode() in b.stdout, b
