#!/usr/bin/env python3
"""`asyncore http` against nginx (one worker) with wrk: server CPU per request.

Serves the same files from both: a 1 KiB file with keep-alive and with 16
requests pipelined per connection (wrk + pipeline.lua), and a 1 MiB file
(MB/s, CPU per MB; nginx with sendfile on). The server is pinned to CPU 0,
wrk to CPU 1; server CPU is utime+stime from /proc/PID/stat (nginx: the
master and its worker). Each figure is the median of ROUNDS runs.

    cargo build --release --bin asyncore
    python3 bench/http/bench.py [--rounds 3] [--secs 5] [--bin target/release/asyncore]

Needs wrk and nginx (nginx-light) on PATH; prints a Markdown table.
"""
import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TCK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, limit=10.0):
    end = time.time() + limit
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"nothing listens on {port}")


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def cpu_secs(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TCK


def wrk(url, secs, conns, script=None):
    cmd = ["taskset", "-c", "1", "wrk", "-t1", f"-c{conns}", f"-d{secs}s"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    n = int(re.search(r"(\d+) requests in", out).group(1))
    if "Non-2xx" in out or "Socket errors" in out:
        sys.exit(f"wrk saw errors:\n{out}")
    return n, out


class Server:
    def __init__(self, name, argv, port):
        self.name, self.port = name, port
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(port)
        time.sleep(0.2)

    def pids(self):
        return [self.proc.pid] + children(self.proc.pid)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def nginx(work, root, sendfile):
    port = free_port()
    conf = os.path.join(work, f"nginx-{sendfile}.conf")
    with open(conf, "w") as f:
        f.write(f"""
worker_processes 1;
daemon off;
master_process on;
pid {work}/nginx-{sendfile}.pid;
error_log {work}/nginx-error.log;
user root;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    open_file_cache max=1000 inactive=60s;
    open_file_cache_valid 60s;
    sendfile {sendfile};
    keepalive_requests 100000000;
    keepalive_timeout 60s;
    default_type application/octet-stream;
    server {{ listen 127.0.0.1:{port}; root {root}; }}
}}
""")
    argv = ["taskset", "-c", "0", "nginx", "-c", conf, "-p", work]
    return Server(f"nginx (sendfile {sendfile})", argv, port)


def asyncore(binary, root, cache=True):
    port = free_port()
    argv = ["taskset", "-c", "0", binary, "-q", "http", "--listen", f"127.0.0.1:{port}",
            "--root", root, "--keep-alive-timeout", "60"]
    if not cache:
        argv.append("--no-cache")
    return Server("asyncore http" + ("" if cache else " --no-cache"), argv, port)


def measure(server, path, secs, conns, script=None):
    pids = server.pids()
    before = cpu_secs(pids)
    n, out = wrk(f"http://127.0.0.1:{server.port}{path}", secs, conns, script)
    cpu = cpu_secs(pids) - before
    return {"n": n, "rps": n / secs, "cpu_us": cpu / n * 1e6, "cpu": cpu}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--secs", type=int, default=5)
    ap.add_argument("--conns", type=int, default=50)
    ap.add_argument("--only", default="", help="run the scenarios whose name contains this")
    target = os.environ.get("CARGO_TARGET_DIR", "target")
    ap.add_argument("--bin", default=os.path.join(target, "release", "asyncore"))
    args = ap.parse_args()
    for tool in ("wrk", "nginx", "taskset"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is required")
    work = tempfile.mkdtemp(prefix="asyncore-http-bench-")
    os.chmod(work, 0o755)
    root = os.path.join(work, "root")
    os.mkdir(root)
    with open(os.path.join(root, "k.bin"), "wb") as f:
        f.write(os.urandom(1024))
    with open(os.path.join(root, "m.bin"), "wb") as f:
        f.write(os.urandom(1 << 20))
    pipeline = os.path.join(HERE, "pipeline.lua")
    scenarios = [
        ("1 KiB, keep-alive", "/k.bin", args.conns, None),
        ("1 KiB, 16 pipelined", "/k.bin", args.conns, pipeline),
        ("1 MiB, keep-alive", "/m.bin", 4, None),
    ]
    scenarios = [sc for sc in scenarios if args.only in sc[0]]
    results = {}
    for _ in range(args.rounds):
        for sname, path, conns, script in scenarios:
            makers = [lambda: asyncore(args.bin, root), lambda: nginx(work, root, "off")]
            if path == "/k.bin":
                makers.insert(1, lambda: asyncore(args.bin, root, cache=False))
            if path == "/m.bin":
                makers.append(lambda: nginx(work, root, "on"))
            for make in makers:
                s = make()
                try:
                    measure(s, path, 1, conns, script)  # warm-up
                    r = measure(s, path, args.secs, conns, script)
                finally:
                    s.stop()
                results.setdefault((sname, s.name), []).append(r)
    print(f"| scenario | server | requests/s | server CPU µs/request | MB/s | server CPU ms/MB |")
    print("|---|---|---|---|---|---|")
    for (sname, server), rs in results.items():
        rps = statistics.median(r["rps"] for r in rs)
        cpu = statistics.median(r["cpu_us"] for r in rs)
        if sname.startswith("1 MiB"):
            mbs = rps * (1 << 20) / 1e6
            print(f"| {sname} | {server} | {rps:,.0f} | {cpu:.0f} | {mbs:,.0f} | {cpu / 1.048576 / 1000:.3f} |")
        else:
            print(f"| {sname} | {server} | {rps:,.0f} | {cpu:.2f} | | |")
    print()
    print("rounds:", args.rounds, "secs:", args.secs, "per-round CPU µs/request:")
    for (sname, server), rs in results.items():
        print(f"  {sname} / {server}: " + ", ".join(f"{r['cpu_us']:.2f}" for r in rs))
    # The servers of one round ran back to back, under the same background
    # load: their ratio, round by round, is steadier than a ratio of medians.
    print()
    print("asyncore http / nginx, CPU per request, round by round (median):")
    for sname, _, _, _ in scenarios:
        ours = results.get((sname, "asyncore http"), [])
        for peer in ("nginx (sendfile off)", "nginx (sendfile on)"):
            theirs = results.get((sname, peer), [])
            if not ours or not theirs:
                continue
            ratios = [a["cpu_us"] / b["cpu_us"] for a, b in zip(ours, theirs)]
            print(f"  {sname} vs {peer}: " + ", ".join(f"{r:.2f}" for r in ratios)
                  + f" ({statistics.median(ratios):.2f})")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
