"""The initramfs is unpacked into ramfs and the program is found and identified
(static, static-pie, dynamic) or refused with the reason and the shell's exit
status: 125 unusable image, 126 not executable, 127 not found."""
import gzip
import os
import re
import shutil
import subprocess
import tempfile

import pytest

from conftest import boot, cpio_from_tree, make_cpio

NOT_EXEC, NOT_FOUND, BAD_IMAGE = 126, 127, 125
LUA = "/usr/bin/lua5.4"
LDSO = "/lib64/ld-linux-x86-64.so.2"
HELLO = '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n'


def tree_cpio(tmp, build, name="root.cpio"):
    """Runs build(rootdir) to populate a directory, then archives it
    (symlinks and hard links kept as they are)."""
    root = os.path.join(tmp, name + ".d")
    os.makedirs(root)
    build(root)
    return cpio_from_tree(root, os.path.join(tmp, name))


def run(args, cpio=None, machine="microvm", **kw):
    b = boot(args, machine=machine, extra=("-initrd", cpio) if cpio else (), **kw)
    assert not b.timed_out, b
    if b.status is not None:
        assert b.qemu_rc == b.status * 2 + 1, b
    return b


@pytest.fixture(scope="module")
def tmp():
    d = tempfile.mkdtemp(prefix="wisp-initramfs-")
    yield d
    shutil.rmtree(d)


@pytest.fixture(scope="module")
def programs(tmp):
    """Programs of each kind, built here, and broken copies of busybox."""
    src = os.path.join(tmp, "hello.c")
    with open(src, "w") as f:
        f.write(HELLO)
    out = {}
    if shutil.which("musl-gcc"):
        out["musl-static"] = os.path.join(tmp, "musl-static")
        subprocess.run(["musl-gcc", "-static", "-O2", "-o", out["musl-static"], src], check=True)
    out["static-pie"] = os.path.join(tmp, "static-pie")
    subprocess.run(["gcc", "-static-pie", "-O2", "-o", out["static-pie"], src], check=True)
    data = open("/bin/busybox", "rb").read()

    def patched(name, edits, size=None):
        b = bytearray(data if size is None else data[:size])
        for off, val in edits:
            b[off:off + len(val)] = val
        path = os.path.join(tmp, name)
        with open(path, "wb") as f:
            f.write(b)
        os.chmod(path, 0o755)
        out[name] = path

    patched("aarch64", [(18, (183).to_bytes(2, "little"))])
    patched("i386", [(4, b"\x01"), (18, (3).to_bytes(2, "little"))])
    patched("truncated", [], size=200000)
    return out


def image(tmp, name, files, links=(), dirs=(), modes=()):
    """files: {guest: host path or bytes}; links: (guest, target); modes: (guest, mode)."""
    return make_cpio(files, os.path.join(tmp, name), links, dirs, modes)


def test_static_busybox(tmp):
    cpio = image(tmp, "bb.cpio", {"/usr/bin/busybox": "/bin/busybox"},
                 links=[("/bin", "usr/bin"), ("/usr/bin/sh", "busybox")])
    b = run("-- /bin/sh -c true", cpio)
    assert b.status == 0, b
    assert "program /bin/sh: ELF64 x86-64 static, entry 0x" in b.log, b
    assert re.search(r"initramfs: unpacked 6 files \(\d+ KiB\)", b.log), b
    assert "program started after" in b.log, b


@pytest.mark.parametrize("machine", ["microvm", "q35"])
def test_dynamic_lua_with_its_interpreter(tmp, machine):
    # The interpreter reached through Debian's merged-/usr symlinks.
    real_ldso = os.path.realpath(LDSO)
    # Now that it really runs, lua needs its libraries too (as ldd lists them).
    libs = {p: p for p in re.findall(r"=> (/\S+)", subprocess.run(
        ["ldd", LUA], capture_output=True, text=True, check=True).stdout)}
    cpio = image(tmp, f"lua-{machine}.cpio", {LUA: LUA, real_ldso: real_ldso, **libs},
                 links=[("/lib64", "usr/lib64"),
                        ("/usr/lib64/ld-linux-x86-64.so.2", os.path.relpath(
                            real_ldso, "/usr/lib64"))])
    b = run(f"-- {LUA} -v", cpio, machine=machine)
    assert b.status == 0, b
    assert (f"program {LUA}: ELF64 x86-64 dynamic (interpreter {LDSO}), entry 0x") in b.log, b


def test_dynamic_without_its_interpreter(tmp):
    cpio = image(tmp, "lua-alone.cpio", {LUA: LUA})
    b = run(f"-- {LUA}", cpio)
    assert b.status == NOT_FOUND, b
    assert f"interpreter {LDSO} not found in the image" in b.log, b
    assert f"program {LUA} needs the interpreter {LDSO}" in b.log, b


@pytest.mark.parametrize("kind,expect", [("musl-static", "static"), ("static-pie", "static-pie")])
def test_built_programs(tmp, programs, kind, expect):
    if kind not in programs:
        pytest.skip("musl-gcc not installed")
    cpio = image(tmp, f"{kind}.cpio", {"/app": programs[kind]})
    b = run("-- /app", cpio)
    assert b.status == 0, b
    assert f"program /app: ELF64 x86-64 {expect}, entry 0x" in b.log, b


@pytest.mark.parametrize("kind,reason", [
    ("aarch64", "program /x: wrong machine: aarch64, not x86-64"),
    ("i386", "program /x: not ELF64: a 32-bit ELF file (i386)"),
    ("truncated", "segment beyond the end of the file"),
])
def test_foreign_or_broken_elf(tmp, programs, kind, reason):
    cpio = image(tmp, f"{kind}.cpio", {"/x": programs[kind]})
    b = run("-- /x", cpio)
    assert b.status == NOT_EXEC, b
    assert reason in b.log, b


@pytest.mark.parametrize("argv,status,reason", [
    ("/text", NOT_EXEC, "program /text: not an ELF file (bad magic)"),
    ("/script", NOT_EXEC, "program /script: a script (#!)"),
    ("/plain", NOT_EXEC, "program /plain is not executable (mode 0644)"),
    ("/dir", NOT_EXEC, "program /dir is a directory"),
    ("/loop", NOT_EXEC, "program /loop: too many levels of symbolic links"),
    ("/text/x", NOT_EXEC, "not found: a component of the path is not a directory"),
    ("/nothing", NOT_FOUND, "program /nothing not found in the image"),
    ("/dangling", NOT_FOUND, "program /dangling not found in the image"),
])
def test_refusals(tmp, argv, status, reason):
    cpio = os.path.join(tmp, "refusals.cpio")
    if not os.path.exists(cpio):
        image(tmp, "refusals.cpio",
              {"/text": b"just some text\n", "/script": b"#!/bin/sh\necho hi\n",
               "/plain": "/bin/busybox"},
              links=[("/loop", "loop2"), ("/loop2", "loop"), ("/dangling", "/nowhere")],
              dirs=["/dir"], modes=[("/plain", 0o644)])
    b = run(f"-- {argv}", cpio)
    assert b.status == status, b
    assert reason in b.log, b


def test_no_initramfs():
    b = run("-- /bin/busybox true")
    assert b.status == NOT_FOUND, b
    assert "initramfs: none" in b.log, b


def test_broken_archives(tmp):
    good = make_cpio({"/bin/busybox": "/bin/busybox"}, os.path.join(tmp, "good.cpio"))
    data = open(good, "rb").read()
    trunc = os.path.join(tmp, "trunc.cpio")
    with open(trunc, "wb") as f:
        f.write(data[:len(data) // 2])
    b = run("-- /bin/busybox", trunc)
    assert b.status == BAD_IMAGE, b
    assert "initramfs: module 0: truncated: archive ends inside file data at offset" in b.log, b

    gz = os.path.join(tmp, "root.cpio.gz")
    with open(gz, "wb") as f:
        f.write(gzip.compress(data))
    b = run("-- /bin/busybox", gz)
    assert b.status == BAD_IMAGE, b
    assert "gzip-compressed data at offset 0" in b.log, b

    odc = os.path.join(tmp, "odc.cpio")
    subprocess.run(f"cd {tmp} && echo . | cpio -o -H odc --quiet > {odc}",
                   shell=True, check=True)
    b = run("-- /bin/busybox", odc)
    assert b.status == BAD_IMAGE, b
    assert "old portable cpio format (odc)" in b.log, b


def test_concatenated_archives(tmp):
    # Later archives add to (and override) earlier ones, as on Linux.
    a = make_cpio({"/bin/busybox": b"not a program\n"}, os.path.join(tmp, "a.cpio"))
    b_ = make_cpio({"/bin/busybox": "/bin/busybox"}, os.path.join(tmp, "b.cpio"))
    both = os.path.join(tmp, "both.cpio")
    with open(both, "wb") as f:
        f.write(open(a, "rb").read() + open(b_, "rb").read())
    b = run("loglevel=debug -- /bin/busybox true", both)
    assert b.status == 0, b
    assert "2 archive(s)" in b.log, b


def test_selftest_on_a_real_tree(tmp):
    def build(root):
        subprocess.run(["cp", "-a", "/etc", "/usr/share/lua", os.path.join(root)], check=False)
        os.makedirs(os.path.join(root, "usr/bin"))
        shutil.copy("/bin/busybox", os.path.join(root, "usr/bin/busybox"))
        os.symlink("usr/bin", os.path.join(root, "bin"))
        os.symlink("busybox", os.path.join(root, "usr/bin/sh"))
    cpio = tree_cpio(tmp, build, "selftest.cpio")
    b = run("selftest=initramfs", cpio, loglevel="info", timeout=120)
    assert b.status == 0, b
    assert "selftest initramfs: ok" in b.log, b
