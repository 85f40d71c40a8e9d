#!/usr/bin/python3
"""wisp's benchmarks: `make bench` runs this after building everything.

Prints one JSON object (also saved to build/bench/results.json), then a short
human table. Progress goes to stderr. Every figure of one run is measured on
the same QEMU machine and accelerator, stated in the JSON and the table.

Benchmarks are modules in bench/ listed in BENCHMARKS. Each has:
    NAME                    key in the JSON ("boot")
    add_arguments(parser)   optional: its own command-line options
    run(ctx) -> dict        measure; the dict should carry "ok": bool
    table(result) -> [str]  the human-readable lines for its result
ctx has .args (parsed options) and .qemu (benchlib.Qemu).

Exit status: 0 when every benchmark ran every guest, 1 when some guest could
not be measured (its error is in the JSON), 2 on a usage error. Missing a
target is not an error: targets are reported, not enforced.
"""

import argparse
import datetime
import json
import os
import platform
import sys
import time

sys.dont_write_bytecode = True     # no bench/__pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import benchlib as bl  # noqa: E402
import boot  # noqa: E402
import disk_bench  # noqa: E402
import net_bench  # noqa: E402
import sched_bench  # noqa: E402
import syscall_bench  # noqa: E402
import thread_bench  # noqa: E402

BENCHMARKS = [boot, sched_bench, syscall_bench, disk_bench, thread_bench, net_bench]


class Context:
    def __init__(self, args, qemu):
        self.args = args
        self.qemu = qemu


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="bench/run.py",
        description="Benchmarks of wisp against a Linux guest on the same QEMU machine.")
    p.add_argument("--runs", type=int, default=15,
                   help="timed boots per guest (default 15; at least 10 for real figures)")
    p.add_argument("--accel", choices=["tcg", "kvm"], default="tcg",
                   help="QEMU accelerator (default tcg: -accel tcg -cpu max)")
    p.add_argument("--cpu", help="override QEMU's -cpu (default: max on tcg, "
                                 "host,-arch-capabilities on kvm)")
    p.add_argument("--quick", action="store_true",
                   help="3 runs per guest and no memory search")
    p.add_argument("--timeout", type=float, default=30.0,
                   help="hard limit in seconds for one QEMU run (default 30)")
    p.add_argument("--bench", action="append", choices=[b.NAME for b in BENCHMARKS],
                   help="run only this benchmark (repeatable; default all)")
    p.add_argument("--out", default=os.path.join(bl.OUT, "results.json"),
                   help="where to save the JSON (default build/bench/results.json)")
    for b in BENCHMARKS:
        if hasattr(b, "add_arguments"):
            b.add_arguments(p)
    a = p.parse_args(argv)
    if a.quick:
        a.runs = 3
    if a.runs < 1:
        p.error("--runs must be at least 1")
    if a.timeout <= 0:
        p.error("--timeout must be positive")
    return a


def _loadavg():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def main(argv):
    args = parse_args(argv)
    qemu = bl.Qemu(accel=args.accel, cpu=args.cpu)
    started = time.monotonic()
    result = {
        "tool": "wisp bench/run.py",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "host": {
            "kernel": platform.release(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_start": _loadavg(),
        },
    }
    load = result["host"]["loadavg_start"]
    if load and load[0] > 0.5:
        bl.log("warning: host load average %.2f: other work competes with the guests "
               "(the ratios of one run stay comparable; the absolute times do not)" % load[0])
    result.update(qemu.describe())
    result["options"] = {"runs": args.runs, "quick": args.quick, "timeout_s": args.timeout}
    result["benchmarks"] = {}
    ok = True
    try:
        qemu.check()
    except bl.BenchError as e:
        result["error"] = str(e)
        bl.log("cannot run: %s" % e)
        ok = False
    else:
        ctx = Context(args, qemu)
        for b in BENCHMARKS:
            if args.bench and b.NAME not in args.bench:
                continue
            bl.log("== %s (%s, %s, -cpu %s)" % (b.NAME, bl.MACHINE, qemu.accel, qemu.cpu))
            r = b.run(ctx)
            result["benchmarks"][b.NAME] = r
            ok = ok and r.get("ok", False)
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    result["host"]["loadavg_end"] = _loadavg()

    text = json.dumps(result, indent=2)
    try:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(text + "\n")
    except OSError as e:
        bl.log("cannot save %s: %s" % (args.out, e))
    print(text)
    print()
    print("wisp benchmarks: monitor qemu %s, -M %s, -accel %s -cpu %s, -smp %d"
          % (result.get("monitor_version"), bl.MACHINE, qemu.accel, qemu.cpu, qemu.smp))
    la = result["host"].get("loadavg_start")
    if la:
        print("host: %s CPUs, load average %.2f at start" % (os.cpu_count(), la[0]))
    if "error" in result:
        print("FAILED: " + result["error"])
    for b in BENCHMARKS:
        r = result["benchmarks"].get(b.NAME)
        if r is not None:
            print()
            print("[%s]" % b.NAME)
            for line in b.table(r):
                print(line)
    print()
    print("saved %s (%.0f s)" % (bl.rel(args.out), result["elapsed_s"]))
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
