#!/usr/bin/env python3
"""Load generator for `portolan serve` on loopback (issues 7 and 15's performance goals).

Starts the release binary on SQLite (a temp file) and, with --postgres, on a PostgreSQL 15
server it starts itself (initdb/pg_ctl, as the `postgres` user when run as root; durable
settings, fsync on), pushes a spec, then measures:

  allocations: ALLOCS POST /api/v1/allocate from CONCURRENCY keep-alive connections
               -> allocations/s, p50/p99 latency, duplicates (must be 0), all present in
               GET /bindings
  reads:       GET /api/v1/projects for SECONDS with wrk (-t2 -c64) when installed (lighter
               than Python on a 2-core machine), else READERS Python processes -> req/s

The spec: by default a realistic large one from bench/gen_spec.py (--services, --hosts,
--projects: 10,000 services on 200 hosts in 1,000 projects) plus a `load` project with
room for the allocations; --small keeps the old two-project spec.

With --baseline BIN, the baseline binary and PORTOLAN_BIN run interleaved (--rounds
times each, fresh database every run) and the medians are printed side by side with the
ratio subject/baseline. The load average is printed with every run.

Goals: >= 2,000 allocations/s with p99 < 50 ms at 64 in flight and zero duplicates; reads
>= 10,000 req/s with 1,000 projects — on SQLite and PostgreSQL. The load generator runs on
the same machine as the server and competes for its cores.

usage: bench/serve.py [--postgres] [--allocs 2000] [--concurrency 64] [--seconds 10]
                      [--services N --hosts N --projects N | --small]
                      [--baseline BIN --rounds 3]
"""

import argparse
import http.client
import statistics
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import pgserver  # bench/pgserver.py, beside this script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BIN = os.environ.get("PORTOLAN_BIN", os.path.join(TARGET, "release", "portolan"))

SPEC = """
[hosts.app1]
environment = "production"

[projects.load]
range = "10000-19999"

[projects.other]
range = "30000-30099"
blocks = { api = "30000-30009" }
"""


def large_spec(a):
    """A realistic spec from gen_spec.py plus a `load` project the allocations draw from
    (above the generated ranges, below the Linux ephemeral range)."""
    out = os.path.join(tempfile.mkdtemp(), "large.toml")
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gen_spec.py"),
                    "--hosts", str(a.hosts), "--projects", str(a.projects), str(a.services), out], check=True)
    with open(out) as f:
        text = f.read()
    text += '\n[hosts.app1]\nenvironment = "production"\n\n' \
            '[projects.load]\nrange = "20000-32767"\n'
    return text


def serve(bin_, db, cwd):
    tok = subprocess.run([bin_, "token", "create", "--role", "admin", "--db", db],
                         check=True, capture_output=True, text=True, cwd=cwd).stdout.strip()
    p = subprocess.Popen([bin_, "serve", "--db", db, "--listen", "127.0.0.1:0",
                          "--rate-limit", "0", "--max-body", str(256 << 20), "-q"],
                         stdout=subprocess.PIPE, cwd=cwd, text=True)
    line = p.stdout.readline()
    url = next(w for w in line.split() if w.startswith("http://"))
    host, port = url[len("http://"):].split(":")
    return p, host, int(port), tok


def request(conn, method, path, tok, body=None, ctype="application/json", extra=None):
    headers = {"Authorization": f"Bearer {tok}", **(extra or {})}
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
            body = json.dumps({"project": "load", "name": f"svc-{i}", "host": "app1"})
            t = time.perf_counter()
            status, data = request(conn, "POST", "/api/v1/allocate", tok, body)
            dt = time.perf_counter() - t
            with lock:
                lat.append(dt)
                if status == 201:
                    got.append((f"svc-{i}", json.loads(data)["lo"]))
                else:
                    errors.append((status, data[:200].decode(errors="replace")))

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
        return {"client": "wrk -t2 -c64", "per_second": round(rps), "p99": p99,
                "errors": sum(int(x) for l in out.splitlines() if "Non-2xx" in l for x in l.split()[-1:])}
    with multiprocessing.Pool(readers) as pool:
        counts = pool.map(reader, [(host, port, tok, seconds)] * readers)
    return {"client": f"python, {readers} processes", "per_second": round(sum(counts) / seconds)}


def load_average():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run(label, bin_, name, db, cwd, a, spec):
    proc, host, port, tok = serve(bin_, db, cwd)
    try:
        conn = http.client.HTTPConnection(host, port, timeout=600)
        t = time.perf_counter()
        status, data = request(conn, "PUT", "/api/v1/spec", tok, spec.encode(), "application/toml",
                               {"If-Match": "*"})  # replace whatever a fresh registry holds
        assert status == 200, data
        push = round(time.perf_counter() - t, 2)
        load = load_average()
        # one warm-up read: the first may build caches
        request(conn, "GET", "/api/v1/projects", tok)
        reads = bench_reads(host, port, tok, a.seconds, a.readers)
        allocs = bench_allocs(host, port, tok, a.allocs, a.concurrency)
        result = {"binary": label, "backend": name, "push_s": push, "alloc": allocs,
                  "reads": reads, "loadavg": f"{load} -> {load_average()}"}
        print(json.dumps(result), flush=True)
        return result
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def database(name, tmp, pg, n):
    if name == "sqlite":
        return f"sqlite://{tmp}/bench-{n}.db"
    url, admin = pg
    subprocess.run(admin + ["-c", f"CREATE DATABASE bench{n}"], check=True, capture_output=True)
    return url.rsplit("/", 1)[0] + f"/bench{n}"


def summary(results):
    med = lambda xs: statistics.median(xs) if xs else float("nan")
    return {
        "alloc_per_s": med([r["alloc"]["per_second"] for r in results]),
        "p99_ms": med([r["alloc"]["p99_ms"] for r in results]),
        "reads_per_s": med([r["reads"]["per_second"] for r in results]),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--postgres", action="store_true", help="also run on PostgreSQL 15")
    ap.add_argument("--allocs", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--readers", type=int, default=4)
    ap.add_argument("--services", type=int, default=10000)
    ap.add_argument("--hosts", type=int, default=200)
    ap.add_argument("--projects", type=int, default=1000)
    ap.add_argument("--small", action="store_true", help="the old two-project spec")
    ap.add_argument("--baseline", help="a second binary, run interleaved as the anchor")
    ap.add_argument("--rounds", type=int, default=1)
    a = ap.parse_args()
    for b in [BIN] + ([a.baseline] if a.baseline else []):
        if not os.path.exists(b):
            sys.exit(f"{b} missing: cargo build --release -p portolan")
    spec = SPEC if a.small else large_spec(a)
    binaries = ([("baseline", a.baseline)] if a.baseline else []) + [("subject", BIN)]
    print(f"# spec: {'small' if a.small else f'{a.services} services, {a.hosts} hosts, {a.projects} projects'}"
          f" ({len(spec) // 1024} KiB); load average {load_average()}", flush=True)
    ok = True
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        engines = [("sqlite", None)]
        pgdir = None
        if a.postgres:
            pgdir = tempfile.mkdtemp()
            port, psql, _, stop = pgserver.start(pgdir)
            url = f"postgres://postgres@127.0.0.1:{port}/postgres"
            admin = psql + ["-d", "postgres"]
            engines.append(("postgres", (url, admin)))
        try:
            n = 0
            for _ in range(a.rounds):
                for engine, pg in engines:
                    for label, bin_ in binaries:
                        n += 1
                        r = run(label, bin_, engine, database(engine, tmp, pg, n), tmp, a, spec)
                        results.setdefault((engine, label), []).append(r)
                        al = r["alloc"]
                        ok &= al["duplicates"] == 0 and al["missing_from_bindings"] == 0 and al["errors"] == 0
        finally:
            if pgdir:
                stop()
                shutil.rmtree(pgdir, ignore_errors=True)
    for engine, _ in engines:
        subject = summary(results[(engine, "subject")])
        line = f"{engine:8} subject: {subject['alloc_per_s']:.0f} allocs/s, p99 {subject['p99_ms']:.1f} ms, " \
               f"{subject['reads_per_s']:.0f} reads/s"
        if a.baseline:
            base = summary(results[(engine, "baseline")])
            line += f" | baseline: {base['alloc_per_s']:.0f} allocs/s, p99 {base['p99_ms']:.1f} ms, " \
                    f"{base['reads_per_s']:.0f} reads/s | ratio subject/baseline: " \
                    f"allocs {subject['alloc_per_s'] / base['alloc_per_s']:.2f}x, " \
                    f"p99 {subject['p99_ms'] / base['p99_ms']:.2f}x, " \
                    f"reads {subject['reads_per_s'] / max(1, base['reads_per_s']):.2f}x"
        print(line)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
