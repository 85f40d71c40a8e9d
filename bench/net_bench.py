"""Network benchmark: the same Debian servers in wisp and in the Debian Linux
guest, on the same QEMU machine (microvm), accelerator, -smp and -m, and the
same network back-end (QEMU user networking, hostfwd on 127.0.0.1), measured
from the host in the same run (bench/netguest.py starts the guests):

  nginx    requests/s for a 612-byte page, wrk -t 2 -c 16 and -c 64
  redis    redis-benchmark GET and SET requests/s, pipelined (-P 16)
  iperf3   TCP throughput host->guest and guest->host (-R)
  tcp_rr   round trips of 1-byte messages on one TCP connection to an echo
           server (bench/guest/net_peer.c): mean, p50 and p99 in us

Each guest is booted once per server and the legs alternate (wisp, Linux)
server by server. Ratios are wisp/Linux for rates (higher is better) and
for latencies (lower is better), printed beside the papers' figures, which
are the issue's targets: nginx Unikraft 2.8x and OSv 2.2x Linux's
requests/s, redis Unikraft 1.74x, iperf3 OSv +24% throughput and 37-47%
lower latency. slirp's hostfwd listeners get a backlog of 128 instead of 1
(bench/host/listen_backlog.c, LD_PRELOADed into both guests' QEMU): with 1,
clients that connect many at once (redis-benchmark, wrk) stall for seconds.
With user networking every byte crosses slirp in QEMU's
main loop: slirp (and TCG) may bound both guests, squeezing the ratios
towards 1; docs/bench.md says so beside the figures.
"""

import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time

import benchlib as bl
import netguest as ng
from benchlib import BenchError, log

NAME = "net"
MEM_MIB = 256
WRK_SECONDS = 3
WRK_CONNS = (16, 64)
REDIS_N = 50000
IPERF_SECONDS = 4
RR_SECONDS = 2.0

PAPERS = {
    "nginx_rps": {"unikraft": 2.8, "osv": 2.2},
    "redis_rps": {"unikraft": 1.74},
    "iperf3_mbps": {"osv": 1.24},
    "tcp_rr_latency": {"osv": "0.53-0.63 (37-47% lower)"},
}


def add_arguments(p):
    g = p.add_argument_group("network benchmark")
    g.add_argument("--net-only", choices=["wisp", "linux"],
                   help="network benchmark: one guest only (default both)")


def _tools():
    missing = [t for t in ("wrk", "redis-benchmark", "iperf3") if not shutil.which(t)]
    missing += [t for t in ("/usr/sbin/nginx", "/usr/bin/redis-server", "/usr/bin/iperf3")
                if not os.path.exists(t)]
    return missing


def _backlog_shim():
    """bench/host/listen_backlog.c -> build/bench/listen_backlog.so, the
    LD_PRELOAD that gives slirp's hostfwd listeners a backlog of 128 instead
    of libslirp's 1 (see that file and docs/bench.md). Both guests' QEMU get
    it. Returns (path or None, why not)."""
    src = os.path.join(bl.BENCH, "host", "listen_backlog.c")
    out = os.path.join(bl.ensure_out(), "listen_backlog.so")
    if bl.newer(out, src):
        return out, None
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        return None, "no C compiler for bench/host/listen_backlog.c"
    p = subprocess.run([cc, "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror", src,
                        "-o", out, "-ldl"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if p.returncode:
        return None, "building listen_backlog.so failed: %s" % p.stdout.strip()[-300:]
    return out, None


def _wrk(port, conns):
    p = subprocess.run(["wrk", "-t", "2", "-c", str(conns), "-d", "%ds" % WRK_SECONDS,
                        "http://127.0.0.1:%d/" % port], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=WRK_SECONDS + 60)
    m = re.search(r"Requests/sec:\s*([0-9.]+)", p.stdout)
    if not m:
        raise BenchError("wrk: %s" % p.stdout.strip().splitlines()[-1:])
    errs = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: ([^\n]*)", p.stdout)
    return float(m.group(1)), (errs.group(0) if errs else None)


def _redis(port):
    """Best of two runs per operation: the host is shared, and one run's
    figure swings with whatever else runs (seen: 2x between SET and GET)."""
    best = {}
    for _ in range(2):
        for k, v in _redis_once(port).items():
            best[k] = max(best.get(k, 0.0), v)
    return best


def _redis_once(port):
    p = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-q",
                        "-t", "set,get", "-P", "16", "-c", "16", "-n", str(REDIS_N)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=180)
    got = dict((k.lower(), float(v)) for k, v in
               re.findall(r"(SET|GET): ([0-9.]+) requests per second", p.stdout))
    if set(got) != {"set", "get"}:
        raise BenchError("redis-benchmark: %s" % p.stdout.strip()[-300:])
    return got


def _iperf(port, reverse):
    p = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", str(IPERF_SECONDS),
                        "-J"] + (["-R"] if reverse else []), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=IPERF_SECONDS + 40)
    try:
        r = json.loads(p.stdout)
        return r["end"]["sum_received"]["bits_per_second"] / 1e6
    except (ValueError, KeyError):
        raise BenchError("iperf3%s: %s" % (" -R" if reverse else "",
                                            p.stdout[-300:].decode(errors="replace")))


def _rr(port):
    """1-byte request/response round trips on one connection, microseconds."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(10)
    samples = []
    try:
        for _ in range(50):          # warm-up: ARP, slow start, caches
            s.sendall(b"x")
            s.recv(1)
        end = time.monotonic() + RR_SECONDS
        clock = time.perf_counter_ns
        while time.monotonic() < end:
            t = clock()
            s.sendall(b"x")
            if not s.recv(1):
                raise BenchError("tcp_rr: the echo server closed the connection")
            samples.append((clock() - t) / 1000.0)
    finally:
        s.close()
    samples.sort()
    return {"n": len(samples), "mean_us": round(statistics.fmean(samples), 1),
            "p50_us": round(samples[len(samples) // 2], 1),
            "p99_us": round(samples[int(len(samples) * 0.99)], 1)}


def _serve(kind, ctx, linux, work, argv, files, guest_port, probe, measure, env):
    port = ng.free_port()
    g = ng.Guest(kind, argv, files=files, ports=[(port, guest_port)], mem=MEM_MIB,
                 smp=ctx.qemu.smp, accel=ctx.qemu.accel, linux=linux, workdir=work, env=env)
    try:
        g.start()
        ready = g.wait_ready((lambda: probe(port)) if callable(probe) else probe, timeout=90)
        return measure(port), ready
    except ng.GuestError as e:
        raise BenchError(str(e))
    finally:
        g.stop()


def run(ctx):
    a = ctx.args
    res = {"description": "servers in the guest, clients on the host through QEMU user "
                          "networking (hostfwd): nginx req/s (wrk, 612-byte page), "
                          "redis-benchmark -P 16 req/s, iperf3 Mbit/s both ways, 1-byte TCP "
                          "round trips (us)",
           "mem_mib": MEM_MIB, "smp": ctx.qemu.smp, "backend": "QEMU user networking (slirp)",
           "papers": PAPERS}
    missing = _tools()
    if missing:
        return dict(res, ok=False, error="missing: %s (scripts/deps.sh installs them)"
                    % ", ".join(missing))
    try:
        peer = bl.build_guest_program("net_peer")
    except BenchError as e:
        return dict(res, ok=False, error=str(e))

    kinds, linux = [], None
    only = getattr(a, "net_only", None)
    if only != "linux":
        if not (os.path.isfile(ng.WISP) and os.path.isfile(ng.KERNEL)):
            res["wisp"] = {"ok": False, "error": "build/wisp or build/kernel.elf missing (make)"}
        else:
            kinds.append("wisp")
            res["wisp"] = {"ok": True, "how": "build/wisp run -p 127.0.0.1:PORT:GUEST"}
    if only != "wisp":
        log("net: preparing Linux (one calibration boot)")
        try:
            linux = ng.LinuxKernel.prepare(accel=ctx.qemu.accel, mem=a.mem, timeout=a.timeout)
            kinds.append("linux")
            res["linux"] = {"ok": True, "version": linux.version,
                            "cmdline": " ".join(linux.flags),
                            "how": "/init (busybox sh) loads virtio_net, sets 10.0.2.15/24, "
                                   "execs the server"}
        except BenchError as e:
            res["linux"] = {"ok": False, "error": str(e)}
            log("net: linux SKIPPED: %s" % e)

    # slirp's hostfwd backlog of 1 makes connection bursts stall for seconds
    # in either guest (bench/host/listen_backlog.c): raise it for both.
    shim, why = _backlog_shim()
    env = {"LD_PRELOAD": shim} if shim else None
    res["hostfwd_backlog"] = 128 if shim else 1
    if why:
        res["hostfwd_backlog_note"] = why
        log("net: %s: slirp's hostfwd backlog stays 1 (connection bursts may stall)" % why)
    listen0 = _listen_overflows()

    work = tempfile.mkdtemp(prefix="wisp-net-bench-")
    nginx_files = ng.nginx_files(work)
    servers = [
        ("nginx", ng.NGINX_ARGV, nginx_files, 80, ng.probe_http,
         lambda port: {"c%d" % c: _wrk(port, c) for c in WRK_CONNS}),
        ("redis", ["/usr/bin/redis-server", "--port", "6379", "--save", "", "--appendonly",
                   "no", "--protected-mode", "no"], {}, 6379, ng.probe_redis, _redis),
        ("iperf3", ["/usr/bin/iperf3", "-s", "-p", "5201", "--forceflush"], {}, 5201,
         rb"Server listening on 5201",
         lambda port: {"host_to_guest": _iperf(port, False)}),
        ("tcp_rr", [peer, "echo", "7"], {}, 7, ng.probe_echo, _rr),
    ]
    try:
        for name, argv, files, gport, probe, measure in servers:
            for kind in kinds:
                gdir = os.path.join(work, "%s-%s" % (name, kind))
                os.makedirs(gdir, exist_ok=True)
                t = time.monotonic()
                try:
                    if name == "iperf3":
                        # Both directions on one server: wait for its
                        # "listening" line before each run.
                        got, ready = _serve_iperf(kind, ctx, linux, gdir, argv, gport, env)
                    else:
                        got, ready = _serve(kind, ctx, linux, gdir, argv, files, gport,
                                            probe, measure, env)
                    res[kind][name] = got
                    lo = _listen_overflows()
                    if lo is not None and listen0 is not None and lo > listen0:
                        # The counter is the host's (any listener, any user): a
                        # figure measured while it rose may have lost connections.
                        res[kind].setdefault("listen_overflows", {})[name] = lo - listen0
                        log("net: %s %s: the host's ListenOverflows rose by %d during this leg"
                            % (kind, name, lo - listen0))
                    listen0 = lo
                    log("net: %s %s: %s (ready after %.1f s, %.0f s in all)"
                        % (kind, name, _short(got), ready, time.monotonic() - t))
                except (BenchError, subprocess.TimeoutExpired, OSError) as e:
                    res[kind].setdefault("errors", {})[name] = str(e).splitlines()[0][:300]
                    log("net: %s %s FAILED: %s" % (kind, name, str(e)[:2000]))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    res["figures"] = _figures(res, kinds)
    res["ok"] = all(res.get(k, {}).get("ok") and not res[k].get("errors")
                    for k in ("wisp", "linux"))
    return res


def _serve_iperf(kind, ctx, linux, work, argv, gport, env):
    port = ng.free_port()
    g = ng.Guest(kind, argv, ports=[(port, gport)], mem=MEM_MIB, smp=ctx.qemu.smp,
                 accel=ctx.qemu.accel, linux=linux, workdir=work, env=env)
    out = {}
    try:
        g.start()
        ready = None
        for i, rev in enumerate((False, True)):
            r = g.wait_ready(lambda: len(re.findall(rb"Server listening on 5201",
                                                    g.output())) > i, timeout=90)
            ready = ready or r
            out["guest_to_host" if rev else "host_to_guest"] = _iperf(port, rev)
        return out, ready
    except ng.GuestError as e:
        raise BenchError(str(e))
    finally:
        g.stop()


def _listen_overflows():
    """The host's TcpExt ListenOverflows counter (None if unreadable):
    connections the host kernel dropped because a listener's accept queue
    was full, i.e. slirp had not accepted them yet."""
    try:
        with open("/proc/net/netstat") as f:
            rows = [l.split() for l in f if l.startswith("TcpExt:")]
        return int(dict(zip(rows[0][1:], rows[1][1:]))["ListenOverflows"])
    except (OSError, IndexError, KeyError, ValueError):
        return None


def _short(got):
    if isinstance(got, dict):
        return ", ".join("%s %s" % (k, _short(v)) for k, v in got.items())
    if isinstance(got, tuple):
        return _short(got[0]) + (" (%s)" % got[1] if got[1] else "")
    if isinstance(got, float):
        return "%.0f" % got
    return str(got)


def _figures(res, kinds):
    """Flat figures per guest and the ratios wisp/Linux."""
    def fig(kind):
        x = res.get(kind, {})
        f = {}
        for c in WRK_CONNS:
            v = x.get("nginx", {}).get("c%d" % c)
            if v:
                f["nginx_rps_c%d" % c] = v[0]
        for op in ("get", "set"):
            v = x.get("redis", {}).get(op)
            if v:
                f["redis_%s_rps" % op] = v
        for d in ("host_to_guest", "guest_to_host"):
            v = x.get("iperf3", {}).get(d)
            if v:
                f["iperf3_%s_mbps" % d] = round(v, 1)
        rr = x.get("tcp_rr")
        if rr:
            f["tcp_rr_mean_us"] = rr["mean_us"]
            f["tcp_rr_p99_us"] = rr["p99_us"]
        return f
    figs = {k: fig(k) for k in ("wisp", "linux")}
    ratios = {}
    for k in sorted(set(figs["wisp"]) | set(figs["linux"])):
        w, l = figs["wisp"].get(k), figs["linux"].get(k)
        ratios[k] = round(w / l, 3) if w and l else None
    return {"wisp": figs["wisp"], "linux": figs["linux"], "ratio_wisp_over_linux": ratios}


def table(r):
    if "figures" not in r:
        return ["net: FAILED: %s" % r.get("error")]
    f = r["figures"]
    lines = ["servers in the guest, clients on the host, QEMU user networking (slirp), "
             "-m %dM -smp %d" % (r.get("mem_mib", 0), r.get("smp", 1)),
             "%-26s %12s %12s %10s  %s" % ("", "wisp", "linux", "wisp/linux", "papers")]
    target = {"nginx_rps_c16": "Unikraft 2.8x, OSv 2.2x", "nginx_rps_c64": "Unikraft 2.8x, OSv 2.2x",
              "redis_get_rps": "Unikraft 1.74x", "redis_set_rps": "Unikraft 1.74x",
              "iperf3_host_to_guest_mbps": "OSv 1.24x", "iperf3_guest_to_host_mbps": "OSv 1.24x",
              "tcp_rr_mean_us": "OSv 0.53-0.63x", "tcp_rr_p99_us": "(lower is better)"}
    for k in target:
        w, l = f["wisp"].get(k), f["linux"].get(k)
        rt = f["ratio_wisp_over_linux"].get(k)
        lines.append("%-26s %12s %12s %10s  %s" % (
            k, "%.1f" % w if w else "-", "%.1f" % l if l else "-",
            "%.3f" % rt if rt else "-", target[k]))
    for g in ("wisp", "linux"):
        x = r.get(g, {})
        if x.get("error"):
            lines.append("%s: FAILED: %s" % (g, x["error"].splitlines()[0]))
        for name, e in (x.get("errors") or {}).items():
            lines.append("%s %s: FAILED: %s" % (g, name, e))
        for name, n in (x.get("listen_overflows") or {}).items():
            lines.append("%s %s: the host's ListenOverflows rose by %d (a full accept queue "
                         "dropped handshakes, maybe slirp's): check this figure" % (g, name, n))
    lines.append("rates: higher is better; latencies: lower is better. slirp, in QEMU's "
                 "main loop, carries every byte for both guests and may bound both.")
    return lines
