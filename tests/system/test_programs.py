"""Real programs from Debian, packed and run with `wisp run` as a user would,
with their output compared to the same command on the host."""
import os
import shutil
import subprocess

import pytest

from conftest import ROOT, wisp

DATA = os.path.join(ROOT, "tests", "data")
BUSYBOX = shutil.which("busybox")


def host(*argv, stdin=None):
    return subprocess.run(list(argv), capture_output=True, input=stdin, timeout=60)


def in_wisp(*argv, add=(), stdin=None):
    """add: HOST[:GUEST] pairs. Not under /tmp: the guest mounts a tmpfs there."""
    args = ["run", "--accel", "tcg", "--timeout", "300"]
    for a in add:
        args += ["--add", a]
    return wisp(*args, "--", *argv, input=stdin, timeout=320)


TEXT = "/data/words.txt"   # where the guest sees the text file


@pytest.fixture(scope="module")
def textfile(tmp_path_factory):
    d = tmp_path_factory.mktemp("text")
    p = d / "words.txt"
    lines = [f"{(i * 7919) % 1000:04d} word{i % 37} {'x' * (i % 5)}" for i in range(2000)]
    p.write_text("\n".join(lines) + "\n")
    return str(p)


BUSYBOX_CASES = {
    "echo": ["echo", "hello", "wisp"],
    "ls": ["ls", "-1", DATA],
    "sha256sum": ["sha256sum", "{f}"],
    "sort": ["sort", "-r", "{f}"],
    "wc": ["wc", "-l", "-w", "-c", "{f}"],
    "sed": ["sed", "-n", "s/word1\\([0-9]\\)/W\\1/p", "{f}"],
    "awk": ["awk", "{ s[$2] += $1 } END { for (k in s) n++; print n, NR }", "{f}"],
    "head": ["head", "-n", "5", "{f}"],
    "cut": ["cut", "-d", " ", "-f2", "{f}"],   # (no pipelines: one program, no fork)
    "sh": ["sh", "-c", "for i in 1 2 3; do echo $i; done; x=$((6*7)); echo $x"],
}


@pytest.mark.skipif(not BUSYBOX, reason="busybox not installed")
@pytest.mark.parametrize("name", sorted(BUSYBOX_CASES))
def test_busybox_matches_host(name, textfile):
    want = host(BUSYBOX, *[a.replace("{f}", textfile) for a in BUSYBOX_CASES[name]])
    want_out = want.stdout.replace(textfile.encode(), TEXT.encode())
    got = in_wisp(BUSYBOX, *[a.replace("{f}", TEXT) for a in BUSYBOX_CASES[name]],
                  add=[f"{textfile}:{TEXT}", DATA])
    assert got.returncode == want.returncode, got.stderr
    assert got.stdout == want_out


@pytest.mark.skipif(not shutil.which("lua5.4"), reason="lua5.4 not installed")
def test_lua_script_matches_host():
    script = os.path.join(DATA, "exercise.lua")
    want = host("lua5.4", script)
    got = in_wisp("lua5.4", script, add=[script])
    assert got.returncode == 0, got.stderr
    assert got.stdout == want.stdout


@pytest.mark.skipif(not shutil.which("sqlite3"), reason="sqlite3 not installed")
@pytest.mark.parametrize("db", [":memory:", "/tmp/test.db"])
def test_sqlite_matches_host(db, tmp_path):
    sql = open(os.path.join(DATA, "exercise.sql"), "rb").read()
    want = host("sqlite3", str(tmp_path / "h.db") if db != ":memory:" else db, stdin=sql)
    got = in_wisp("sqlite3", db, stdin=sql)
    assert got.returncode == 0, got.stderr
    assert got.stdout == want.stdout
    assert b"10000|" in got.stdout
