"""The Linux ABI: guest test programs (musl static and glibc dynamic builds
of tests/guest/*.c), real Debian programs (busybox static) compared with the
host, fatal faults, the syscall trace, and the generated syscall table."""
import os
import re
import shutil
import subprocess
import tempfile

import pytest

from conftest import BUILD, ROOT, boot, BUSYBOX

GUEST = os.path.join(BUILD, "tests", "guest")
GLIBC_LIBS = {
    "/lib64/ld-linux-x86-64.so.2": "/lib64/ld-linux-x86-64.so.2",
    "/lib/x86_64-linux-gnu/libc.so.6": "/lib/x86_64-linux-gnu/libc.so.6",
}
VARIANTS = ["musl", "glibc"]


def guest_files(variant, name):
    files = {f"/t/{name}": os.path.join(GUEST, variant, name)}
    if variant == "glibc":
        files.update({g: os.path.realpath(h) for g, h in GLIBC_LIBS.items()})
    return files


def run_guest(variant, name, args="", opts="", **kw):
    return boot(f"{opts} -- /t/{name} {args}", files=guest_files(variant, name), **kw)


@pytest.mark.parametrize("variant", VARIANTS)
def test_hello(variant):
    b = run_guest(variant, "hello", "one two", opts="env=WISP_TEST=yes")
    assert b.status == 0, b
    assert b.stdout.startswith(b"hello, world\n"), b
    assert b"arg 1: one\narg 2: two\n" in b.stdout, b
    assert b"WISP_TEST=yes\n" in b.stdout, b
    assert b"hello: ok\n" in b.stdout, b
    assert b.stderr == b"hello, stderr\n", b


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("status", [0, 7, 255])
def test_exit_status(variant, status):
    b = run_guest(variant, "exit_status", str(status))
    assert b.status == status, b
    assert b.stdout == f"exiting with {status}\n".encode(), b


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", ["mmap_basic", "efault"])
def test_self_checking(variant, name):
    b = run_guest(variant, name)
    assert b.status == 0, b
    assert f"{name}: ok\n".encode() in b.stdout, b


@pytest.mark.parametrize("variant", VARIANTS)
def test_null_deref_is_sigsegv(variant):
    b = run_guest(variant, "null_deref")
    assert b.status == 139, b
    assert b.stdout == b"about to dereference NULL\n", b
    assert re.search(r"program killed by SIGSEGV at address 0x0\b", b.log), b
    assert "user backtrace" in b.log, b


def test_static_pie(tmp_path):
    """glibc static-pie: relocates itself, loaded at a random base."""
    exe = tmp_path / "hello-static-pie"
    r = subprocess.run(["gcc", "-static-pie", "-O2", "-D_GNU_SOURCE", "-I", os.path.join(ROOT, "tests/guest"),
                        os.path.join(ROOT, "tests/guest/hello.c"), "-o", str(exe)],
                       capture_output=True)
    if r.returncode:
        pytest.skip("gcc -static-pie unavailable: " + r.stderr.decode()[-200:])
    b = boot("-- /t/hello", files={"/t/hello": str(exe)})
    assert b.status == 0, b
    assert b"hello: ok\n" in b.stdout, b


def test_missing_interpreter():
    files = {"/t/hello": os.path.join(GUEST, "glibc", "hello")}
    b = boot("-- /t/hello", files=files)
    assert b.status == 127, b
    assert "ld-linux-x86-64.so.2" in b.log, b


def test_strace_flag():
    b = run_guest("musl", "exit_status", "3", opts="strace")
    assert b.status == 3, b
    assert re.search(r'strace: write\(1, "exiting with 3\\n", 15\) = 15', b.log) or \
        re.search(r'strace: writev\(1, ', b.log), b
    assert "strace: exit_group(3) = ?" in b.log, b


def test_unknown_syscall_warns_once(tmp_path):
    src = tmp_path / "unknown.c"
    src.write_text('#include <unistd.h>\n#include <sys/syscall.h>\n#include <errno.h>\n'
                   'int main(void){ for (int i = 0; i < 3; i++) if (syscall(444, 0) != -1 || errno != ENOSYS) return 1;'
                   ' return 0; }\n')
    exe = tmp_path / "unknown"
    subprocess.run(["musl-gcc", "-static", "-O2", str(src), "-o", str(exe)], check=True)
    b = boot("-- /t/unknown", files={"/t/unknown": str(exe)})
    assert b.status == 0, b
    assert b.log.count("syscall 444 (landlock_create_ruleset) is not implemented") == 1, b


# --- busybox, compared with the host -------------------------------------------

DATA = b"".join(b"line %d: the quick brown fox\n" % i for i in range(500))


def host(args, cwd):
    return subprocess.run([BUSYBOX] + args, cwd=cwd, capture_output=True)


@pytest.fixture(scope="module")
def data_dir():
    d = tempfile.mkdtemp()
    os.makedirs(os.path.join(d, "data"))
    with open(os.path.join(d, "data", "words.txt"), "wb") as f:
        f.write(DATA)
    yield d
    shutil.rmtree(d)


BUSYBOX_CASES = [
    ["echo", "hello"],
    ["true"],
    ["false"],
    ["cat", "data/words.txt"],
    ["sha256sum", "data/words.txt"],
    ["wc", "data/words.txt"],
    ["head", "-n", "3", "data/words.txt"],
    ["sort", "-r", "data/words.txt"],
    ["ls", "data"],
    ["sh", "-c", "echo a; echo b >&2; exit 3"],
]


@pytest.mark.parametrize("args", BUSYBOX_CASES, ids=lambda a: " ".join(a))
def test_busybox_like_host(args, data_dir):
    want = host(args, data_dir)
    quoted = " ".join('"%s"' % a if " " in a else a for a in args)
    b = boot(f"-- /bin/busybox {quoted}",
             files={"/bin/busybox": BUSYBOX, "/data/words.txt": os.path.join(data_dir, "data/words.txt")})
    assert b.status == want.returncode, b
    assert b.stdout == want.stdout, b
    assert b.stderr == want.stderr, b


def test_busybox_ls_root():
    b = boot("-- /bin/busybox ls /", files={"/bin/busybox": BUSYBOX, "/etc/x": b"x"})
    assert b.status == 0, b
    # The image's own directories plus the mount points the kernel makes.
    assert b.stdout.split() == [b"bin", b"dev", b"etc", b"proc", b"sys", b"tmp"], b


# --- the generated table -----------------------------------------------------------

def test_syscall_doc_is_current():
    out = subprocess.run(["bash", os.path.join(ROOT, "scripts/gen-syscall-doc.sh")],
                         capture_output=True, check=True).stdout
    with open(os.path.join(ROOT, "docs/syscalls.md"), "rb") as f:
        assert f.read() == out, "docs/syscalls.md is stale: run make"
