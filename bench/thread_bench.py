"""Thread benchmark: pthread ping-pong, wisp against the Debian Linux guest on
the same QEMU machine and accelerator, both with -smp 2.

One static musl program, bench/guest/pingpong.c: two threads pass a turn back
and forth, each sleeping in the kernel until the turn is its own, through
  - futex:   raw FUTEX_WAIT/FUTEX_WAKE (private) on an int
  - condvar: a pthread mutex and condition variable
with both threads pinned to CPU 0 (same: a context switch per hand-off) or to
CPUs 0 and 1 (cross: a cross-CPU wake-up per hand-off), by sched_setaffinity.
It prints ns per one-way hand-off for each of the four cases. It runs as
wisp's program (build/kernel.elf booted directly) and as Linux's /init (Linux
booted as the boot benchmark does it: bench/boot.py's LinuxLeg, PVH when it
works, its TSC calibration boot), min(--runs, 5) boots of each, interleaved.
Reported: medians over the boots, ratios wisp/Linux, and the OSv paper's
figures (328 ns same CPU, 1,402 ns across CPUs, against Linux's 905 and
13,148 ns) whose ratios to Linux are the issue's targets. See docs/bench.md.
"""

import os
import re

import benchlib as bl
import boot
from benchlib import BenchError, log

NAME = "threads"
NOPOLL = "wisp_idle_poll_0"

SMP = 2
MAX_RUNS = 5
MODES = ("futex", "condvar")
PLACES = ("same", "cross")

DONE = re.compile(rb"pingpong: done\r?\n")
START = re.compile(rb"pingpong: start cpus_online=(\d+) clock_res_ns=(-?\d+)")
CASE = re.compile(rb"pingpong: mode=(\w+) cpus=(\w+) (?:handoff_ns=([0-9.]+) min_ns=([0-9.]+) "
                  rb"round_trips=(\d+) "
                  rb"cpu_a=(-?\d+) cpu_b=(-?\d+)|error=(\S+))\r?\n")
WISP_FATAL = re.compile(rb"wisp: (?:panic|boot failed|program killed)[^\r\n]*(?=\r?\n)")

# The OSv paper: thread context switch and cross-CPU wake-up, OSv vs Linux.
OSV = {"same": {"osv_ns": 328, "linux_ns": 905},
       "cross": {"osv_ns": 1402, "linux_ns": 13148}}
for _v in OSV.values():
    _v["osv_over_linux"] = round(_v["osv_ns"] / _v["linux_ns"], 3)


class _Ctx:
    """ctx with the run's machine and accelerator but SMP CPUs."""

    def __init__(self, ctx):
        self.args = ctx.args
        self.qemu = bl.Qemu(accel=ctx.qemu.accel, cpu=ctx.qemu.cpu, smp=SMP,
                            binary=ctx.qemu.binary)


def _parse(console):
    """{(mode, place): {"ns": float, ...} or {"error": str}} from one boot."""
    out = {}
    for m in CASE.finditer(console):
        key = (m.group(1).decode(), m.group(2).decode())
        if m.group(8):
            out[key] = {"error": m.group(8).decode("utf-8", "replace")}
        else:
            out[key] = {"ns": float(m.group(3)), "min_ns": float(m.group(4)),
                        "round_trips": int(m.group(5)),
                        "cpu_a": int(m.group(6)), "cpu_b": int(m.group(7))}
    return out


def _pinned(place, s):
    """Did the threads run where they were pinned (-1: getcpu failed)?"""
    want_b = 0 if place == "same" else 1
    return s["cpu_a"] == 0 and s["cpu_b"] == want_b


def run(ctx):
    a = ctx.args
    c2 = _Ctx(ctx)
    out = bl.ensure_out()
    res = {"description": "ns per one-way hand-off between two threads ping-ponging "
                          "through futex wait/wake or a pthread mutex+condvar, pinned to "
                          "one CPU (context switch) or two (cross-CPU wake-up); median of "
                          "5 batches of >= 20 ms per boot, median over boots",
           "smp": SMP}
    try:
        prog = bl.build_guest_program("pingpong")
    except BenchError as e:
        return {"ok": False, "error": str(e)}
    res["program"] = "bench/guest/pingpong.c (musl static, %d bytes)" % os.path.getsize(prog)

    guests = {}
    kernel = os.path.join(bl.BUILD, "kernel.elf")
    if not os.path.isfile(kernel):
        res["wisp"] = {"ok": False, "error": "build/kernel.elf not found (make)"}
    else:
        initrd = bl.make_cpio({"pingpong": prog}, os.path.join(out, "threads-wisp.cpio"))
        append = "-- /pingpong"
        guests["wisp"] = (c2.qemu.argv(kernel, initrd, append, a.mem), WISP_FATAL)
        res["wisp"] = {"ok": True, "cmdline": append}
        # wisp's idle loop polls for 50 us before hlt (docs/scheduler.md);
        # Linux's under TCG does not poll. The same program with polling off
        # shows what the cross-CPU figure owes to it (not used in the ratios).
        append = "idle_poll=0 -- /pingpong"
        guests[NOPOLL] = (c2.qemu.argv(kernel, initrd, append, a.mem), WISP_FATAL)
        res[NOPOLL] = {"ok": True, "cmdline": append}

    # Linux: the boot benchmark's leg. Its TSC calibration boot runs on -smp 1
    # as in the boot benchmark: with two vCPUs under TCG, Linux's TSC
    # synchronisation check fails most boots ("Marking TSC unstable due to
    # TSCs unsynchronized") and it falls back to the jiffies clocksource, whose
    # 4 ms resolution makes the figures meaningless. For the same reason the
    # timed -smp 2 boots add tsc=reliable (skips that check and the clocksource
    # watchdog; nothing else). The program reports the clock's resolution.
    leg = boot.LinuxLeg(ctx)
    log("threads: preparing Linux (one calibration boot, -smp 1)")
    try:
        leg.prepare()
        leg.initrd = bl.make_cpio({"init": prog}, os.path.join(out, "threads-linux.cpio"))
        flags = leg.flags() + (["tsc=reliable"] if ctx.qemu.accel == "tcg" else [])
        cmdline = " ".join(flags)
        guests["linux"] = (c2.qemu.argv(leg.kernel, leg.initrd, cmdline, a.mem), boot.LINUX_FATAL)
        res["linux"] = {"ok": True, "version": leg.info.get("version"),
                        "boot_method": leg.info.get("boot_method"),
                        "cmdline": cmdline}
    except BenchError as e:
        res["linux"] = {"ok": False, "error": str(e)}
        log("threads: linux SKIPPED: %s" % e)

    samples = {g: {} for g in guests}        # (mode, place) -> [ns]
    best = {g: {} for g in guests}           # (mode, place) -> [best batch ns]
    errors = {g: {} for g in guests}         # (mode, place) -> last error
    unpinned = {g: set() for g in guests}
    runs = min(a.runs, MAX_RUNS)
    for i in range(runs):
        for g, (argv, fatal) in guests.items():
            r = bl.boot_once(argv, DONE, a.timeout, fatal=fatal)
            got = _parse(r.console)
            st = START.search(r.console)
            if st:
                res[g]["cpus_online"] = int(st.group(1))
                res[g]["clock_res_ns"] = int(st.group(2))
            if not r.ok:
                # Keep the cases that finished; say where it stopped.
                last = r.tail(3).replace("    | ", "").replace("\n", " / ")
                why = "%s (after %d of 4 cases; last lines: %s)" % (r.reason, len(got), last)
                log("threads: %s run %d failed: %s" % (g, i + 1, why))
                res[g].setdefault("failures", []).append(why)
            for key, s in got.items():
                if "error" in s:
                    errors[g][key] = s["error"]
                    continue
                samples[g].setdefault(key, []).append(s["ns"])
                best[g].setdefault(key, []).append(s["min_ns"])
                if not _pinned(key[1], s):
                    unpinned[g].add("%s/%s cpu_a=%d cpu_b=%d" % (key + (s["cpu_a"], s["cpu_b"])))
            log("threads: %s run %d: %s" % (g, i + 1, ", ".join(
                "%s/%s %s" % (k[0], k[1], "%.0f ns" % s["ns"] if "ns" in s else s["error"])
                for k, s in sorted(got.items())) or "no figures"))

    for g in guests:
        if res[g].get("clock_res_ns", 0) > 1000:
            res[g]["warning"] = ("CLOCK_MONOTONIC resolution %d ns: the figures are not "
                                 "trustworthy" % res[g]["clock_res_ns"])
        cases = {}
        for mode in MODES:
            for place in PLACES:
                key = (mode, place)
                v = samples[g].get(key)
                name = "%s_%s" % (mode, place)
                if v:
                    cases[name] = bl.summarize(v, digits=1)
                    cases[name]["best_batch"] = round(min(best[g][key]), 1)
                else:
                    cases[name] = {"error": errors[g].get(key) or "no figure (%s)" % (
                        (res[g].get("failures") or ["?"])[0])}
        res[g]["handoff_ns"] = cases
        if unpinned[g]:
            res[g]["not_where_pinned"] = sorted(unpinned[g])
        if not any("median" in c for c in cases.values()):
            res[g]["ok"] = False
            res[g].setdefault("error", "no case measured: %s" % (
                (res[g].get("failures") or list(errors[g].values()) or ["?"])[0]))
        elif any("error" in c for c in cases.values()):
            res[g]["ok"] = False
            res[g]["error"] = "; ".join("%s: %s" % (k, c["error"])
                                        for k, c in cases.items() if "error" in c)

    def med(g, name):
        x = res.get(g, {}).get("handoff_ns", {}).get(name, {})
        return x.get("median")

    ratios, targets = {}, {}
    for mode in MODES:
        for place in PLACES:
            name = "%s_%s" % (mode, place)
            w, l = med("wisp", name), med("linux", name)
            ratios[name] = round(w / l, 3) if w and l else None
    res["ratio_wisp_over_linux"] = ratios
    res["osv_paper"] = OSV
    # Target: beat OSv's ratio to Linux; the futex ping-pong is the closest to
    # OSv's measurement (a thread wait queue, no user-space mutex around it).
    for place in PLACES:
        rt = ratios.get("futex_" + place)
        targets[place] = {"target_wisp_over_linux": OSV[place]["osv_over_linux"],
                          "measured_futex": rt,
                          "met": rt is not None and rt <= OSV[place]["osv_over_linux"]}
    res["targets"] = targets
    res["runs"] = runs
    res["ok"] = all(res.get(g, {}).get("ok") for g in ("wisp", NOPOLL, "linux") if g in res)
    return res


def table(r):
    if "wisp" not in r:
        return ["threads: FAILED: %s" % r.get("error")]
    cols = ["%s_%s" % (m, p) for m in MODES for p in PLACES]
    lines = ["ns per one-way hand-off, -smp %d (same: both threads on CPU 0; cross: CPUs 0 and 1)"
             % r.get("smp", SMP),
             "%-17s" % "" + "".join("%15s" % c for c in cols)]
    fmt = lambda v: "%.1f" % v if v is not None else "-"
    rfmt = lambda v: "%.3f" % v if v is not None else "-"
    for g in ("wisp", NOPOLL, "linux"):
        x = r.get(g, {})
        if g == NOPOLL and not x:
            continue
        hs = x.get("handoff_ns")
        if not hs:
            lines.append("%-17s FAILED: %s" % (g, x.get("error")))
            continue
        lines.append("%-17s" % g + "".join("%15s" % (fmt(hs[c].get("median")) if "median" in hs[c]
                                                     else "FAILED") for c in cols))
    rt = r.get("ratio_wisp_over_linux", {})
    lines.append("%-17s" % "wisp/linux" + "".join("%15s" % rfmt(rt.get(c))
                                                  for c in cols))
    bb = lambda x, c: "%.0f" % x[c]["best_batch"] if "best_batch" in x.get(c, {}) else "-"
    for g in ("wisp", NOPOLL, "linux"):
        x = r.get(g, {})
        if x.get("handoff_ns"):
            lines.append("%s best batch (ns): %s" % (g, ", ".join(
                "%s %s" % (c, bb(x["handoff_ns"], c)) for c in cols)))
    for g in ("wisp", NOPOLL, "linux"):
        x = r.get(g, {})
        if x.get("warning"):
            lines.append("%s: WARNING: %s" % (g, x["warning"]))
        if x.get("handoff_ns") and x.get("error"):
            lines.append("%s errors: %s" % (g, x["error"]))
        if x.get("not_where_pinned"):
            lines.append("%s: threads not on their pinned CPU: %s" % (g, ", ".join(x["not_where_pinned"])))
    o = r.get("osv_paper", OSV)
    t = r.get("targets", {})
    for place, what in (("same", "same-CPU switch"), ("cross", "cross-CPU wake-up")):
        lines.append("%s: OSv %d ns vs Linux %d ns (OSv/Linux %.3f); wisp/Linux futex %s: %s"
                     % (what, o[place]["osv_ns"], o[place]["linux_ns"], o[place]["osv_over_linux"],
                        rfmt(t.get(place, {}).get("measured_futex")),
                        "target met" if t.get(place, {}).get("met") else "target not met"))
    return lines
