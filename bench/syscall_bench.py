"""System-call benchmark: the null system call and clock_gettime, wisp
against the Debian Linux guest on the same QEMU machine and accelerator.

One static musl program, bench/guest/syscall_bench.c, measures in ns per
call (median of 7 rounds of >= 20 ms each):
  - getppid through syscall(): the null system call round trip
  - clock_gettime(CLOCK_MONOTONIC) through the C library: the vDSO
It runs as wisp's program and as Linux's /init (Linux booted exactly as the
boot benchmark does it: bench/boot.py's LinuxLeg, PVH when it works, with
its TSC calibration boot). min(--runs, 5) boots of each, interleaved; the
medians are reported with the ratios wisp/Linux. Also wisp's syscall
coverage: the kernel's own "syscalls: N implemented" boot line.
See docs/bench.md.
"""

import os
import re

import benchlib as bl
import boot
from benchlib import BenchError, log

NAME = "syscall"

LINE = re.compile(rb"syscall_bench: getppid_ns=([0-9.]+) clock_gettime_ns=([0-9.]+) "
                  rb"vdso=(\d) calls=(\d+),(\d+)\r?\n")
COVERAGE = re.compile(rb"syscalls: (\d+) implemented")
WISP_FATAL = re.compile(rb"wisp: (?:panic|boot failed|program killed)[^\r\n]*(?=\r?\n)")

# Unikraft reports 84 cycles for its syscall path against 154-222 for a Linux
# guest: be faster than the Linux guest by at least 154/84.
TARGET_NULL_RATIO = 154 / 84
# Implemented syscalls of OSv, Nanos and Unikraft (about): aim past all.
COVERAGE_OTHERS = {"OSv": 150, "Nanos": 175, "Unikraft": 180}

MAX_RUNS = 5


def _parse(r):
    m = r.match
    return {"getppid_ns": float(m.group(1)), "clock_gettime_ns": float(m.group(2)),
            "vdso": m.group(3) == b"1", "calls": [int(m.group(4)), int(m.group(5))]}


def run(ctx):
    a = ctx.args
    out = bl.ensure_out()
    res = {"description": "ns per call inside the guest: getppid via syscall() (null "
                          "syscall round trip) and clock_gettime(CLOCK_MONOTONIC) via libc "
                          "(vDSO); median of 7 rounds per boot, median over boots"}
    try:
        prog = bl.build_guest_program("syscall_bench")
    except BenchError as e:
        return {"ok": False, "error": str(e)}
    res["program"] = "bench/guest/syscall_bench.c (musl static, %d bytes)" % os.path.getsize(prog)

    # wisp: loglevel=debug for the kernel's "syscalls: N implemented" line
    # (logged once at program start, nothing on the syscall path).
    kernel = os.path.join(bl.BUILD, "kernel.elf")
    guests = {}
    if not os.path.isfile(kernel):
        res["wisp"] = {"ok": False, "error": "build/kernel.elf not found (make)"}
    else:
        initrd = bl.make_cpio({"syscall_bench": prog}, os.path.join(out, "syscall-wisp.cpio"))
        append = "loglevel=debug -- /syscall_bench"
        guests["wisp"] = (a.mem, ctx.qemu.argv(kernel, initrd, append, a.mem), WISP_FATAL)
        res["wisp"] = {"ok": True, "cmdline": append}

    # Linux: the boot benchmark's leg (kernel choice, PVH, TSC calibration),
    # then our program as /init.
    leg = boot.LinuxLeg(ctx)
    log("syscall: preparing Linux (one calibration boot)")
    try:
        leg.prepare()
        leg.initrd = bl.make_cpio({"init": prog}, os.path.join(out, "syscall-linux.cpio"))
        guests["linux"] = (a.mem, leg.argv(a.mem), boot.LINUX_FATAL)
        res["linux"] = {"ok": True, "version": leg.info.get("version"),
                        "boot_method": leg.info.get("boot_method"),
                        "cmdline": leg.info.get("cmdline")}
    except BenchError as e:
        res["linux"] = {"ok": False, "error": str(e)}
        log("syscall: linux SKIPPED: %s" % e)

    samples = {g: [] for g in guests}
    coverage = None
    runs = min(a.runs, MAX_RUNS)
    for i in range(runs):
        for g, (mem, argv, fatal) in guests.items():
            r = bl.boot_once(argv, LINE, a.timeout, fatal=fatal)
            if not r.ok:
                log("syscall: %s run %d failed: %s" % (g, i + 1, r.reason))
                res[g].setdefault("failures", []).append(r.reason)
                continue
            s = _parse(r)
            samples[g].append(s)
            if g == "wisp":
                c = COVERAGE.search(r.console)
                coverage = int(c.group(1)) if c else coverage
            log("syscall: %s run %d: getppid %.1f ns, clock_gettime %.1f ns%s"
                % (g, i + 1, s["getppid_ns"], s["clock_gettime_ns"],
                   "" if s["vdso"] else " (no vDSO)"))

    for g in guests:
        ss = samples[g]
        if not ss:
            res[g]["ok"] = False
            res[g].setdefault("error", "no run printed the figures: %s"
                              % (res[g].get("failures") or ["?"])[0])
            continue
        res[g]["getppid_ns"] = bl.summarize([s["getppid_ns"] for s in ss], digits=1)
        res[g]["clock_gettime_ns"] = bl.summarize([s["clock_gettime_ns"] for s in ss], digits=1)
        res[g]["vdso"] = all(s["vdso"] for s in ss)
        res[g]["calls_per_round"] = ss[-1]["calls"]

    def med(g, k):
        x = res.get(g, {})
        return x[k]["median"] if x.get("ok") and x.get(k) else None

    ratios = {}
    for k in ("getppid_ns", "clock_gettime_ns"):
        w, l = med("wisp", k), med("linux", k)
        ratios[k.replace("_ns", "")] = round(w / l, 3) if w and l else None
    res["ratio_wisp_over_linux"] = ratios
    w, l = med("wisp", "getppid_ns"), med("linux", "getppid_ns")
    res["coverage"] = {"implemented": coverage, "others": COVERAGE_OTHERS,
                       "past_all": coverage is not None and coverage > max(COVERAGE_OTHERS.values())}
    res["targets"] = {
        "null_syscall_linux_over_wisp": {
            "target": round(TARGET_NULL_RATIO, 2),
            "measured": round(l / w, 2) if w and l else None,
            "met": bool(w and l and l / w >= TARGET_NULL_RATIO)},
    }
    res["runs"] = runs
    res["ok"] = all(res[g].get("ok") for g in ("wisp", "linux"))
    return res


def table(r):
    if "wisp" not in r:
        return ["syscall: FAILED: %s" % r.get("error")]
    lines = ["%-8s %14s %20s" % ("", "getppid (ns)", "clock_gettime (ns)")]
    for g in ("wisp", "linux"):
        x = r.get(g, {})
        if not x.get("ok"):
            lines.append("%-8s FAILED: %s" % (g, x.get("error")))
            continue
        lines.append("%-8s %14.1f %20.1f%s" % (
            g, x["getppid_ns"]["median"], x["clock_gettime_ns"]["median"],
            "" if x.get("vdso") else "  (no vDSO)"))
    rt = r.get("ratio_wisp_over_linux", {})
    fmt = lambda v: "%.3f" % v if v is not None else "-"
    lines.append("%-8s %14s %20s" % ("wisp/linux", fmt(rt.get("getppid")),
                                     fmt(rt.get("clock_gettime"))))
    t = r.get("targets", {}).get("null_syscall_linux_over_wisp", {})
    lines.append("null syscall: Linux/wisp %s (target >= %.2f, Unikraft's 154/84): %s"
                 % (fmt(t.get("measured")), t.get("target", 0),
                    "met" if t.get("met") else "not met"))
    c = r.get("coverage", {})
    lines.append("syscall coverage: %s implemented (OSv ~150, Nanos ~175, Unikraft ~180)%s"
                 % (c.get("implemented"), ": past all" if c.get("past_all") else ""))
    return lines
