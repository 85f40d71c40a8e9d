"""Disk benchmark: sequential write/read throughput and fsync-heavy small
writes on an ext2 virtio-blk disk, wisp against the Debian Linux guest on the
same QEMU machine, accelerator and (freshly made) disk image.

One static musl program, bench/guest/disk_bench.c, on the mounted disk:
  - writes a file of --disk-mib MiB (256; 64 with --quick) in 1 MiB writes,
    then fsync: write MB/s;
  - re-opens and reads it back in 1 MiB reads: read MB/s (no cache is
    dropped: wisp has no control for it, so cache effects differ, see
    docs/bench.md);
  - 4 KiB appends each followed by fsync: fsync/s.
wisp mounts the disk with mount=/dev/vda:/data; Linux (booted as bench/boot.py
does it) loads virtio-mmio, virtio-blk and ext4 from /lib/modules into its
initramfs and mounts /dev/vda as ext2 from /init (the same program). Every
run gets a new `mke2fs -t ext2` image of 512 MiB. min(--runs, 3) runs of each
guest, interleaved; medians and the ratios wisp/Linux are reported.
Then sqlite inserts per second: Debian's (dynamic) sqlite3 runs an SQL script
of SQLITE_ROWS single-row INSERTs in one transaction on a fresh image and
prints the rows and the milliseconds it took by its own clock (julianday).
wisp runs it through `build/wisp run --disk` (the same QEMU machine, packed by
the tool); Linux from /init, with sqlite3 and its libraries in the initramfs.
"""

import os
import re
import shutil
import subprocess
import tempfile

import benchlib as bl
import boot
from benchlib import BenchError, log

NAME = "disk"

LINE = re.compile(rb"disk_bench: write_mbs=([0-9.]+) read_mbs=([0-9.]+) fsync_ops=([0-9.]+) "
                  rb"size_mib=(\d+) fsync_n=(\d+)\r?\n")
ERROR = re.compile(rb"disk_bench: error[^\r\n]*(?=\r?\n)")
WISP_FATAL = re.compile(rb"(?:wisp: (?:panic|boot failed|program killed)|disk_bench: error)"
                        rb"[^\r\n]*(?=\r?\n)")
SQL_LINE = re.compile(rb"sqlite_bench: rows=(\d+) ms=([0-9.]+)\r?\n")
SQLITE = "/usr/bin/sqlite3"
SQLITE_ROWS = 20000
LINUX_FATAL = re.compile(rb"(?:Kernel panic - not syncing:|disk_bench: error)[^\r\n]*(?=\r?\n)")

IMAGE_MIB = 512
FSYNC_OPS = 1000
MAX_RUNS = 3
KEYS = ("write_mbs", "read_mbs", "fsync_ops", "sqlite_inserts_per_s")

# Debian's kernel has these as modules, in load order (modules.dep).
LINUX_MODULES = [
    "kernel/drivers/virtio/virtio_ring.ko",
    "kernel/drivers/virtio/virtio.ko",
    "kernel/drivers/virtio/virtio_mmio.ko",
    "kernel/drivers/block/virtio_blk.ko",
    "kernel/lib/crc16.ko",
    "kernel/crypto/crc32c_generic.ko",
    "kernel/fs/mbcache.ko",
    "kernel/fs/jbd2/jbd2.ko",
    "kernel/fs/ext4/ext4.ko",
]


def add_arguments(p):
    g = p.add_argument_group("disk benchmark")
    g.add_argument("--disk-mib", type=int, metavar="MIB",
                   help="size of the sequential file (default 256, 64 with --quick)")


def disk_args(image):
    return ["-global", "virtio-mmio.force-legacy=false",
            "-drive", "id=d0,file=%s,format=raw,if=none" % image,
            "-device", "virtio-blk-device,drive=d0"]


def fresh_image(path):
    if os.path.exists(path):
        os.unlink(path)
    p = subprocess.run(["mke2fs", "-q", "-t", "ext2", "-F", path, "%dM" % IMAGE_MIB],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        raise BenchError("mke2fs failed: %s" % p.stdout.strip())


def _linux_files(leg, out, size_mib, tag):
    """The Linux initramfs's files but /init: the modules (at the root:
    make_cpio lists no directories, and Linux's unpacker creates no missing
    parents), /modules.list and /disk_bench.args ("SIZE_MIB FSYNC_OPS")."""
    mdir = os.path.join("/lib/modules", leg.info.get("version") or "?")
    files, names = {}, []
    for m in LINUX_MODULES:
        src = os.path.join(mdir, m)
        if not os.path.isfile(src):
            raise BenchError("%s not found: the Linux guest needs it to mount the disk "
                             "(Debian's kernel has virtio-blk and ext4 as modules)" % src)
        files[os.path.basename(m)] = src
        names.append(os.path.basename(m))
    tmp = os.path.join(out, "disk-linux-" + tag)
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for name, text in (("modules.list", "\n".join(names) + "\n"),
                       ("disk_bench.args", "%d %d\n" % (size_mib, FSYNC_OPS))):
        with open(os.path.join(tmp, name), "w") as f:
            f.write(text)
        files[name] = os.path.join(tmp, name)
    return files


def _linux_initrd(leg, prog, out, size_mib):
    files = _linux_files(leg, out, size_mib, "files")
    files["init"] = prog
    return bl.make_cpio(files, os.path.join(out, "disk-linux.cpio"))


def _write_sql(path, rows):
    """Single-row INSERTs in one transaction, timed by sqlite's own clock."""
    with open(path, "w") as f:
        f.write("PRAGMA temp_store=memory;\n"
                "CREATE TEMP TABLE clk(s REAL);\n"
                "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT);\n"
                "INSERT INTO clk VALUES(julianday('now'));\n"
                "BEGIN;\n")
        for i in range(rows):
            f.write("INSERT INTO t(k, v) VALUES(%d, 'row %d of the sqlite benchmark');\n"
                    % (i * 7919 % 100003, i))
        f.write("COMMIT;\n"
                "SELECT printf('sqlite_bench: rows=%d ms=%.1f', (SELECT count(*) FROM t), "
                "(julianday('now') - s) * 86400000.0) FROM clk;\n")
    return path


def _libs(prog):
    """The shared objects (and interpreter) prog loads, by `ldd`: {guest path:
    host path}."""
    p = subprocess.run(["ldd", prog], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if p.returncode != 0:
        raise BenchError("ldd %s failed: %s" % (prog, p.stdout.strip()))
    found = {}
    for line in p.stdout.splitlines():
        m = re.search(r"=>\s*(/\S+)", line) or re.match(r"\s*(/\S+)", line)
        if m:
            found[m.group(1)] = os.path.realpath(m.group(1))
    return found


def _cpio_tree(files, out):
    """Like benchlib.make_cpio, but listing the directories too: Linux's
    initramfs unpacker does not create missing parents."""
    with tempfile.TemporaryDirectory(prefix="wisp-bench-") as d:
        names = set()
        for name, src in files.items():
            name = name.lstrip("/")
            dst = os.path.join(d, name)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copyfile(src, dst)
            os.chmod(dst, 0o755)
            names.add(name)
            parent = os.path.dirname(name)
            while parent:
                names.add(parent)
                parent = os.path.dirname(parent)
        listing = "".join(n + "\n" for n in sorted(names)).encode()
        with open(out, "wb") as f:
            p = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet", "-R", "0:0",
                                "--reproducible"], input=listing, stdout=f,
                               stderr=subprocess.PIPE, cwd=d)
        if p.returncode != 0:
            raise BenchError("cpio failed: " + p.stderr.decode(errors="replace").strip())
    return out


def _linux_sqlite_initrd(leg, prog, out, sql):
    """/init with SIZE_MIB 0 (no file benchmark), sqlite3, its libraries at
    the paths ldd names, and the script as /ins.sql."""
    files = _linux_files(leg, out, 0, "sqlite")
    files["init"] = prog
    files[SQLITE] = SQLITE
    files.update(_libs(SQLITE))
    files["ins.sql"] = sql
    return _cpio_tree(files, os.path.join(out, "disk-linux-sqlite.cpio"))


def run(ctx):
    a = ctx.args
    out = bl.ensure_out()
    size_mib = a.disk_mib or (64 if a.quick else 256)
    res = {"description": "inside the guest, on a fresh 512 MiB ext2 image on virtio-blk "
                          "(MMIO): sequential write of a %d MiB file in 1 MiB writes + "
                          "fsync (MB/s), re-open and sequential read (MB/s, page cache "
                          "not dropped), 4 KiB appends each followed by fsync (ops/s); "
                          "median over runs" % size_mib,
           "file_mib": size_mib, "image_mib": IMAGE_MIB, "mem_mib": a.mem,
           "sqlite_rows": SQLITE_ROWS}
    if not shutil.which("mke2fs"):
        return dict(res, ok=False, error="mke2fs not found (e2fsprogs)")
    try:
        prog = bl.build_guest_program("disk_bench")
    except BenchError as e:
        return dict(res, ok=False, error=str(e))
    res["program"] = "bench/guest/disk_bench.c (musl static, %d bytes)" % os.path.getsize(prog)

    guests = {}
    kernel = os.path.join(bl.BUILD, "kernel.elf")
    if not os.path.isfile(kernel):
        res["wisp"] = {"ok": False, "error": "build/kernel.elf not found (make)"}
    else:
        initrd = bl.make_cpio({"disk_bench": prog}, os.path.join(out, "disk-wisp.cpio"))
        append = "mount=/dev/vda:/data -- /disk_bench /data %d %d" % (size_mib, FSYNC_OPS)
        image = os.path.join(out, "disk-wisp.img")
        argv = ctx.qemu.argv(kernel, initrd, append, a.mem) + disk_args(image)
        guests["wisp"] = (argv, image, WISP_FATAL)
        res["wisp"] = {"ok": True, "cmdline": append}

    leg = boot.LinuxLeg(ctx)
    log("disk: preparing Linux (one calibration boot)")
    try:
        leg.prepare()
        leg.initrd = _linux_initrd(leg, prog, out, size_mib)
        image = os.path.join(out, "disk-linux.img")
        guests["linux"] = (leg.argv(a.mem) + disk_args(image), image, LINUX_FATAL)
        res["linux"] = {"ok": True, "version": leg.info.get("version"),
                        "boot_method": leg.info.get("boot_method"),
                        "cmdline": leg.info.get("cmdline"),
                        "mount": "ext2 through the ext4 driver (modules loaded by /init)"}
    except BenchError as e:
        res["linux"] = {"ok": False, "error": str(e)}
        log("disk: linux SKIPPED: %s" % e)

    # A guest's whole run (boot, write, read, fsyncs) under TCG takes seconds:
    # give it more than one boot's timeout.
    timeout = max(a.timeout, 60.0 + size_mib)
    samples = {g: [] for g in guests}
    runs = min(a.runs, MAX_RUNS)
    for i in range(runs):
        for g, (argv, image, fatal) in guests.items():
            try:
                fresh_image(image)
            except BenchError as e:
                res[g].setdefault("failures", []).append(str(e))
                continue
            r = bl.boot_once(argv, LINE, timeout, fatal=fatal)
            if not r.ok:
                why = r.reason
                m = ERROR.search(r.console)
                if m:
                    why = m.group(0).decode("utf-8", "replace")
                log("disk: %s run %d failed: %s\n%s" % (g, i + 1, why, r.tail()))
                res[g].setdefault("failures", []).append(why)
                continue
            m = r.match
            s = {"write_mbs": float(m.group(1)), "read_mbs": float(m.group(2)),
                 "fsync_ops": float(m.group(3)), "fsync_n": int(m.group(5))}
            samples[g].append(s)
            log("disk: %s run %d: write %.1f MB/s, read %.1f MB/s, %.0f fsync/s"
                % (g, i + 1, s["write_mbs"], s["read_mbs"], s["fsync_ops"]))

    sq = _sqlite(ctx, res, guests, leg, prog, out, timeout, runs)

    for g in guests:
        ss = samples[g]
        if not ss:
            res[g]["ok"] = False
            res[g].setdefault("error", "no run printed the figures: %s"
                              % (res[g].get("failures") or ["?"])[0])
            continue
        for k in KEYS[:3]:
            res[g][k] = bl.summarize([s[k] for s in ss], digits=1)
        res[g]["fsync_n"] = ss[-1]["fsync_n"]
        if sq.get(g):
            res[g]["sqlite_inserts_per_s"] = bl.summarize(sq[g], digits=1)

    def med(g, k):
        x = res.get(g, {})
        return x[k]["median"] if x.get("ok") and x.get(k) else None

    res["ratio_wisp_over_linux"] = {
        k: (round(med("wisp", k) / med("linux", k), 3)
            if med("wisp", k) and med("linux", k) else None) for k in KEYS}
    # The target: parity or better (higher is better for all three).
    res["targets"] = {k: {"target": ">= 1.0 (parity)",
                          "measured": res["ratio_wisp_over_linux"][k],
                          "met": bool(res["ratio_wisp_over_linux"][k] is not None
                                      and res["ratio_wisp_over_linux"][k] >= 1.0)}
                      for k in KEYS}
    res["runs"] = runs
    res["ok"] = all(res.get(g, {}).get("ok") for g in ("wisp", "linux"))
    return res


def _sqlite(ctx, res, guests, leg, prog, out, timeout, runs):
    """sqlite inserts/s per guest: {guest: [samples]}; errors go to
    res[guest]["sqlite_error"] (the file figures stay valid)."""
    a = ctx.args
    samples = {}
    if not os.path.isfile(SQLITE):
        for g in guests:
            res[g]["sqlite_error"] = "%s not installed" % SQLITE
        return samples
    sql = _write_sql(os.path.join(out, "sqlite-ins.sql"), SQLITE_ROWS)
    argvs = {}
    wisp_tool = os.path.join(bl.BUILD, "wisp")
    if "wisp" in guests:
        if not os.path.isfile(wisp_tool):
            res["wisp"]["sqlite_error"] = "build/wisp not found (make)"
        else:
            image = os.path.join(out, "sqlite-wisp.img")
            argvs["wisp"] = ([wisp_tool, "run", "--accel", ctx.qemu.accel,
                              "--kernel", os.path.join(bl.BUILD, "kernel.elf"),
                              "-m", "%dM" % a.mem, "--disk", image + ":/data",
                              "--add", sql + ":/ins.sql", "--",
                              SQLITE, "/data/t.db", ".read /ins.sql"], image, WISP_FATAL)
            res["wisp"]["sqlite_how"] = "build/wisp run --disk IMG:/data (same machine and accel)"
    if "linux" in guests:
        try:
            initrd = _linux_sqlite_initrd(leg, prog, out, sql)
            image = os.path.join(out, "sqlite-linux.img")
            leg.initrd = initrd
            argvs["linux"] = (leg.argv(a.mem) + disk_args(image), image, LINUX_FATAL)
            res["linux"]["sqlite_how"] = "/init runs sqlite3 (libraries in the initramfs)"
        except (BenchError, OSError) as e:
            res["linux"]["sqlite_error"] = str(e)
    for i in range(runs):
        for g, (argv, image, fatal) in argvs.items():
            try:
                fresh_image(image)
            except BenchError as e:
                res[g]["sqlite_error"] = str(e)
                continue
            r = bl.boot_once(argv, SQL_LINE, timeout, fatal=fatal)
            if not r.ok:
                log("disk: %s sqlite run %d failed: %s\n%s" % (g, i + 1, r.reason, r.tail()))
                res[g]["sqlite_error"] = r.reason
                continue
            rows, ms = int(r.match.group(1)), float(r.match.group(2))
            if rows != SQLITE_ROWS or ms <= 0:
                res[g]["sqlite_error"] = "sqlite counted %d rows in %.1f ms" % (rows, ms)
                continue
            samples.setdefault(g, []).append(rows * 1000.0 / ms)
            log("disk: %s sqlite run %d: %d rows in %.0f ms, %.0f inserts/s"
                % (g, i + 1, rows, ms, rows * 1000.0 / ms))
    return samples


def table(r):
    if "wisp" not in r:
        return ["disk: FAILED: %s" % r.get("error")]
    lines = ["%d MiB file, fresh %d MiB ext2 image, -m %dM; page cache not dropped before "
             "the read" % (r.get("file_mib", 0), r.get("image_mib", 0), r.get("mem_mib", 0)),
             "%-10s %14s %14s %12s %16s" % ("", "write (MB/s)", "read (MB/s)", "fsync/s",
                                            "sqlite ins/s")]
    for g in ("wisp", "linux"):
        x = r.get(g, {})
        if not x.get("ok"):
            lines.append("%-10s FAILED: %s" % (g, (x.get("error") or "?").splitlines()[0]))
            continue
        sq = x.get("sqlite_inserts_per_s")
        lines.append("%-10s %14.1f %14.1f %12.1f %16s" % (
            g, x["write_mbs"]["median"], x["read_mbs"]["median"], x["fsync_ops"]["median"],
            "%.0f" % sq["median"] if sq else "-"))
        if x.get("sqlite_error"):
            lines.append("%-10s sqlite: %s" % ("", x["sqlite_error"].splitlines()[0]))
    rt = r.get("ratio_wisp_over_linux", {})
    fmt = lambda v: "%.3f" % v if v is not None else "-"
    lines.append("%-10s %14s %14s %12s %16s" % (
        "wisp/linux", fmt(rt.get("write_mbs")), fmt(rt.get("read_mbs")),
        fmt(rt.get("fsync_ops")), fmt(rt.get("sqlite_inserts_per_s"))))
    lines.append("target: parity or better (ratio >= 1) on each: %s" % ", ".join(
        "%s %s" % (k, "met" if t["met"] else "not met")
        for k, t in r.get("targets", {}).items()))
    lines.append("sqlite: %d single-row INSERTs in one transaction" % r.get("sqlite_rows", 0))
    return lines
