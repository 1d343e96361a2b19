#!/usr/bin/env python3
"""Fleet benchmark for `portolan serve` (issue 18's performance goals).

Simulates HOSTS agents with LISTENERS listeners each, reporting every INTERVAL seconds for
MINUTES simulated minutes, with CHURN of the fleet changing per interval, against the
release binary on SQLite (a temp file) and on a PostgreSQL 15 cluster the script starts
itself (initdb/pg_ctl from /usr/lib/postgresql/15/bin, as the `postgres` user when run as
root; durable settings, fsync on) — each backend reported separately.

The agents speak the real report protocol (`POST /api/v1/reports`, as
crates/portolan/src/commands/agent.rs does): report 1 of an agent instance carries every
listener; each later one is a delta (`base` = the last acknowledged `seq`, `added` = opened
or changed listeners whole, `removed` = closed listeners' keys); a 409 makes the agent start
a new instance with a full report (counted: none are expected). Reports carry the
simulated observation time `at` (the simulated window ends a minute before the run starts,
so no report is dated ahead of the server's clock): the history's timeline is the simulated
one, 30 s apart.

Time is compressed: the reports of each simulated interval are sent in interval order,
spread evenly over INTERVAL/SPEED seconds (open loop, so a slow answer does not slow the
schedule down; `--speed 0` sends them as fast as CONCURRENCY connections allow). A host's
next report waits for its previous answer, like a real agent.

The spec pushed first: HOSTS hosts (`f0000`…); six fleet-wide services bound on every host
(sshd 22, node-exporter 9100, rpcbind 111, chronyd 323/udp on loopback, systemd-resolved
53/udp+tcp on 127.0.0.53); app services, each deployed on 50 hosts, 28 per host. So an
agent's 40 listeners are 34 declared ones plus 6 undeclared (loopback debug ports and a
dynamic port), i.e. every host carries some drift.

Churn (`--churn 0.01 --churn-of hosts`): each interval, 1 % of the hosts see one change —
half an app restart (same socket, new pid: one `changed` event), half an undeclared
listener moving to another port (one `closed` + one `opened` event). `--churn-of listeners`
makes 1 % of all listeners change per interval instead (2,000 changes per interval at
5,000 × 40) — the database growth is also extrapolated to that reading from the measured
bytes per event.

Measured, per backend:
  push       PUT /api/v1/spec of the fleet spec (seconds)
  initial    every agent's first (full) report, as fast as CONCURRENCY allows
  ingest     the INTERVALS of deltas: p50/p99/max latency (send to answer), achieved rate
             against the real-time rate (HOSTS/INTERVAL per second), how late the schedule
             ran, 409s and errors
  cpu        `serve`'s CPU (utime+stime from /proc/PID/stat) during the deltas, in cores and
             ms per report; PostgreSQL's (the postmaster's and its backends', exited ones
             included through cutime/cstime) separately
  growth     database size right after the initial reports and after the deltas
             (SQLite: file + WAL after a checkpoint, and per table from dbstat; PostgreSQL:
             pg_database_size and pg_total_relation_size per table after a CHECKPOINT),
             extrapolated linearly to one simulated day: delta / simulated seconds * 86,400.
             The history's own share is also given from the events recorded (SQLite: the
             history_events table's and index's growth; PostgreSQL: the new rows' tuple
             bytes plus their share of the indexes, as its files grow in big steps) ->
             bytes per event, MiB per day
  dashboard  GET / (overview) and GET /hosts/f0042 after logging in with a read token:
             the first (cold) request and the median of 5
The load average is printed before and after each backend.

usage: bench/fleet.py [--backend sqlite|postgres|both] [--hosts 5000] [--listeners 40]
                      [--interval 30] [--minutes 10] [--churn 0.01] [--churn-of hosts]
                      [--speed 3] [--concurrency 32] [--tokens 50] [--json FILE]
"""

import argparse
import http.client
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

import pgserver  # bench/pgserver.py, beside this script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BIN = os.environ.get("PORTOLAN_BIN", os.path.join(TARGET, "release", "portolan"))
TICK = os.sysconf("SC_CLK_TCK")

# (service, transport, addr, port, process, user, cmdline): declared on every host
FLEET = [
    ("sshd", "tcp", "0.0.0.0", 22, "sshd", "root", "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"),
    ("node-exporter", "tcp", "0.0.0.0", 9100, "node_exporter", "prometheus",
     "/usr/bin/node_exporter --collector.systemd --web.listen-address=:9100"),
    ("rpcbind", "tcp", "0.0.0.0", 111, "rpcbind", "_rpc", "/sbin/rpcbind -f -w"),
    ("chronyd", "udp", "127.0.0.1", 323, "chronyd", "_chrony", "/usr/sbin/chronyd -F 1"),
    ("resolved", "udp", "127.0.0.53", 53, "systemd-resolve", "systemd-resolve", "/lib/systemd/systemd-resolved"),
    ("resolved", "tcp", "127.0.0.53", 53, "systemd-resolve", "systemd-resolve", "/lib/systemd/systemd-resolved"),
]
APPS_PER_HOST = 28
HOSTS_PER_APP = 50
UNDECLARED = 6


def host_name(h):
    return f"f{h:04}"


def app_port(group, k):
    return 8000 + (group % 4) * 50 + k


def fleet_spec(hosts):
    """The spec: hosts, fleet-wide services, app services on 50 hosts each."""
    w = ['[spec]\nname = "fleet benchmark"\ndescription = "generated by bench/fleet.py"\n',
         '[projects.apps]\nrange = "8000-8999"\nowner = "platform"\n']
    for h in range(hosts):
        a, b = divmod(h, 250)
        env = "production" if h % 4 else "staging"
        w.append(f'[hosts.{host_name(h)}]\nenvironment = "{env}"\naddresses = ["10.{a}.{b}.10"]\n')
    everyone = ", ".join(f'"{host_name(h)}"' for h in range(hosts))
    by_service = {}
    for name, transport, addr, port, process, _user, _cmd in FLEET:
        by_service.setdefault(name, (process, []))[1].append((transport, addr, port))
    for name, (process, binds) in by_service.items():
        w.append(f'[services.{name}]\npurpose = "fleet-wide {name}"\nhosts = [{everyone}]\n'
                 f'process = "{process}"\n')
        for i, (transport, addr, port) in enumerate(binds):
            exposure = '"localhost"' if addr.startswith("127.") else '"lan"'
            w.append(f'bindings.b{i} = {{ port = {port}, transport = "{transport}", bind = "{addr}", '
                     f'exposure = {exposure} }}\n')
    groups = (hosts + HOSTS_PER_APP - 1) // HOSTS_PER_APP
    for g in range(groups):
        members = ", ".join(f'"{host_name(h)}"' for h in range(g * HOSTS_PER_APP, min(hosts, (g + 1) * HOSTS_PER_APP)))
        for k in range(APPS_PER_HOST):
            w.append(f'[services.app-{g:03}-{k:02}]\nproject = "apps"\npurpose = "app {k} of group {g}"\n'
                     f'hosts = [{members}]\nprocess = "java"\n'
                     f'bindings.http = {{ port = {app_port(g, k)}, bind = "0.0.0.0", app = "http", exposure = "lan" }}\n')
    return "\n".join(w)


def listener(transport, addr, port, pid, name, user, cmdline, rnd):
    return {"transport": transport, "addr": addr, "port": port, "inode": rnd.randrange(10**5, 10**8),
            "uid": 0 if user == "root" else 1000,
            "owners": [{"pid": pid, "name": name, "cmdline": cmdline, "user": user}]}


def key(l):
    return (l["transport"], l["addr"], l["port"])


class Agent:
    """One simulated agent: what it observes now and what the server acknowledged."""

    def __init__(self, h, listeners_per_host, rnd):
        self.h = h
        self.name = host_name(h)
        self.rnd = rnd
        self.lock = threading.Lock()
        self.current = {}
        g = h // HOSTS_PER_APP
        for _svc, transport, addr, port, process, user, cmd in FLEET:
            l = listener(transport, addr, port, rnd.randrange(300, 2000), process, user, cmd, rnd)
            self.current[key(l)] = l
        for k in range(APPS_PER_HOST):
            port = app_port(g, k)
            cmd = f"/usr/bin/java -Xmx2g -jar /srv/app-{g:03}-{k:02}/app.jar --server.port={port}"
            l = listener("tcp", "0.0.0.0", port, rnd.randrange(2000, 400000), "java", "app", cmd, rnd)
            self.current[key(l)] = l
        while len(self.current) < listeners_per_host:
            self.add_undeclared()
        self.agent_id = None
        self.seq = 0
        self.acked = None  # the listeners of the acknowledged report

    def add_undeclared(self):
        while True:
            port = self.rnd.randrange(30000, 48000)
            loopback = self.rnd.random() < 0.7
            addr = "127.0.0.1" if loopback else "0.0.0.0"
            if ("tcp", addr, port) not in self.current:
                break
        name = "java" if loopback else "python3"
        cmd = (f"/usr/bin/java -agentlib:jdwp=transport=dt_socket,server=y,address={port}" if loopback
               else f"python3 -m http.server {port}")
        l = listener("tcp", addr, port, self.rnd.randrange(2000, 400000), name, "app", cmd, self.rnd)
        self.current[key(l)] = l

    def churn(self):
        """One change: an app restart (new pid) or an undeclared listener moving."""
        if self.rnd.random() < 0.5:
            apps = [k for k, l in self.current.items() if 8000 <= l["port"] < 9000]
            k = self.rnd.choice(apps)
            l = json.loads(json.dumps(self.current[k]))
            l["owners"][0]["pid"] = self.rnd.randrange(2000, 400000)
            l["inode"] = self.rnd.randrange(10**5, 10**8)
            self.current[k] = l
        else:
            moving = [k for k, l in self.current.items() if l["port"] >= 30000]
            del self.current[self.rnd.choice(moving)]
            self.add_undeclared()

    def body(self, at):
        if self.acked is None:
            self.agent_id = "%032x" % self.rnd.getrandbits(128)
            self.seq = 1
            return {"host": self.name, "agent": self.agent_id, "seq": 1, "at": at,
                    "listeners": list(self.current.values())}
        added = [l for k, l in self.current.items() if self.acked.get(k) != l]
        removed = [{"transport": k[0], "addr": k[1], "port": k[2]} for k in self.acked if k not in self.current]
        return {"host": self.name, "agent": self.agent_id, "seq": self.seq + 1, "base": self.seq,
                "at": at, "added": added, "removed": removed}


def cpu_seconds(pid, children=False):
    """utime+stime of `pid` (and, with children, the reaped children's cutime+cstime)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICK


def postgres_cpu(postmaster):
    total = cpu_seconds(postmaster, children=True)
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == postmaster:
                total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def run_cli(args, cwd):
    return subprocess.run([BIN] + args, check=True, capture_output=True, text=True, cwd=cwd).stdout.strip()


def start_serve(db, cwd):
    p = subprocess.Popen([BIN, "serve", "--db", db, "--listen", "127.0.0.1:0",
                          "--max-body", str(64 << 20), "-q"],
                         stdout=subprocess.PIPE, cwd=cwd, text=True)
    line = p.stdout.readline()
    url = next(w for w in line.split() if w.startswith("http://"))
    host, port = url[len("http://"):].split(":")
    return p, host, int(port)


def request(conn, method, path, headers=None, body=None):
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    return r.status, r.getheaders(), r.read()


def pct(sorted_values, p):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


class Sender:
    """Sends reports from CONCURRENCY keep-alive connections; collects latencies."""

    def __init__(self, host, port, tokens, concurrency):
        self.host, self.port, self.tokens, self.concurrency = host, port, tokens, concurrency
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        """Forgets the statistics of earlier runs."""
        self.lat, self.late, self.errors, self.conflicts, self.sizes = [], [], [], [0], []
        self.secs = 0.0

    def run(self, items):
        """items: (scheduled offset in s or None, agent, churns, at); adds to the statistics
        (see stats) and returns them."""
        lat, late, errors, conflicts, sizes = self.lat, self.late, self.errors, self.conflicts, self.sizes
        it = iter(items)
        t0 = time.perf_counter()

        def worker(n):
            conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
            while True:
                with self.lock:
                    item = next(it, None)
                if item is None:
                    return
                when, agent, churns, at = item
                if when is not None:
                    delay = t0 + when - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                with agent.lock:
                    for _ in range(churns):
                        agent.churn()
                    while True:
                        body = json.dumps(agent.body(at)).encode()
                        tok = self.tokens[agent.h % len(self.tokens)]
                        start = time.perf_counter()
                        try:
                            status, _, data = request(conn, "POST", "/api/v1/reports", {
                                "Authorization": f"Bearer {tok}", "Content-Type": "application/json"}, body)
                        except (OSError, http.client.HTTPException) as e:
                            conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
                            status, data = 0, str(e).encode()
                        end = time.perf_counter()
                        with self.lock:
                            lat.append(end - start)
                            sizes.append(len(body))
                            if when is not None:
                                late.append(max(0.0, start - (t0 + when)))
                        if status == 200:
                            answer = json.loads(data)
                            agent.seq = answer["seq"]
                            agent.acked = dict(agent.current)
                            break
                        if status == 409 and agent.acked is not None:
                            # the server lost track: a new agent instance, a full report
                            with self.lock:
                                conflicts[0] += 1
                            agent.acked = None
                            continue
                        with self.lock:
                            errors.append((status, data[:300]))
                        break

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(self.concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.secs += time.perf_counter() - t0
        return self.stats()

    def stats(self):
        lat, late, sizes, errors = sorted(self.lat), sorted(self.late), self.sizes, self.errors
        secs, conflicts = self.secs, self.conflicts
        return {
            "reports": len(lat),
            "seconds": round(secs, 1),
            "per_second": round(len(lat) / secs, 1),
            "p50_ms": round(pct(lat, 0.50) * 1000, 1),
            "p99_ms": round(pct(lat, 0.99) * 1000, 1),
            "max_ms": round(lat[-1] * 1000, 1) if lat else None,
            "late_p99_ms": round(pct(late, 0.99) * 1000, 1) if late else None,
            "mean_body_bytes": round(statistics.mean(sizes)) if sizes else 0,
            "conflicts_409": conflicts[0],
            "errors": len(errors),
            "first_error": repr(errors[0]) if errors else None,
        }


def sqlite_size(path):
    """Sizes after a checkpoint: the file and WAL, each table and index (dbstat), events."""
    c = sqlite3.connect(path, timeout=60)
    try:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        tables = dict(c.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall())
        events = c.execute("SELECT COUNT(*) FROM history_events").fetchone()[0]
    finally:
        c.close()
    total = sum(os.path.getsize(path + s) for s in ("", "-wal") if os.path.exists(path + s))
    return total, tables, events, None, None


def postgres_size(psql, dbname, after_id=None):
    """Sizes; with after_id, also the bytes the events above that id take: their tuples
    (pg_column_size + 24-byte header + 4-byte line pointer) and their share of the indexes.
    (The file sizes alone under-count a short window: PostgreSQL extends a relation by many
    pages at once when several sessions insert, and the initial reports leave such pages.)"""
    def q(sql):
        return subprocess.run(psql + ["-d", dbname, "-c", sql], check=True, capture_output=True,
                              text=True).stdout.strip()
    q("CHECKPOINT")
    total = int(q("SELECT pg_database_size(current_database())"))
    rows = q("SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relkind = 'r' "
             "AND relnamespace = 'public'::regnamespace")
    tables = {n: int(s) for n, s in (l.split("|") for l in rows.splitlines() if l)}
    events = int(q("SELECT COUNT(*) FROM history_events"))
    last = int(q("SELECT COALESCE(MAX(id), 0) FROM history_events"))
    new_bytes = None
    if after_id is not None:
        new_bytes = float(q(
            "SELECT COALESCE(SUM(pg_column_size(e.*) + 28), 0) + COUNT(*) * "
            "(pg_indexes_size('history_events')::float8 / GREATEST(1, (SELECT COUNT(*) FROM history_events))) "
            f"FROM history_events e WHERE id > {after_id}"))
    return total, tables, events, last, new_bytes


def dashboard(host, port, token, page, times=5):
    conn = http.client.HTTPConnection(host, port, timeout=120)
    status, headers, body = request(conn, "GET", "/login")
    login_cookie = next(v.split(";")[0] for k, v in headers if k.lower() == "set-cookie")
    csrf = re.search(rb'name="csrf" value="([0-9a-f]+)"', body).group(1).decode()
    form = urllib.parse.urlencode({"csrf": csrf, "token": token})
    status, headers, body = request(conn, "POST", "/login", {
        "Cookie": login_cookie, "Content-Type": "application/x-www-form-urlencoded"}, form)
    session = next(v.split(";")[0] for k, v in headers
                   if k.lower() == "set-cookie" and v.startswith("portolan_session=") and "Max-Age=0" not in v)
    out = {}
    for name, path in page:
        took, size = [], 0
        for _ in range(times + 1):
            t = time.perf_counter()
            status, _, body = request(conn, "GET", path, {"Cookie": session})
            took.append(time.perf_counter() - t)
            assert status == 200, (path, status, body[:300])
            size = len(body)
        out[name] = {"cold_ms": round(took[0] * 1000), "median_ms": round(statistics.median(took[1:]) * 1000),
                     "kib": size // 1024}
    return out


def load_average():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def schedule(agents, a, sim_start, first, last):
    """The deltas of intervals first..last, each spread over interval/speed seconds."""
    n = len(agents)
    rnd = random.Random(7 + first)
    span = a.interval / a.speed if a.speed else 0
    for i in range(first, last + 1):
        churns = [0] * n
        changes = round(a.churn * (n if a.churn_of == "hosts" else n * a.listeners))
        if a.churn_of == "hosts":
            for h in rnd.sample(range(n), changes):
                churns[h] = 1
        else:
            for _ in range(changes):
                churns[rnd.randrange(n)] += 1
        at = sim_start + i * a.interval
        for h, agent in enumerate(agents):
            when = ((i - first) + h / n) * span if a.speed else None
            yield when, agent, churns[h], at


def run_backend(name, a, spec, tmp, pg):
    rnd = random.Random(42)
    if name == "sqlite":
        path = os.path.join(tmp, "fleet.db")
        db = f"sqlite://{path}"
    else:
        port, psql, postmaster, _ = pg
        subprocess.run(psql + ["-d", "postgres", "-c", "CREATE DATABASE fleet"], check=True, capture_output=True)
        db = f"postgres://postgres@127.0.0.1:{port}/fleet"
    admin = run_cli(["token", "create", "--role", "admin", "--label", "bench-admin", "--db", db], tmp)
    reader = run_cli(["token", "create", "--role", "read", "--label", "bench-dashboard", "--db", db], tmp)
    writers = [run_cli(["token", "create", "--role", "write", "--label", f"agents-{i}", "--db", db], tmp)
               for i in range(a.tokens)]
    proc, host, port_ = start_serve(db, tmp)
    result = {"backend": name, "load_before": load_average()}
    try:
        conn = http.client.HTTPConnection(host, port_, timeout=600)
        t = time.perf_counter()
        status, _, data = request(conn, "PUT", "/api/v1/spec", {
            "Authorization": f"Bearer {admin}", "Content-Type": "application/toml", "If-Match": "*"},
            spec.encode())
        assert status == 200, data[:500]
        result["push_s"] = round(time.perf_counter() - t, 1)
        agents = [Agent(h, a.listeners, rnd) for h in range(a.hosts)]
        sim_seconds = a.intervals * a.interval
        # the simulated window ends a minute before now: no report is dated in the future
        sim_start = int(time.time()) - sim_seconds - 60
        sender = Sender(host, port_, writers, a.concurrency)
        result["initial"] = sender.run([(None, ag, 0, sim_start) for ag in agents])
        if name == "sqlite":
            size = lambda _: sqlite_size(path)
        else:
            size = lambda after_id: postgres_size(pg[1], "fleet", after_id)
        before = size(None)
        cpu0 = cpu_seconds(proc.pid)
        pg0 = postgres_cpu(pg[2]) if name == "postgres" else 0
        wall0 = time.perf_counter()
        # in two halves, the sizes measured between them: tables whose rows are bounded by
        # the hosts (observations, findings, agents) level off, the history does not
        sender.reset()
        half = a.intervals // 2
        sender.run(schedule(agents, a, sim_start, 1, half))
        mid = size(before[3]) if half else before
        result["ingest"] = sender.run(schedule(agents, a, sim_start, half + 1, a.intervals))
        wall = time.perf_counter() - wall0
        cpu = cpu_seconds(proc.pid) - cpu0
        result["real_time_rate"] = round(a.hosts / a.interval, 1)
        result["cpu"] = {"serve_s": round(cpu, 1), "serve_cores": round(cpu / wall, 2),
                         "serve_ms_per_report": round(cpu * 1000 / result["ingest"]["reports"], 2),
                         "serve_cores_at_real_time": round(cpu / sim_seconds, 3)}
        if name == "postgres":
            pcpu = postgres_cpu(pg[2]) - pg0
            result["cpu"].update({"postgres_s": round(pcpu, 1), "postgres_cores": round(pcpu / wall, 2),
                                  "postgres_ms_per_report": round(pcpu * 1000 / result["ingest"]["reports"], 2)})
        after = size(before[3] if name == "postgres" else None)
        per_day = lambda d: round(d / sim_seconds * 86400 / 2**20, 1)
        tables = {t: after[1].get(t, 0) - before[1].get(t, 0) for t in sorted(set(after[1]) | set(before[1]))}
        events = after[2] - before[2]
        history = sum(v for t, v in tables.items() if t.startswith("history_events"))
        if name == "postgres":
            history = after[4]
        result["growth"] = {
            "simulated_s": sim_seconds,
            "size_before_mib": round(before[0] / 2**20, 1),
            "size_after_mib": round(after[0] / 2**20, 1),
            "delta_mib": round((after[0] - before[0]) / 2**20, 2),
            "mib_per_day": per_day(after[0] - before[0]),
            "events": events,
            "bytes_per_event": round(history / events) if events else None,
            "history_mib_per_day": per_day(history),
            "tables_mib_per_day": {t: per_day(v) for t, v in tables.items() if abs(v) >= 4096},
            "tables_kib_first_second_half": {
                t: [round((mid[1].get(t, 0) - before[1].get(t, 0)) / 1024),
                    round((after[1].get(t, 0) - mid[1].get(t, 0)) / 1024)]
                for t in sorted(after[1]) if abs(after[1].get(t, 0) - before[1].get(t, 0)) >= 4096},
        }
        # the other reading of "1 % churn": 1 % of all listeners per interval
        if events and a.churn_of == "hosts":
            per_change = events / (round(a.churn * a.hosts) * a.intervals)
            changes_per_day = a.churn * a.hosts * a.listeners * 86400 / a.interval
            result["growth"]["history_mib_per_day_if_1pct_of_listeners"] = round(
                changes_per_day * per_change * history / events / 2**20)
        result["dashboard"] = dashboard(host, port_, reader, [("overview", "/"), ("host", "/hosts/f0042")])
        result["load_after"] = load_average()
        return result
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--hosts", type=int, default=5000)
    ap.add_argument("--listeners", type=int, default=40)
    ap.add_argument("--interval", type=int, default=30)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--churn", type=float, default=0.01)
    ap.add_argument("--churn-of", choices=["hosts", "listeners"], default="hosts")
    ap.add_argument("--speed", type=float, default=3, help="time compression (0: as fast as possible)")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--tokens", type=int, default=50, help="write tokens the agents share")
    ap.add_argument("--json", help="also write the results here")
    a = ap.parse_args()
    a.intervals = max(1, round(a.minutes * 60 / a.interval))
    if a.listeners < len(FLEET) + APPS_PER_HOST + 2:
        sys.exit(f"--listeners: at least {len(FLEET) + APPS_PER_HOST + 2}")
    if not os.path.exists(BIN):
        sys.exit(f"{BIN} missing: cargo build --release -p portolan")
    spec = fleet_spec(a.hosts)
    print(f"# {a.hosts} agents x {a.listeners} listeners, every {a.interval} s for {a.intervals} intervals "
          f"({a.intervals * a.interval / 60:g} simulated min), churn {a.churn:.2%} of {a.churn_of} per interval, "
          f"speed {a.speed or 'max'}x, {a.concurrency} connections; spec {len(spec) // 1024} KiB; "
          f"load average {load_average()}", flush=True)
    backends = ["sqlite", "postgres"] if a.backend == "both" else [a.backend]
    results = []
    for name in backends:
        with tempfile.TemporaryDirectory() as tmp:
            pg = pgdir = None
            try:
                if name == "postgres":
                    # its own directory: the postgres user cannot enter root's 0700 one
                    pgdir = tempfile.mkdtemp()
                    pg = pgserver.start(pgdir)
                r = run_backend(name, a, spec, tmp, pg)
            finally:
                if pg:
                    pg[3]()
                if pgdir:
                    shutil.rmtree(pgdir, ignore_errors=True)
        print(json.dumps(r), flush=True)
        results.append(r)
    for r in results:
        i, g, d = r["ingest"], r["growth"], r["dashboard"]
        print(f"{r['backend']:8} ingest p50 {i['p50_ms']} ms p99 {i['p99_ms']} ms at {i['per_second']}/s "
              f"(real time {r['real_time_rate']}/s); serve {r['cpu']['serve_cores']} cores; "
              f"growth {g['mib_per_day']} MiB/day; overview {d['overview']['median_ms']} ms, "
              f"host page {d['host']['median_ms']} ms; load {r['load_before']} -> {r['load_after']}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"args": vars(a), "results": results}, f, indent=1)
    ok = all(r["ingest"]["errors"] == 0 for r in results)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
