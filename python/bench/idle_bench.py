"""The bench kit's CPython asyncore echo peer (bench/peers/py_asyncore_echo.py,
unmodified) against idle connections, on pyasyncore and on this package
(faithful poll loop, and the epoll mode through ASYNCORE_LOOP_EPOLL=1).

    python3 python/bench/idle_bench.py --ref PY_WITH_PYASYNCORE --ours PY_WITH_THIS_PACKAGE \
        [--idle 0,5000,15000] [--rounds 1] [--duration 5] [--loadgen PATH]

Each run: a fresh server pinned to CPU 0; `loadgen idle` opens and holds K
connections (each pinged once); then `loadgen echo` (50 connections, 64 B,
1 in flight, 1 s warm-up, a `--duration` s window), both pinned to CPU 1.
Prints one JSON line per run and a Markdown table (median over rounds).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PEER = os.path.join(ROOT, "bench", "peers", "py_asyncore_echo.py")


def run(server, env_extra, idle, args):
    env = dict(os.environ, **env_extra)
    srv = subprocess.Popen(["taskset", "-c", "0", server, PEER, "127.0.0.1:0"],
                           stdout=subprocess.PIPE, text=True, env=env)
    holder = None
    try:
        addr = srv.stdout.readline().split()[-1]
        setup = 0.0
        if idle:
            holder = subprocess.Popen([args.loadgen, "idle", "--addr", addr, "--conns", str(idle),
                                       "--cpu", "1", "--setup-timeout", "300"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            ready = json.loads(holder.stdout.readline())
            if not ready["ready"]:
                raise SystemExit("idle holder not ready: %s" % ready)
            setup = ready["setup_s"]
        out = subprocess.run([args.loadgen, "echo", "--addr", addr, "--conns", "50", "--depth", "1",
                              "--size", "64", "--cpu", "1", "--duration", str(args.duration),
                              "--server-pid", str(srv.pid)],
                             capture_output=True, text=True, timeout=args.duration + 120)
        res = json.loads(out.stdout.strip().splitlines()[-1])
        res["idle_setup_s"] = setup
        return res
    finally:
        if holder is not None:
            holder.stdin.close()
            holder.wait(timeout=60)
        srv.terminate()
        srv.wait(timeout=30)


def callgrind_ir(server, env_extra, msgs, args, tmp):
    """Instructions (Ir) the server runs to serve `msgs` echoes (10 conns, 1 in flight)."""
    out = os.path.join(tmp, "cg.%d.%d" % (os.getpid(), msgs))
    env = dict(os.environ, **env_extra)
    srv = subprocess.Popen(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                            server, PEER, "127.0.0.1:0"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        addr = srv.stdout.readline().split()[-1]
        res = subprocess.run([args.loadgen, "echo", "--addr", addr, "--conns", "10", "--depth", "1",
                              "--size", "64", "--count", str(msgs), "--cpu", "-1"],
                             capture_output=True, text=True, timeout=600)
        got = json.loads(res.stdout.strip().splitlines()[-1])
        if got["messages"] != msgs or got["errors"]:
            raise SystemExit("callgrind run incomplete: %s" % got)
    finally:
        srv.terminate()
        srv.wait(timeout=300)
    for line in open(out):
        if line.startswith(("totals:", "summary:")):
            os.unlink(out)
            return int(line.split()[1])
    raise SystemExit("no totals in " + out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref", required=True)
    ap.add_argument("--ours", required=True)
    ap.add_argument("--idle", default="0,5000,15000")
    ap.add_argument("--servers", default="ref,faithful,epoll")
    ap.add_argument("--callgrind", type=int, default=0,
                    help="also instructions per message: (Ir(2N) - Ir(N)) / N under callgrind")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--loadgen", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "loadgen"))
    args = ap.parse_args()
    servers = [
        ("pyasyncore 1.0.5 (poll loop)", args.ref, {}, "ref"),
        ("ours, faithful (poll loop)", args.ours, {}, "faithful"),
        ("ours, epoll mode", args.ours, {"ASYNCORE_LOOP_EPOLL": "1"}, "epoll"),
    ]
    chosen = args.servers.split(",")
    servers = [s[:3] for s in servers if s[3] in chosen]
    idles = [int(k) for k in args.idle.split(",") if k]
    if args.callgrind:
        import tempfile
        tmp = tempfile.mkdtemp()
        n = args.callgrind
        print("instructions per echoed message under callgrind ((Ir(2N) - Ir(N)) / N, N = %d, "
              "10 connections, 1 in flight):" % n)
        print()
        print("| server | instructions per message |")
        print("|---|---|")
        for name, py, env in servers:
            per = (callgrind_ir(py, env, 2 * n, args, tmp) - callgrind_ir(py, env, n, args, tmp)) / n
            print("| %s | %s |" % (name, format(int(per), ",")), flush=True)
        print()
        if not idles:
            return
    table = {}
    for r in range(args.rounds):
        for name, py, env in servers:
            for k in idles:
                res = run(py, env, k, args)
                res.update(server=name, idle=k, round=r)
                print(json.dumps(res), flush=True)
                table.setdefault((name, k), []).append(res)
    ver = subprocess.run([args.ours, "-V"], capture_output=True, text=True).stdout.strip()
    print()
    print("%s; messages/s (server CPU µs per message), median of %d round(s); "
          "idle set-up time in the last column" % (ver, args.rounds))
    print()
    print("| server | " + " | ".join("%d idle" % k for k in idles) + " | %d idle / 0 idle | set-up of %d idle (s) |" % (idles[-1], idles[-1]))
    print("|---|" + "---|" * (len(idles) + 2))
    for name, _, _ in servers:
        cells = []
        rates = {}
        for k in idles:
            runs = table[(name, k)]
            rate = statistics.median(x["msgs_per_s"] for x in runs)
            cpu = statistics.median((x.get("server_cpu_us_per_msg") or float("nan")) for x in runs)
            rates[k] = rate
            cells.append("%s (%.1f)" % (format(int(rate), ","), cpu))
        ratio = rates[idles[-1]] / rates[idles[0]] if rates[idles[0]] else float("nan")
        setup = statistics.median(x["idle_setup_s"] for x in table[(name, idles[-1])])
        print("| %s | %s | %.2fx | %.1f |" % (name, " | ".join(cells), ratio, setup))


if __name__ == "__main__":
    sys.exit(main())
