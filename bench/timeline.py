#!/usr/bin/env python3
"""Cost of the dashboard host page's timeline against the size of the host's history.

Starts `portolan serve` (PORTOLAN_BIN, default target/release/portolan) on a SQLite temp
file for each history size, pushes a one-host spec, has an agent report 40 listeners and
then deltas that close 5 and open 5 each (10 events a report) until the host's history
holds EVENTS events, logs into the dashboard, and times (median of --rounds) the host page:
its first page of the timeline, one port's timeline, and the oldest page (`?before=` a
small cursor). Prints milliseconds and the growth against the first size (the anchor):
the first page reads the whole retained history, so it should grow about linearly.

usage: bench/timeline.py [--rounds 5] [EVENTS ...]   (default 1000 10000 100000)
"""

import argparse
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BIN = os.environ.get("PORTOLAN_BIN", os.path.join(TARGET, "release", "portolan"))
SPEC = '[hosts.app1]\nenvironment = "production"\n'
LISTENERS = 40
CHURN = 5


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listener(port, pid):
    return {"transport": "tcp", "addr": "0.0.0.0", "port": port, "inode": pid, "uid": 0,
            "owners": [{"pid": pid, "name": f"svc{port}", "cmdline": f"svc{port}", "user": "app"}]}


class Conn:
    def __init__(self, port, token=None):
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.token = token
        self.cookies = {}

    def send(self, method, path, body=None, ctype=None, extra=None):
        headers = dict(extra or {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if ctype:
            headers["Content-Type"] = ctype
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.c.request(method, path, body=body, headers=headers)
        r = self.c.getresponse()
        data = r.read().decode()
        for v in r.headers.get_all("Set-Cookie") or []:
            k, _, rest = v.partition("=")
            self.cookies[k] = rest.split(";")[0]
        return r.status, data


def run_size(events, rounds):
    tmp = tempfile.mkdtemp(prefix="portolan-timeline-")
    db = f"sqlite://{tmp}/p.db"
    token = subprocess.run([BIN, "token", "create", "--role", "admin", "--label", "bench", "--db", db],
                           check=True, capture_output=True, text=True).stdout.strip()
    port = free_port()
    serve = subprocess.Popen([BIN, "serve", "--db", db, "--listen", f"127.0.0.1:{port}",
                              "--rate-limit", "0", "--history-retention", "forever", "-q"],
                             stdout=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                if Conn(port).send("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.05)
        api = Conn(port, token)
        status, body = api.send("PUT", "/api/v1/spec", SPEC, "application/toml", {"If-Match": "*"})
        assert status == 200, body
        reports = max(1, (events - LISTENERS) // (2 * CHURN))
        t0 = int(time.time()) - reports - 10
        live = list(range(20000, 20000 + LISTENERS))
        spare = list(range(21000, 21000 + LISTENERS))
        status, body = api.send("POST", "/api/v1/reports", json.dumps(
            {"host": "app1", "agent": "bench", "seq": 1, "at": t0,
             "listeners": [listener(p, p) for p in live]}), "application/json")
        assert status == 200, body
        for seq in range(2, reports + 2):
            closing, live = live[:CHURN], live[CHURN:]
            opening, spare = spare[:CHURN], spare[CHURN:]
            live += opening
            spare += closing
            status, body = api.send("POST", "/api/v1/reports", json.dumps(
                {"host": "app1", "agent": "bench", "seq": seq, "base": seq - 1, "at": t0 + seq,
                 "added": [listener(p, p + seq) for p in opening],
                 "removed": [{"transport": "tcp", "addr": "0.0.0.0", "port": p} for p in closing]}),
                "application/json")
            assert status == 200, body
        web = Conn(port)
        status, page = web.send("GET", "/login")
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        status, _ = web.send("POST", "/login", urllib.parse.urlencode({"csrf": csrf, "token": token}),
                             "application/x-www-form-urlencoded")
        assert status == 303, status
        status, page = web.send("GET", "/hosts/app1")
        assert status == 200 and 'class="interval' in page, status
        # the intervals of the history's first 200 events: settled early, read early
        oldest = "/hosts/app1?before=200"
        timings = {}
        for name, path in [("first page", "/hosts/app1"), ("one port", "/hosts/app1?port=20001"),
                           ("oldest page", oldest)]:
            samples = []
            for _ in range(rounds):
                start = time.perf_counter()
                status, page = web.send("GET", path)
                samples.append((time.perf_counter() - start) * 1000)
                assert status == 200, (path, status)
            timings[name] = statistics.median(samples)
        return LISTENERS + reports * 2 * CHURN, timings
    finally:
        serve.terminate()
        serve.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("events", type=int, nargs="*", default=[1000, 10000, 100000])
    args = ap.parse_args()
    print(f"binary: {BIN}; load average {os.getloadavg()[0]:.1f}")
    anchor = None
    print(f"{'events':>8} | {'first page':>16} | {'one port':>16} | {'oldest page':>16}")
    for events in args.events:
        n, t = run_size(events, args.rounds)
        anchor = anchor or t
        cells = [f"{t[k]:8.1f} ms x{t[k] / anchor[k]:5.1f}" for k in ("first page", "one port", "oldest page")]
        print(f"{n:>8} | " + " | ".join(cells), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
