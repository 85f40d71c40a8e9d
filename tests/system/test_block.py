"""Block devices: the blk self-test on a scratch disk the test creates,
over virtio-mmio (microvm) and virtio-pci (q35), checked from the host
afterwards: the guest's pattern is really on disk, a read-only drive
refuses writes and stays unchanged, an empty disk gives a clear message.
The QEMU arguments are the ones docs/virtio.md gives."""
import hashlib
import os
import re
import struct

import pytest

from conftest import boot

MACHINES = ["microvm", "q35"]


def disk_args(machine, path, readonly=False, idx=0):
    """QEMU arguments attaching `path` as a virtio-blk disk."""
    drive = f"id=d{idx},file={path},format=raw,if=none"
    if readonly:
        drive += ",readonly=on"
    dev = "virtio-blk-device" if machine == "microvm" else "virtio-blk-pci"
    args = ["-drive", drive, "-device", f"{dev},drive=d{idx}"]
    if machine == "microvm" and idx == 0:
        # QEMU 7.2 gives legacy (virtio 0.9) MMIO devices unless told not to.
        args = ["-global", "virtio-mmio.force-legacy=false"] + args
    return args


def make_image(path, size, fill=b"\xee"):
    with open(path, "wb") as f:
        if size:
            f.write(fill * size)
    return path


def selftest_ok(b):
    m = re.search(r"selftests: (\d+) ran, (\d+) failed", b.log)
    assert m and m.group(1) == "1" and m.group(2) == "0", b
    assert b.status == 0, b


def sector_pattern(s):
    data = bytearray((s + i) & 0xFF for i in range(512))
    data[0:8] = struct.pack("<Q", s ^ 0x5749535000000000)
    return bytes(data)


@pytest.mark.parametrize("machine", MACHINES + ["pc"])
def test_blk_readwrite(machine, tmp_path):
    img = make_image(tmp_path / "scratch.img", 8 << 20)
    b = boot("selftest=blk blk.test=vda", machine=machine, timeout=120,
             extra=disk_args(machine, img))
    selftest_ok(b)
    assert re.search(r"block: vda: 16384 sectors \(8 MiB\)", b.log), b
    # The interrupt arrived (no fallback to polling).
    assert "without an interrupt" not in b.log, b
    data = open(img, "rb").read()
    assert len(data) == 8 << 20
    bad = [s for s in range(2048) if data[s * 512:(s + 1) * 512] != sector_pattern(s)]
    assert not bad, f"sectors written wrong: {bad[:10]}... \n{b}"
    for blk in range(512, 528):
        block = data[blk * 4096:(blk + 1) * 4096]
        assert block[:8] == b"BCACHE%02d" % (blk % 100), blk
        assert block[8:] == bytes([(blk * 7) & 0xFF]) * (4096 - 8), blk
    # Nothing else was touched.
    assert data[2048 * 512:512 * 4096] == b"\xee" * (512 * 4096 - 2048 * 512)
    assert data[528 * 4096:] == b"\xee" * (len(data) - 528 * 4096)


@pytest.mark.parametrize("machine", MACHINES)
def test_blk_readonly_refused(machine, tmp_path):
    img = make_image(tmp_path / "ro.img", 1 << 20, fill=b"\x5a")
    before = hashlib.sha256(open(img, "rb").read()).hexdigest()
    b = boot("selftest=blk", machine=machine, timeout=120,
             extra=disk_args(machine, img, readonly=True))
    selftest_ok(b)
    assert "vda: 2048 sectors (1 MiB), read-only" in b.log, b
    assert "writes refused with EROFS" in b.log, b
    assert hashlib.sha256(open(img, "rb").read()).hexdigest() == before


@pytest.mark.parametrize("machine", MACHINES)
def test_blk_empty_disk(machine, tmp_path):
    img = make_image(tmp_path / "empty.img", 0)
    b = boot("selftest=blk", machine=machine, timeout=120, extra=disk_args(machine, img))
    selftest_ok(b)
    assert "vda: the disk is empty (0 sectors)" in b.log, b
    assert os.path.getsize(img) == 0


def test_blk_several_disks_named_in_order(tmp_path):
    """vda, vdb, vdc follow the order of the -device arguments; the test
    runs on the second."""
    imgs = [make_image(tmp_path / f"d{i}.img", (i + 6) << 20) for i in range(3)]
    extra = []
    for i, img in enumerate(imgs):
        extra += disk_args("microvm", img, idx=i)
    b = boot("selftest=blk blk.test=vdb", timeout=120, extra=extra)
    selftest_ok(b)
    assert "vda: 12288 sectors (6 MiB)" in b.log, b
    assert "vdb: 14336 sectors (7 MiB)" in b.log, b
    assert "vdc: 16384 sectors (8 MiB)" in b.log, b
    assert open(imgs[1], "rb").read(512) == sector_pattern(0)
    assert open(imgs[0], "rb").read(512) == b"\xee" * 512


def test_without_blk_test_nothing_is_written(tmp_path):
    """selftest=all with a real disk attached must not touch it."""
    img = make_image(tmp_path / "data.img", 1 << 20, fill=b"\x42")
    b = boot("selftest=blk", timeout=120, extra=disk_args("microvm", img))
    selftest_ok(b)
    assert "vda: reads only" in b.log, b
    assert open(img, "rb").read() == b"\x42" * (1 << 20)


def test_no_disk_skips():
    b = boot("selftest=blk", timeout=60)
    selftest_ok(b)
    assert "no block device attached: skipped" in b.log, b
