#!/usr/bin/env python3
"""Benchmark: `portolan probe 127.0.0.1:1-65535` vs `nmap -sT -p- -T5 -n 127.0.0.1` with
1,250 listeners open on loopback (opened by this script). Prints median wall times over RUNS,
the ratio against nmap, and whether both report exactly the same open ports.
usage: bench/probe.py [LISTENERS] [RUNS]    (needs nmap: apt-get install nmap)"""
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1250
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
BIN = os.environ.get("PORTOLAN_BIN", "target/release/portolan")
socks = []
while len(socks) < N:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    socks.append(s)
expected = {s.getsockname()[1] for s in socks}


def timed(cmd):
    t = []
    for _ in range(RUNS):
        a = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t.append(time.perf_counter() - a)
    return statistics.median(t)


pt = timed([BIN, "probe", "127.0.0.1:1-65535", "-q"])
nt = timed(["nmap", "-sT", "-p-", "-T5", "-n", "127.0.0.1"])
p = {r["port"] for r in json.loads(subprocess.run([BIN, "probe", "127.0.0.1:1-65535", "--json"], capture_output=True, text=True).stdout) if r["state"] == "open"}
n = set(int(m) for m in re.findall(r"(\d+)/open/tcp", subprocess.run(["nmap", "-sT", "-p-", "-T5", "-n", "127.0.0.1", "-oG", "-"], capture_output=True, text=True).stdout))
print(f"portolan probe  {pt * 1000:8.1f} ms")
print(f"nmap -sT -T5    {nt * 1000:8.1f} ms")
print(f"ratio portolan/nmap: {pt / nt:.2f} (goal <= 0.4)")
print(f"open ports: portolan {len(p)}, nmap {len(n)}, identical: {p == n}, all {N} of ours found: {expected <= p}")
if p != n:
    print("only portolan:", sorted(p - n)[:10], "only nmap:", sorted(n - p)[:10])
