"""Boot benchmark: wisp against a Debian Linux guest on the same QEMU machine.

For each guest ("leg"): the kernel's size, the wall time from QEMU's start to
the guest's program-start line (median and spread over --runs boots, the legs
interleaved run by run), and the smallest -m that still reaches that line.
See docs/bench.md.
"""

import glob
import importlib.util
import os
import re
import subprocess

import benchlib as bl
from benchlib import BenchError, log, rel

NAME = "boot"

MIB = 1024 * 1024

# The targets (boot-time ones are stated for microvm + TCG).
TARGET_SPEEDUP = 20.0          # Linux median / wisp median, at least
TARGET_WISP_BOOT_MS = 100.0    # wisp median wall time, under
TARGET_SIZE_BYTES = 1 * MIB    # stripped kernel.elf, under
TARGET_MEM_MIB = 4             # smallest -m that boots, at most

MEM_SEARCH_LO, MEM_SEARCH_HI = 2, 512

# Linux command line. Each flag below made the boot faster or more reliable
# under TCG, or stopped work that cannot matter on this machine; docs/bench.md
# lists the ones tried and dropped.
LINUX_FLAGS = [
    "console=ttyS0",        # the 16550 at 0x3f8, like wisp's console
    "quiet",                # no boot log through the emulated UART
    "panic=-1",             # a panic reboots at once, and -no-reboot ends QEMU
    "cryptomgr.notests",    # skip the crypto self-tests (~0.2-0.4 s under TCG)
    "8250.nr_uarts=1",      # register one legacy UART, not 4
    "pci=off",              # microvm has no PCI: skip the config-space probe
]
# Under TCG, also tsc_early_khz=<the guest's own TSC calibration>: see
# LinuxLeg.calibrate_tsc.

WISP_LINE = re.compile(rb"wisp: program started after (\d+) us\r?\n")
LINUX_LINE = re.compile(rb"linux: program started")
# Whole lines only (up to the newline), so that the reason is not cut short.
LINUX_FATAL = re.compile(rb"Kernel panic - not syncing:[^\r\n]*(?=\r?\n)")
WISP_FATAL = re.compile(rb"wisp: (?:panic|boot failed)[^\r\n]*(?=\r?\n)")


def add_arguments(p):
    g = p.add_argument_group("boot benchmark")
    g.add_argument("--only", choices=["wisp", "linux"],
                   help="run one guest only (default: both)")
    g.add_argument("--mem", type=int, default=128, metavar="MIB",
                   help="guest memory for the timed boots (default 128, as `wisp run`)")
    g.add_argument("--kernel", default=os.path.join(bl.BUILD, "kernel.elf"),
                   help="wisp kernel (default build/kernel.elf)")
    g.add_argument("--linux", metavar="BZIMAGE",
                   help="Linux kernel (default: the newest /boot/vmlinuz-*)")
    g.add_argument("--linux-boot", choices=["auto", "pvh", "bzimage"], default="auto",
                   help="boot Linux as an ELF vmlinux via PVH (auto: when it works) "
                        "or as the bzImage")


# --- a guest -----------------------------------------------------------------

class Leg:
    """One guest: prepare() builds what it needs (raising BenchError if it
    cannot), boot(mem, timeout) runs it once."""

    name = "?"
    pattern = None
    fatal = None

    def __init__(self, ctx):
        self.ctx = ctx
        self.qemu = ctx.qemu
        self.error = None
        self.info = {}
        self.times = []
        self.failures = []

    def argv(self, mem):
        raise NotImplementedError

    def boot(self, mem, timeout):
        return bl.boot_once(self.argv(mem), self.pattern, timeout, fatal=self.fatal)

    def record(self, r):
        if r.ok:
            self.times.append(r.seconds)
        else:
            self.failures.append(r.reason)

    def result(self):
        out = {"ok": self.error is None}
        if self.error:
            out["error"] = self.error
        out.update(self.info)
        out["boot_ms"] = bl.summarize(self.times, 1000.0, 1)
        out["failed_boots"] = len(self.failures)
        if self.failures:
            out["failure_reasons"] = sorted(set(self.failures))
        return out


class WispLeg(Leg):
    name = "wisp"
    pattern = WISP_LINE
    fatal = WISP_FATAL

    def __init__(self, ctx):
        super().__init__(ctx)
        self.kernel_us = []

    def prepare(self):
        a = self.ctx.args
        k = a.kernel
        if not os.path.isfile(k):
            hint = " (build it: make %s)" % rel(k) if rel(k) == "build/kernel.elf" else ""
            raise BenchError("%s not found: no wisp kernel to boot%s" % (rel(k), hint))
        out = bl.ensure_out()
        stripped = os.path.join(out, "kernel.stripped.elf")
        size = bl.strip_copy(k, stripped)
        prog = bl.build_guest_program("hello_poweroff")
        self.initrd = bl.make_cpio({"hello_poweroff": prog},
                                   os.path.join(out, "wisp-initramfs.cpio"))
        self.kernel = k
        # Plain console (no console=framed): the kernel's lines as text.
        # The program's own line is "hello: program started"; we wait for the
        # kernel's, which comes first.
        self.append = "-- /hello_poweroff hello"
        self.info.update({
            "kernel": rel(k),
            "boot_method": "pvh",
            "size_bytes": size,
            "size_what": "strip -o copy of %s" % rel(k),
            "unstripped_bytes": os.path.getsize(k),
            "initramfs_bytes": os.path.getsize(self.initrd),
            "cmdline": self.append,
            "program": "/hello_poweroff (bench/guest/hello_poweroff.c, musl static, %d bytes)"
                       % os.path.getsize(prog),
        })

    def argv(self, mem):
        return self.qemu.argv(self.kernel, self.initrd, self.append, mem)

    def record(self, r):
        super().record(r)
        if r.ok:
            self.kernel_us.append(int(r.match.group(1)))

    def result(self):
        out = super().result()
        s = bl.summarize(self.kernel_us, 1.0, 0)
        out["kernel_reported_us"] = s and {k: (int(v) if isinstance(v, float) else v)
                                           for k, v in s.items() if k != "samples"}
        if s:
            out["kernel_reported_us"]["samples"] = self.kernel_us
        return out


def _load_extractor():
    path = os.path.join(bl.BENCH, "extract-vmlinux.py")
    spec = importlib.util.spec_from_file_location("extract_vmlinux", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _version_key(path):
    v = os.path.basename(path)[len("vmlinuz-"):]
    return [int(x) if x.isdigit() else x for x in re.split(r"[.-]", v)]


class LinuxLeg(Leg):
    name = "linux"
    pattern = LINUX_LINE
    fatal = LINUX_FATAL

    def prepare(self):
        a = self.ctx.args
        bz = a.linux
        if not bz:
            found = sorted(glob.glob("/boot/vmlinuz-*"), key=_version_key)
            if not found:
                raise BenchError("no /boot/vmlinuz-* (install linux-image-amd64 with "
                                 "scripts/deps.sh, or pass --linux BZIMAGE)")
            bz = found[-1]
        if not os.path.isfile(bz):
            raise BenchError("%s not found" % bz)
        self.bzimage = bz
        out = bl.ensure_out()
        version = os.path.basename(bz)
        version = version[len("vmlinuz-"):] if version.startswith("vmlinuz-") else version
        prog = bl.build_guest_program("hello_poweroff")
        self.initrd = bl.make_cpio({"init": prog}, os.path.join(out, "linux-initramfs.cpio"))
        self.info.update({
            "bzimage": bz,
            "bzimage_bytes": os.path.getsize(bz),
            "version": version,
            "initramfs_bytes": os.path.getsize(self.initrd),
            "program": "/init (bench/guest/hello_poweroff.c, musl static, %d bytes)"
                       % os.path.getsize(prog),
        })

        self.vmlinux, why = None, None
        if a.linux_boot in ("auto", "pvh"):
            self.vmlinux, why = self._extract(bz, os.path.join(out, "vmlinux-" + version))
            if self.vmlinux is None and a.linux_boot == "pvh":
                raise BenchError("cannot boot Linux via PVH: " + why)
        self.method = "pvh" if self.vmlinux else "bzimage"
        if why:
            self.info["pvh_unavailable"] = why
        self.tsc_khz = None
        self._set_method(self.method)

        # The first boot calibrates the TSC (TCG) and warms the page cache. If
        # PVH does not work, fall back to the bzImage.
        self.calibrate_tsc()
        if self.method == "pvh" and self.warm is not None and not self.warm.ok:
            reason = self.warm.reason
            log("linux: PVH boot of %s failed (%s); trying the bzImage"
                % (rel(self.vmlinux), reason))
            if a.linux_boot == "pvh":
                raise BenchError("PVH boot failed: %s\n%s" % (reason, self.warm.tail()))
            pvh_warm = self.warm
            self._set_method("bzimage")
            self.calibrate_tsc()
            if not self.warm.ok:
                self._set_method("pvh")
                raise BenchError("Linux boots neither via PVH (%s) nor as a bzImage (%s):\n%s"
                                 % (reason, self.warm.reason, pvh_warm.tail()))
            self.info["pvh_unavailable"] = "PVH boot failed: " + reason
        if self.warm is not None and not self.warm.ok:
            raise BenchError("Linux does not boot (%s):\n%s" % (self.warm.reason, self.warm.tail()))

    def _extract(self, bz, target):
        """Cached ELF vmlinux with a PVH note, or (None, why not)."""
        try:
            ex = _load_extractor()
            if bl.newer(target, bz, os.path.join(bl.BENCH, "extract-vmlinux.py")):
                with open(target, "rb") as f:
                    elf = f.read()
                with open(bz, "rb") as f:
                    self.info["compression"] = ex.header_compression(f.read())
            else:
                log("linux: extracting the ELF vmlinux from %s" % bz)
                with open(bz, "rb") as f:
                    elf, how = ex.extract(f.read())
                self.info["compression"] = how
                tmp = target + ".tmp"
                with open(tmp, "wb") as f:
                    f.write(elf)
                os.replace(tmp, target)
            entry = ex.pvh_entry(elf)
        except (OSError, ValueError) as e:
            return None, "extracting vmlinux failed: %s" % e
        if entry is None:
            return None, "the vmlinux has no Xen PVH entry note (CONFIG_PVH=n?)"
        self.info["pvh_entry"] = "0x%x" % entry
        return target, None

    def _set_method(self, method):
        self.method = method
        self.kernel = self.vmlinux if method == "pvh" else self.bzimage
        self.info["boot_method"] = method
        self.info["kernel"] = rel(self.kernel)
        # Size of what QEMU boots: the ELF vmlinux for PVH, else the bzImage.
        self.info["size_bytes"] = os.path.getsize(self.kernel)
        self.info["size_what"] = ("ELF vmlinux extracted from " + self.bzimage
                                  if method == "pvh" else "bzImage " + self.bzimage)

    def flags(self):
        f = list(LINUX_FLAGS)
        if self.tsc_khz:
            f.append("tsc_early_khz=%d" % self.tsc_khz)
        return f

    def argv(self, mem):
        self.info["cmdline"] = " ".join(self.flags())
        return self.qemu.argv(self.kernel, self.initrd, self.info["cmdline"], mem)

    def calibrate_tsc(self):
        """Under TCG the guest's TSC is the host's, and Linux measures its rate
        against the emulated PIT, which fails in about one boot in ten here
        ("tsc: Unable to calibrate against PIT"), after which the boot hangs.
        So the first (untimed) boot runs without `quiet`, reads the rate Linux
        calibrated, and the timed boots pass it back as tsc_early_khz=, the
        way one passes lpj=. Falls back to /proc/cpuinfo's 'cpu MHz'."""
        self.warm = None
        loud = [f for f in LINUX_FLAGS if f != "quiet"]
        if self.qemu.accel != "tcg":
            self.warm = self._warm_boot(loud)
            return
        rx = re.compile(rb"tsc: (?:Refined TSC clocksource calibration: |Detected )"
                        rb"([0-9.]+) MHz")
        fatal = re.compile(rb"(?:Kernel panic - not syncing:|tsc: Marking TSC unstable)"
                           rb"[^\r\n]*(?=\r?\n)")
        for attempt in range(3):
            r = self.warm = self._warm_boot(loud, fatal=fatal)
            if r.ok:
                m = rx.findall(r.console)
                if m:
                    self.tsc_khz = int(round(float(m[-1]) * 1000))
                    self.info["tsc_early_khz_source"] = "guest calibration (boot log)"
                break
            if "TSC" not in (r.reason or ""):
                return      # not a calibration problem: the caller reports it
            log("linux: TSC calibration boot failed (%s), retrying" % r.reason)
        if self.tsc_khz is None:
            self.tsc_khz = _cpuinfo_khz()
            if self.tsc_khz:
                self.info["tsc_early_khz_source"] = "/proc/cpuinfo cpu MHz"
                if not self.warm.ok:
                    self.warm = self._warm_boot(self.flags())
        self.info["tsc_early_khz"] = self.tsc_khz

    def _warm_boot(self, flags, fatal=None):
        argv = self.qemu.argv(self.kernel, self.initrd, " ".join(flags), self.ctx.args.mem)
        return bl.boot_once(argv, self.pattern, self.ctx.args.timeout,
                            fatal=fatal or self.fatal)


def _cpuinfo_khz():
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^cpu MHz\s*:\s*([0-9.]+)", f.read(), re.M)
        return int(round(float(m.group(1)) * 1000)) if m else None
    except OSError:
        return None


# --- the benchmark -----------------------------------------------------------

def run(ctx):
    a = ctx.args
    legs = []
    for cls in (WispLeg, LinuxLeg):
        if a.only and a.only != cls.name:
            continue
        leg = cls(ctx)
        log("%s: preparing" % leg.name)
        try:
            leg.prepare()
        except BenchError as e:
            leg.error = str(e)
            log("%s: SKIPPED: %s" % (leg.name, e))
        legs.append(leg)
    ready = [l for l in legs if l.error is None]

    # One untimed boot each (Linux's was its calibration boot) so that every
    # file is in the page cache before the clock runs.
    for leg in ready:
        if isinstance(leg, WispLeg):
            r = leg.boot(a.mem, a.timeout)
            if not r.ok:
                leg.error = "wisp does not reach the program-start line (%s):\n%s" % (
                    r.reason, r.tail())
                log("%s: FAILED: %s" % (leg.name, leg.error))
    ready = [l for l in ready if l.error is None]

    # Timed boots, interleaved so that drift on the host hits both alike.
    if ready:
        log("timing %d boots of %s at -m %dM (%s)" % (
            a.runs, " and ".join(l.name for l in ready), a.mem, ctx.qemu.accel))
    for i in range(a.runs):
        for leg in ready:
            r = leg.boot(a.mem, a.timeout)
            leg.record(r)
            if not r.ok:
                log("%s: run %d failed: %s" % (leg.name, i + 1, r.reason))
    for leg in ready:
        if leg.failures and len(leg.failures) * 2 > a.runs:
            leg.error = "%d of %d boots failed: %s" % (
                len(leg.failures), a.runs, leg.failures[0])
        elif leg.times:
            log("%s: median %.1f ms" % (leg.name, 1000 * sorted(leg.times)[len(leg.times) // 2]))

    # Smallest memory.
    for leg in legs:
        if a.quick or leg.error is not None or not leg.times:
            leg.info["min_mem_mib"] = None
            continue
        med = sorted(leg.times)[len(leg.times) // 2]
        timeout = min(a.timeout, max(5.0, 5 * med + 3))
        log("%s: searching the smallest -m in [%d, %d] MiB (probe timeout %.0f s)"
            % (leg.name, MEM_SEARCH_LO, MEM_SEARCH_HI, timeout))

        def probe(m):
            r = leg.boot(m, timeout)
            return r.ok, (None if r.ok else r.reason)
        # The timed boots at -m a.mem all passed: that is the upper end.
        n, probes = bl.min_passing(probe, MEM_SEARCH_LO, MEM_SEARCH_HI, say=log,
                                   known_ok=a.mem)
        leg.info["min_mem_mib"] = n
        # Booting at the search's floor means "this much or less".
        leg.info["min_mem_at_search_floor"] = n == MEM_SEARCH_LO
        leg.info["min_mem_probes"] = [
            {"mem_mib": m, "boots": ok, **({} if ok else {"why": note})}
            for m, ok, note in probes]

    res = {
        "description": "wall time from QEMU start to the program-start line on the "
                       "serial console; kernel size; smallest -m that boots",
        "mem_mib": a.mem,
        "runs": a.runs,
        "memory_search": None if a.quick else [MEM_SEARCH_LO, MEM_SEARCH_HI],
    }
    for leg in legs:
        res[leg.name] = leg.result()
    res["ratios"], res["targets"] = _compare(res, ctx.qemu.accel)
    res["ok"] = all(l.error is None for l in legs)
    return res


def _med(leg):
    b = leg and leg.get("ok") and leg.get("boot_ms")
    return b["median"] if b else None


def _compare(res, accel):
    w, l = res.get("wisp"), res.get("linux")
    div = lambda x, y: round(x / y, 4) if x is not None and y else None
    wb, lb = _med(w), _med(l)
    ws = w and w.get("size_bytes")
    ls = l and l.get("size_bytes")
    wm = w and w.get("min_mem_mib")
    lm = l and l.get("min_mem_mib")
    ratios = {
        "boot_time_wisp_over_linux": div(wb, lb),
        "boot_speedup_linux_over_wisp": div(lb, wb),
        "size_wisp_over_linux": div(ws, ls),
        "min_mem_wisp_over_linux": div(wm, lm),
    }
    tcg = accel == "tcg"
    note = None if tcg else "target stated for microvm+TCG; measured on %s" % accel

    def target(name, goal, value, met, unit="", tcg_only=False):
        t = {"name": name, "target": goal, "value": value, "unit": unit,
             "met": None if value is None else bool(met)}
        if tcg_only and not tcg:
            t["met"], t["note"] = None, note
        return t

    sp = ratios["boot_speedup_linux_over_wisp"]
    targets = [
        target("boot speedup vs Linux", ">= %gx" % TARGET_SPEEDUP, sp,
               sp is not None and sp >= TARGET_SPEEDUP, "x", tcg_only=True),
        target("wisp boot to program start", "< %g ms wall" % TARGET_WISP_BOOT_MS, wb,
               wb is not None and wb < TARGET_WISP_BOOT_MS, "ms", tcg_only=True),
        target("stripped kernel size", "< 1 MiB", ws,
               ws is not None and ws < TARGET_SIZE_BYTES, "bytes"),
        target("smallest memory that boots", "<= %d MiB" % TARGET_MEM_MIB, wm,
               wm is not None and wm <= TARGET_MEM_MIB, "MiB"),
    ]
    return ratios, targets


# --- the human table ---------------------------------------------------------

def _fmt_ms(b):
    if not b:
        return "-"
    return "%.1f ms (min %.1f, max %.1f, sd %.1f, n=%d)" % (
        b["median"], b["min"], b["max"], b["stdev"], b["n"])


def _fmt_size(n):
    if n is None:
        return "-"
    return "%.2f MiB (%d B)" % (n / MIB, n) if n >= MIB else "%.1f KiB (%d B)" % (n / 1024, n)


def _fmt_x(r):
    return "-" if r is None else ("%.3g" % r)


def table(res):
    w = res.get("wisp") or {}
    l = res.get("linux") or {}
    rows = [("", "wisp", "linux", "wisp/linux")]
    lmethod = l.get("boot_method", "-") if l.get("ok") else "-"
    rows.append(("boot method", "pvh" if w.get("ok") else "-", lmethod, ""))
    ra = res.get("ratios", {})
    rows.append(("kernel size", _fmt_size(w.get("size_bytes")) if w else "-",
                 _fmt_size(l.get("size_bytes")) if l else "-",
                 _fmt_x(ra.get("size_wisp_over_linux"))))
    rows.append(("boot to program start", _fmt_ms(w.get("boot_ms")), _fmt_ms(l.get("boot_ms")),
                 _fmt_x(ra.get("boot_time_wisp_over_linux"))))
    ku = w.get("kernel_reported_us")
    if ku:
        rows.append(("  wisp's own figure (N us)", "%.1f ms median" % (ku["median"] / 1000.0),
                     "", ""))
    def mm(d):
        if not d or d.get("min_mem_mib") is None:
            return "-"
        return ("<= %d MiB (search floor)" if d.get("min_mem_at_search_floor")
                else "%d MiB") % d["min_mem_mib"]
    rows.append(("smallest -m that boots", mm(w), mm(l), _fmt_x(ra.get("min_mem_wisp_over_linux"))))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in rows]
    for name, d in (("wisp", w), ("linux", l)):
        if d and not d.get("ok"):
            lines.append("%s: FAILED: %s" % (name, d.get("error", "").splitlines()[0]))
    lines.append("")
    lines.append("targets:")
    for t in res.get("targets", []):
        v = t["value"]
        if v is None:
            vs = "-"
        elif t["unit"] == "bytes":
            vs = _fmt_size(v)
        elif t["unit"] == "x":
            vs = "%.1fx" % v
        else:
            vs = "%g %s" % (v, t["unit"])
        met = {True: "met", False: "NOT met", None: "n/a"}[t["met"]]
        lines.append("  %-28s %-14s %-24s %s%s" % (t["name"], t["target"], vs, met,
                                                   " (%s)" % t["note"] if t.get("note") else ""))
    return lines
