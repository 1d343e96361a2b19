#!/usr/bin/env python3
"""Benchmark: `portolan ls -p` vs `ss -tulpn` vs `lsof -nP -i` with 5,000 listening sockets.

Opens the sockets itself (loopback only), runs each tool RUNS times after a warm-up, prints
median wall times, the ratio against ss, and checks that portolan and ss report the same set
of (transport, address, port). usage: bench/ls.py [N] [RUNS]
"""
import re
import resource
import socket
import statistics
import subprocess
import sys
import time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 11
import os
BIN = os.environ.get("PORTOLAN_BIN", "target/release/portolan")

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, N + 1000)), hard))
socks = []
for i in range(N):
    fam, addr = [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")][i % 2]
    kind = socket.SOCK_STREAM if (i // 2) % 2 == 0 else socket.SOCK_DGRAM
    s = socket.socket(fam, kind)
    s.bind((addr, 0))
    if kind == socket.SOCK_STREAM:
        s.listen(1)
    socks.append(s)


def timed(cmd):
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t = []
    for _ in range(RUNS):
        a = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t.append(time.perf_counter() - a)
    return statistics.median(t)


def norm(addr):
    return addr.strip("[]").split("%")[0]


def ss_set():
    out = subprocess.run(["ss", "-tulpnH"], capture_output=True, text=True).stdout
    s = set()
    for line in out.splitlines():
        f = line.split()
        addr, _, port = f[4].rpartition(":")
        a = norm(addr)
        a = "0.0.0.0" if a == "*" else a
        s.add((f[0], a, int(port)))
    return s


def portolan_set():
    out = subprocess.run([BIN, "ls", "--json"], capture_output=True, text=True).stdout
    import json
    return {(r["transport"], r["addr"], r["port"]) for r in json.loads(out)}


tools = {
    "ss -tulpn": ["ss", "-tulpn"],
    "portolan ls -p": [BIN, "ls", "-p"],
    "portolan ls": [BIN, "ls"],
    "lsof -nP -i": ["lsof", "-nP", "-i"],
}
res = {k: timed(v) for k, v in tools.items()}
for k, v in res.items():
    print(f"{k:<16} {v * 1000:8.1f} ms   ratio vs ss {v / res['ss -tulpn']:.2f}")
a, b = ss_set(), portolan_set()
print(f"sockets: ss {len(a)}, portolan {len(b)}, identical: {a == b}")
if a != b:
    print("only ss:", sorted(a - b)[:10], "only portolan:", sorted(b - a)[:10])
