#!/usr/bin/env python3
"""Load generator for `portolan serve` on loopback (issue 7's performance goals).

Starts the release binary on SQLite (a temp file) and, with --postgres, on a PostgreSQL 15
server it starts itself (initdb/pg_ctl, as the `postgres` user when run as root), pushes a
spec with a 10,000-port project, then measures:

  allocations: ALLOCS POST /api/v1/allocate from CONCURRENCY keep-alive connections
               -> allocations/s, p50/p99 latency, duplicates (must be 0), all present in
               GET /bindings
  reads:       GET /api/v1/projects for SECONDS from READERS processes (or wrk, when
               installed, which is lighter than Python on a 2-core machine) -> req/s

Goals: >= 1,000 allocations/s with p99 < 50 ms and zero duplicates; reads >= 10,000 req/s.
The load generator runs on the same machine as the server and competes for its cores.

usage: bench/serve.py [--postgres] [--allocs 2000] [--concurrency 64] [--seconds 10]
"""

import argparse
import http.client
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BIN = os.environ.get("PORTOLAN_BIN", os.path.join(TARGET, "release", "portolan"))
PG = "/usr/lib/postgresql/15/bin"

SPEC = """
[hosts.app1]
environment = "production"

[projects.load]
range = "10000-19999"

[projects.other]
range = "30000-30099"
blocks = { api = "30000-30009" }
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start_postgres(tmp):
    as_root = os.geteuid() == 0
    pre = ["runuser", "-u", "postgres", "--"] if as_root else []
    if as_root:
        shutil.chown(tmp, "postgres", "postgres")
    data, port = os.path.join(tmp, "data"), free_port()
    subprocess.run(pre + [f"{PG}/initdb", "-D", data, "-U", "postgres", "--auth=trust",
                          "-E", "UTF8", "--no-sync"], check=True, capture_output=True)
    # durable settings (fsync on): the numbers are those of a real deployment
    opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {tmp} -c max_connections=100"
    subprocess.run(pre + [f"{PG}/pg_ctl", "-D", data, "-l", os.path.join(tmp, "log"),
                          "-o", opts, "-w", "start"], check=True, capture_output=True)
    stop = lambda: subprocess.run(pre + [f"{PG}/pg_ctl", "-D", data, "-m", "immediate", "stop"],
                                  capture_output=True)
    return f"postgres://postgres@127.0.0.1:{port}/postgres", stop


def serve(db, cwd):
    tok = subprocess.run([BIN, "token", "create", "--role", "admin", "--db", db],
                         check=True, capture_output=True, text=True, cwd=cwd).stdout.strip()
    p = subprocess.Popen([BIN, "serve", "--db", db, "--listen", "127.0.0.1:0",
                          "--rate-limit", "0", "-q"], stdout=subprocess.PIPE, cwd=cwd, text=True)
    line = p.stdout.readline()
    url = next(w for w in line.split() if w.startswith("http://"))
    host, port = url[len("http://"):].split(":")
    return p, host, int(port), tok


def request(conn, method, path, tok, body=None, ctype="application/json"):
    headers = {"Authorization": f"Bearer {tok}"}
    if body is not None:
        headers["Content-Type"] = ctype
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    return r.status, r.read()


def pct(sorted_values, p):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


def bench_allocs(host, port, tok, total, concurrency):
    lat, got, errors = [], [], []
    lock = threading.Lock()
    counter = iter(range(total))

    def worker():
        conn = http.client.HTTPConnection(host, port, timeout=60)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            body = json.dumps({"project": "load", "name": f"svc-{i}"})
            t = time.perf_counter()
            status, data = request(conn, "POST", "/api/v1/allocate", tok, body)
            dt = time.perf_counter() - t
            with lock:
                lat.append(dt)
                if status == 201:
                    got.append((f"svc-{i}", json.loads(data)["lo"]))
                else:
                    errors.append((status, data[:200]))

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.perf_counter() - t0
    lat.sort()
    conn = http.client.HTTPConnection(host, port, timeout=60)
    _, data = request(conn, "GET", "/api/v1/bindings", tok)
    listed = {(b["service"], b["lo"]) for b in json.loads(data)}
    ports = [p for _, p in got]
    return {
        "allocations": len(got),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "seconds": round(secs, 2),
        "per_second": round(len(got) / secs, 1),
        "p50_ms": round(pct(lat, 0.50) * 1000, 2),
        "p99_ms": round(pct(lat, 0.99) * 1000, 2),
        "duplicates": len(ports) - len(set(ports)),
        "missing_from_bindings": sum(1 for g in got if g not in listed),
    }


def reader(args):
    host, port, tok, seconds = args
    conn = http.client.HTTPConnection(host, port, timeout=30)
    n, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        status, _ = request(conn, "GET", "/api/v1/projects", tok)
        if status == 200:
            n += 1
    return n


def bench_reads(host, port, tok, seconds, readers):
    if shutil.which("wrk"):
        script = os.path.join(tempfile.mkdtemp(), "auth.lua")
        with open(script, "w") as f:
            f.write(f'wrk.headers["Authorization"] = "Bearer {tok}"\n')
        out = subprocess.run(["wrk", "-t2", "-c64", f"-d{seconds}s", "-s", script, "--latency",
                              f"http://{host}:{port}/api/v1/projects"],
                             capture_output=True, text=True).stdout
        rps = next((float(l.split()[1]) for l in out.splitlines() if l.startswith("Requests/sec")), 0)
        p99 = next((l.split()[1] for l in out.splitlines() if l.strip().startswith("99%")), "?")
        return {"client": "wrk -t2 -c64", "per_second": round(rps), "p99": p99}
    with multiprocessing.Pool(readers) as pool:
        counts = pool.map(reader, [(host, port, tok, seconds)] * readers)
    return {"client": f"python, {readers} processes", "per_second": round(sum(counts) / seconds)}


def run(name, db, cwd, a):
    proc, host, port, tok = serve(db, cwd)
    try:
        conn = http.client.HTTPConnection(host, port, timeout=60)
        status, data = request(conn, "PUT", "/api/v1/spec", tok, SPEC, "application/toml")
        assert status == 200, data
        allocs = bench_allocs(host, port, tok, a.allocs, a.concurrency)
        reads = bench_reads(host, port, tok, a.seconds, a.readers)
        result = {"backend": name, "alloc": allocs, "reads": reads}
        print(json.dumps(result, indent=2), flush=True)
        return result
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--postgres", action="store_true", help="also run on PostgreSQL 15")
    ap.add_argument("--allocs", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--readers", type=int, default=4)
    a = ap.parse_args()
    if not os.path.exists(BIN):
        sys.exit(f"{BIN} missing: cargo build --release -p portolan")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        results = [run("sqlite", f"sqlite://{tmp}/bench.db", tmp, a)]
        if a.postgres:
            pgdir = tempfile.mkdtemp()
            url, stop = start_postgres(pgdir)
            try:
                results.append(run("postgres", url, tmp, a))
            finally:
                stop()
                shutil.rmtree(pgdir, ignore_errors=True)
    for r in results:
        al = r["alloc"]
        ok &= al["duplicates"] == 0 and al["missing_from_bindings"] == 0 and al["errors"] == 0
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
