#!/usr/bin/env python3
"""Generates a synthetic ports.toml: N services over H hosts and P projects.

Deterministic (seeded). Shaped like real specs: every service has one or two bindings, a
project with a range and blocks, hosts in two environments with networks and firewalls, some
Docker-published ports, some routes and flows, and a few deliberate mistakes so every rule
has work to do.

usage: gen_spec.py SERVICES HOSTS PROJECTS OUT
"""
import random
import sys


def main() -> None:
    services, hosts, projects, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    rnd = random.Random(42)
    w = []
    w.append('[spec]\nname = "synthetic benchmark"\n')
    w.append('[networks]\nlan = "10.0.0.0/8"\nvpn = "172.31.0.0/16"\nadmin = "192.168.100.0/24"\n')
    for h in range(hosts):
        env = "production" if h % 2 else "staging"
        a, b = divmod(h, 250)
        fw = '"ufw"' if h % 3 else '{ kind = "iptables", rules = [{ action = "allow", port = 22, from = "admin" }, { action = "allow", port = "10000-60000", from = "lan" }] }'
        w.append(f'[hosts.h{h:04}]\nenvironment = "{env}"\naddresses = ["10.{a}.{b}.1"]\nnetworks = ["lan"{", " + chr(34) + "public" + chr(34) if h % 10 == 0 else ""}]\nfirewall = {fw}\n')
    # each project gets a range large enough for its share of services (ports may repeat on
    # different hosts, so ranges are smaller than the service count)
    per = max(1, services // projects)
    width = max(20, per // max(1, hosts // 50) + 20)
    base = 10000
    for p in range(projects):
        lo = base + p * width
        hi = lo + width - 1
        mid = lo + width // 2
        w.append(f'[projects.p{p:03}]\nrange = "{lo}-{hi}"\nblocks = {{ api = "{lo}-{mid - 1}", web = "{mid}-{hi}" }}\n')
    apps = ["http", "http", "grpc", "postgres", "redis", "http", "https"]
    for s in range(services):
        p = s % projects
        lo = base + p * width
        port = lo + (s // projects) % width
        host = rnd.randrange(hosts)
        app = apps[s % len(apps)]
        bind = rnd.choice(["127.0.0.1", "0.0.0.0", "0.0.0.0", "::"])
        exposure = rnd.choice(["localhost", "lan", "internal", "vpn"])
        pub = ', publisher = "docker", target = 8080' if s % 13 == 0 else ""
        auth = ", auth = true" if s % 4 else ""
        w.append(
            f'[services.s{s:06}]\nproject = "p{p:03}"\npurpose = "synthetic service {s}"\nhosts = ["h{host:04}"]\n'
            f'bindings.main = {{ port = {port}, bind = "{bind}", app = "{app}", exposure = "{exposure}"{pub}{auth} }}\n'
        )
        if s % 5 == 0:
            w.append(f'bindings.metrics = {{ port = {port + 1 if port + 1 <= lo + width - 1 else lo}, bind = "127.0.0.1", app = "prometheus", exposure = "localhost" }}\n')
    for r in range(0, services, 100):
        w.append(f'[[routes]]\nfrom = "s{r:06}.main"\nto = "s{(r + 1) % services:06}.main"\n')
    for f in range(0, services, 50):
        w.append(f'[[flows]]\nfrom = "s{f:06}"\nto = "*.example.com:443"\n')
    with open(out, "w") as fh:
        fh.write("\n".join(w))


if __name__ == "__main__":
    main()
