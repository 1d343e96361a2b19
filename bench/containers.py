#!/usr/bin/env python3
"""Benchmark: what the container source costs `portolan ls -p`, with N running containers.

Starts its own dockerd (Debian's docker.io, vfs storage, data root, exec root, pidfile and
socket in a temp dir) inside a network namespace of its own, imports a busybox-static image
(never pulled), runs N containers each publishing one port to a busybox httpd, then times,
interleaved (one round = each command once, in turn), inside that namespace:

  ss -tulpn                          the anchor
  portolan ls -p --no-containers     sockets and owners only
  portolan ls -p                     plus the container source (Engine API list, the
                                     containers' namespaces, the merge)

and prints the median of each, the ratio against ss, and the container source's cost (the
difference of the two portolan medians; goal: <= 20 ms at N = 50). It also checks that every
publication docker reports is in `ls --json`. Tears everything down at the end.

usage (root): bench/containers.py [N] [ROUNDS]     PORTOLAN_BIN=target/release/portolan
"""
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 50
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 21
BIN = os.path.abspath(os.environ.get("PORTOLAN_BIN", "target/release/portolan"))
NS = f"ptbench{os.getpid()}"
IMAGE = "localhost/ptl-busybox:1"


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def main():
    if os.geteuid() != 0:
        sys.exit("run as root (network namespaces, dockerd)")
    d = tempfile.mkdtemp(prefix="ptb", dir="/tmp")
    sock = f"{d}/docker.sock"
    env = dict(os.environ, DOCKER_HOST=f"unix://{sock}")
    sh("ip", "netns", "add", NS)
    sh("ip", "-n", NS, "link", "set", "lo", "up")
    log = open(f"{d}/dockerd.log", "w")
    daemon = subprocess.Popen(
        ["nsenter", f"--net=/var/run/netns/{NS}", "dockerd", "--storage-driver", "vfs",
         "--log-level", "warn", "--data-root", f"{d}/data", "--exec-root", f"{d}/exec",
         "--pidfile", f"{d}/docker.pid", "-H", f"unix://{sock}"],
        stdout=log, stderr=log)
    try:
        run(d, env)
    finally:
        ids = subprocess.run(["docker", "ps", "-aq"], env=env, capture_output=True,
                             text=True).stdout.split()
        if ids:
            subprocess.run(["docker", "rm", "-f", *ids], env=env, capture_output=True)
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)
        shutil.rmtree(d, ignore_errors=True)


def run(d, env):
    for _ in range(300):
        if subprocess.run(["docker", "version"], env=env, capture_output=True).returncode == 0:
            break
        time.sleep(0.2)
    else:
        sys.exit(open(f"{d}/dockerd.log").read())
    root = f"{d}/rootfs"
    os.makedirs(f"{root}/bin")
    os.makedirs(f"{root}/www")
    shutil.copy("/bin/busybox", f"{root}/bin/busybox")
    for applet in ("sh", "httpd"):
        os.symlink("busybox", f"{root}/bin/{applet}")
    tar = subprocess.Popen(["tar", "-C", root, "-c", "."], stdout=subprocess.PIPE)
    subprocess.run(["docker", "import", "-", IMAGE], stdin=tar.stdout, env=env, check=True,
                   capture_output=True)
    t0 = time.time()
    for i in range(N):
        sh("docker", "run", "-d", "--name", f"c{i:03d}",
           "--label", "com.docker.compose.project=bench",
           "--label", f"com.docker.compose.service=s{i:03d}",
           "-p", f"{20000 + i}:80", IMAGE, "httpd", "-f", "-h", "/www", "-p", "80", env=env)
    print(f"{N} containers started in {time.time() - t0:.1f} s")
    enter = ["nsenter", f"--net=/var/run/netns/{NS}"]
    cmds = {
        "ss -tulpn": enter + ["ss", "-tulpn"],
        "portolan ls -p --no-containers": enter + [BIN, "ls", "-p", "--no-containers"],
        "portolan ls -p": enter + [BIN, "ls", "-p"],
    }
    times = {k: [] for k in cmds}
    for k, c in cmds.items():  # warm-up
        subprocess.run(c, env=env, capture_output=True)
    for _ in range(ROUNDS):
        for k, c in cmds.items():
            a = time.perf_counter()
            r = subprocess.run(c, env=env, capture_output=True)
            times[k].append(time.perf_counter() - a)
            assert r.returncode == 0, r.stderr
    med = {k: statistics.median(v) for k, v in times.items()}
    if os.environ.get("BENCH_CPU"):
        for k, c in cmds.items():
            cpu = []
            for _ in range(ROUNDS):
                r = subprocess.run(["/usr/bin/time", "-f", "%U %S", *c], env=env, capture_output=True, text=True)
                u, s = r.stderr.strip().splitlines()[-1].split()
                cpu.append(float(u) + float(s))
            print(f"  cpu {k:<28} {statistics.median(cpu) * 1000:7.1f} ms (user+sys, median)")
    anchor = med["ss -tulpn"]
    print(f"median of {ROUNDS} interleaved rounds, {N} running containers "
          f"({2 * N} published sockets):")
    for k, v in med.items():
        print(f"  {k:<32} {v * 1000:7.1f} ms   ratio vs ss {v / anchor:5.2f}")
    cost = med["portolan ls -p"] - med["portolan ls -p --no-containers"]
    print(f"  container source: +{cost * 1000:.1f} ms (goal <= 20 ms): "
          f"{'met' if cost <= 0.020 else 'NOT met'}")
    # every publication docker reports is in ls --json
    out = subprocess.run(enter + [BIN, "ls", "--json"], env=env, capture_output=True,
                         text=True).stdout
    got = {(l["addr"], l["port"]) for l in json.loads(out)
           if (l.get("container") or {}).get("published")}
    ids = sh("docker", "ps", "-q", env=env).stdout.split()
    want = set()
    for c in json.loads(sh("docker", "inspect", *ids, env=env).stdout):
        for binds in (c["NetworkSettings"]["Ports"] or {}).values():
            for b in binds or []:
                want.add((b["HostIp"] or "0.0.0.0", int(b["HostPort"])))
    print(f"publications: docker {len(want)}, portolan {len(got)}, identical: {got == want}")


if __name__ == "__main__":
    main()
