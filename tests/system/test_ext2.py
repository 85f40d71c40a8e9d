"""ext2 disks end to end, as a user types it: `wisp build` + `wisp boot` of a
static (busybox) and a dynamic (lua5.4) program from an ext2 root, guest
writes on a `--disk` image checked afterwards by the host's e2fsck and
debugfs, sqlite3 rows read back by the host's sqlite3, and images the
kernel or the tool must refuse with one clear line."""
import os
import shutil
import subprocess

import pytest

from conftest import wisp

BUSYBOX = shutil.which("busybox")
LUA = shutil.which("lua5.4")
SQLITE = shutil.which("sqlite3")

pytestmark = pytest.mark.skipif(not shutil.which("mke2fs") or not shutil.which("debugfs"),
                                reason="e2fsprogs not installed")

RUN = ["--accel", "tcg", "--timeout", "300"]


def fsck_clean(img):
    p = subprocess.run(["e2fsck", "-fn", img], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


def debugfs(img, req):
    return subprocess.run(["debugfs", "-R", req, img], capture_output=True,
                          timeout=60).stdout


def state(img):
    out = subprocess.run(["dumpe2fs", "-h", img], capture_output=True, text=True).stdout
    return [l for l in out.splitlines() if l.startswith("Filesystem state")][0]


def mkfs(path, size="32M", *extra):
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext2", *extra, path, size], check=True,
                   capture_output=True)
    return path


def one_error_line(p):
    err = p.stderr.decode()
    lines = [l for l in err.splitlines() if l.strip() and "syscall" not in l]
    assert p.returncode == 125, err
    assert 1 <= len(lines) <= 2, err
    return err


@pytest.mark.skipif(not BUSYBOX, reason="busybox not installed")
def test_build_boot_busybox(tmp_path):
    img = str(tmp_path / "bb.img")
    b = wisp("build", "-o", img, "-e", "WHO=ext2", "--", BUSYBOX, "sh", "-c",
             "echo hello from $WHO; echo kept > /data/note")
    assert b.returncode == 0, b.stderr
    assert b"wrote" in b.stderr and os.path.getsize(img) > 0
    fsck_clean(img)
    assert b"/etc/wisp/config" not in b.stdout
    r = wisp("boot", img, *RUN, timeout=320)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"hello from ext2\n"
    fsck_clean(img)
    assert "clean" in state(img) and "not clean" not in state(img)
    assert debugfs(img, "cat /data/note") == b"kept\n"
    # Arguments after -- replace the image's command line.
    r = wisp("boot", img, *RUN, "--", "/usr/bin/busybox", "cat", "/data/note", timeout=320)
    assert r.returncode == 0 and r.stdout == b"kept\n", r.stderr


@pytest.mark.skipif(not LUA, reason="lua5.4 not installed")
@pytest.mark.parametrize("fmt,machine", [("raw", "microvm"), ("qcow2", "microvm"),
                                         ("raw", "q35")])
def test_build_boot_lua(tmp_path, fmt, machine):
    img = str(tmp_path / f"lua.{fmt}")
    script = ('local f = assert(io.open("/data/out.txt", "w")) '
              'for i = 1, 1000 do f:write(i, "\\n") end f:close() '
              'print("lua on ext2", _VERSION)')
    b = wisp("build", "-o", img, "--format", fmt, "--", LUA, "-e", script)
    assert b.returncode == 0, b.stderr
    r = wisp("boot", img, *RUN, "--machine", machine, timeout=320)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"lua on ext2\tLua 5.4\n"
    if fmt == "raw":
        fsck_clean(img)
        want = "".join(f"{i}\n" for i in range(1, 1001)).encode()
        assert debugfs(img, "cat /data/out.txt") == want


@pytest.mark.skipif(not BUSYBOX, reason="busybox not installed")
def test_guest_writes_data_disk(tmp_path):
    disk = mkfs(str(tmp_path / "data.img"), "64M", "-b", "1024")
    steps = [
        ["mkdir", "-p", "/data/a/b/c"],
        ["sh", "-c", "echo first > /data/a/one; echo second > /data/a/b/two"],
        ["dd", "if=/dev/urandom", "of=/data/a/big", "bs=65536", "count=40"],
        ["cp", "/data/a/big", "/data/a/b/c/copy"],
        ["ln", "-s", "../one", "/data/a/b/link"],
        ["ln", "/data/a/one", "/data/a/hard"],
        ["mv", "/data/a/b/two", "/data/a/moved"],
        ["rm", "/data/a/big"],
        ["truncate", "-s", "12345", "/data/a/b/c/copy"],
        ["sh", "-c", "read x < /data/a/b/link; echo $x"],
    ]
    for argv in steps:
        r = wisp("run", *RUN, "--disk", disk, "--", BUSYBOX, *argv, timeout=320)
        assert r.returncode == 0, (argv, r.stderr)
        fsck_clean(disk)
    assert r.stdout == b"first\n"
    assert debugfs(disk, "cat /a/one") == b"first\n"
    assert debugfs(disk, "cat /a/hard") == b"first\n"
    assert debugfs(disk, "cat /a/moved") == b"second\n"
    assert b"copy" in debugfs(disk, "ls /a/b/c")
    st = debugfs(disk, "stat /a/b/c/copy").decode()
    assert "Size: 12345" in st
    assert b"big" not in debugfs(disk, "ls /a")
    assert "Links: 2" in debugfs(disk, "stat /a/one").decode()


@pytest.mark.skipif(not BUSYBOX, reason="busybox not installed")
def test_disk_at_other_mount_point(tmp_path):
    disk = mkfs(str(tmp_path / "d.img"))
    subprocess.run(["debugfs", "-w", "-R", "mkdir from-host", disk], check=True,
                   capture_output=True)
    r = wisp("run", *RUN, "--disk", f"{disk}:/srv/vol", "--", BUSYBOX, "ls", "/srv/vol",
             timeout=320)
    assert r.returncode == 0, r.stderr
    assert b"from-host" in r.stdout and b"lost+found" in r.stdout


@pytest.mark.skipif(not SQLITE, reason="sqlite3 not installed")
def test_sqlite_rows_survive(tmp_path):
    disk = mkfs(str(tmp_path / "db.img"), "128M")
    sql = (b"CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);\n"
           b"BEGIN;\n"
           b"WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 50000)\n"
           b"  INSERT INTO t SELECT i, 'row ' || i FROM c;\n"
           b"COMMIT;\n"
           b"BEGIN;\n"
           b"WITH RECURSIVE c(i) AS (SELECT 50001 UNION ALL SELECT i+1 FROM c WHERE i < 100000)\n"
           b"  INSERT INTO t SELECT i, 'row ' || i FROM c;\n"
           b"COMMIT;\n"
           b"SELECT count(*), sum(id) FROM t;\n")
    r = wisp("run", *RUN, "-m", "256M", "--disk", disk, "--", SQLITE, "/data/t.db",
             input=sql, timeout=320)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"100000|5000050000\n"
    fsck_clean(disk)
    out = tmp_path / "t.db"
    subprocess.run(["debugfs", "-R", f"dump /t.db {out}", disk], check=True,
                   capture_output=True)
    h = subprocess.run([SQLITE, str(out), "SELECT count(*), max(v) FROM t WHERE id > 99990;"],
                       capture_output=True, timeout=60)
    assert h.stdout == b"10|row 99999\n", h.stderr


def test_bad_images_tool(tmp_path):
    empty = tmp_path / "empty.img"
    empty.write_bytes(b"")
    err = one_error_line(wisp("boot", str(empty), *RUN))
    assert "empty" in err
    err = one_error_line(wisp("boot", str(tmp_path / "missing.img"), *RUN))
    assert "No such file" in err
    trunc = mkfs(str(tmp_path / "t.img"), "16M")
    os.truncate(trunc, 4 << 20)
    err = one_error_line(wisp("boot", trunc, *RUN))
    assert "truncated" in err
    bad = mkfs(str(tmp_path / "b.img"), "16M")
    with open(bad, "r+b") as f:
        f.seek(1080)
        f.write(b"\0\0")
    err = one_error_line(wisp("boot", bad, *RUN))
    assert "not an ext2 file system" in err
    if BUSYBOX:
        err = one_error_line(wisp("run", *RUN, "--disk", str(empty), "--", BUSYBOX, "true"))
        assert "empty" in err


@pytest.mark.skipif(not BUSYBOX, reason="busybox not installed")
def test_bad_images_kernel(tmp_path):
    """Images the tool lets through (right magic) that the kernel refuses."""
    e4 = str(tmp_path / "e4.img")
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", e4, "16M"], check=True,
                   capture_output=True)
    r = wisp("run", *RUN, "--disk", e4, "--", BUSYBOX, "true", timeout=120)
    assert r.returncode == 125
    assert b"unsupported ext2 features: extent" in r.stderr, r.stderr
    cor = mkfs(str(tmp_path / "c.img"), "16M")
    with open(cor, "r+b") as f:       # s_inodes_per_group
        f.seek(1024 + 40)
        f.write(b"\xff\xff\xff\x7f")
    r = wisp("run", *RUN, "--disk", cor, "--", BUSYBOX, "true", timeout=120)
    assert r.returncode == 125
    assert b"cannot mount: bad inodes per group" in r.stderr, r.stderr


FSYNC_APPEND = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "build", "tests", "guest", "musl", "fsync_append")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_crash_keeps_fsynced_records(tmp_path, seed):
    """SIGKILL at a random moment: every record the guest printed (after its
    fsync returned) is on the disk, and e2fsck -fy leaves a clean file
    system. docs/ext2.md says what survives a crash."""
    import random
    import signal
    import time
    from conftest import WISP
    disk = mkfs(str(tmp_path / "crash.img"), "64M")
    p = subprocess.Popen([WISP, "run", "--accel", "tcg", "--disk", disk, "--",
                          FSYNC_APPEND, "/data/log"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    rnd = random.Random(seed)
    want = rnd.randint(20, 400)
    printed = []
    deadline = time.time() + 120
    while len(printed) < want and time.time() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        printed.append(int(line))
    time.sleep(rnd.random() * 0.05)
    p.send_signal(signal.SIGKILL)   # QEMU follows (PR_SET_PDEATHSIG)
    p.wait()
    time.sleep(0.5)
    assert len(printed) >= 20, p.stderr.read()
    assert printed == list(range(len(printed)))
    on_disk = debugfs(disk, "cat /log").decode().splitlines()
    for i in printed:
        assert on_disk[i].startswith(f"record {i:08d} "), (i, len(on_disk))
    subprocess.run(["e2fsck", "-fy", disk], capture_output=True)
    fsck_clean(disk)
