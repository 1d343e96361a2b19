#!/usr/bin/env python3
"""Firewall evaluation benchmark (issues 12 and 16): portolan reading and evaluating large
deployed rulesets, side by side with the anchors that parse the same file —
`iptables-restore --test` and `nft -c -f` (each in a fresh network namespace, so nothing is
committed anywhere) — and with the evaluator's plain walk over every rule (the reference the
port index is tested against).

Each dump is generated at N/4, N/2 and N rules (default N = 40,000): rules over varied ports,
ranges and multiport lists, sources and CIDRs, accepts and drops, and user chains entered by
`jump` from the base chain (so the evaluator follows calls and returns) — and once more with
every rule in the base chain (`iptables-one-chain`). Every command runs
RUNS times (default 5) after a warm-up, interleaved across commands and sizes, and the median
is printed with its ratio to the anchor at the same size and its growth per doubling.

    bench/firewall.py                 # iptables (user chains, one chain) and nftables, N = 40000
    N=80000 RUNS=3 PORTS=2000 bench/firewall.py nft

Goals (printed): each portolan command at most x2.3 per doubling and at most 2 s at N; the
indexed evaluator gives the same answers as the plain walk (checksums compared).
Must run as root (the anchors need CAP_NET_ADMIN; `unshare -n` gives them a scratch netns).
"""

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "firewall"
N = int(os.environ.get("N", "40000"))
RUNS = int(os.environ.get("RUNS", "5"))
PORTS = int(os.environ.get("PORTS", "5000"))  # ports asked of the evaluator (indexed/plain rows)

SPEC = """\
[networks]
lan = "10.0.0.0/8"
[hosts.fw]
addresses = ["192.0.2.10"]
networks = ["public", "lan"]
firewall = "{kind}"
[services.api]
hosts = ["fw"]
bindings.http = { port = 8080, app = "http", exposure = "lan", auth = true }
[services.ssh]
hosts = ["fw"]
privileged = true
bindings.ssh = { port = 22, app = "ssh", exposure = "lan" }
[services.web]
hosts = ["fw"]
privileged = true
bindings.https = { port = 443, app = "https", tls = "native", exposure = "public" }
[services.metrics]
hosts = ["fw"]
bindings.prom = { port = 9100, app = "http", exposure = "internal" }
[[expect]]
from = "internet"
to = "api.http"
reach = false
"""


def shapes(n, blocks=True):
    """The rules, format-neutral: (chain, source, ports, verdict, comment). With `blocks`, every
    2000 rules sit in a user chain entered by a jump for one port range; without, they are all
    in the base chain (the shape where a plain walk tries every rule for every port)."""
    chain = "INPUT"
    for i in range(n):
        if blocks and i % 2000 == 0:
            # a user chain for the next 2000 rules, entered for one port range
            chain = f"blk{i // 2000}"
            lo = 1024 + (i // 2000) * 1500 % 60000
            yield ("INPUT", None, ("range", lo, lo + 1499), ("jump", chain), f"block {i // 2000}")
        src = f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
        if i % 7 == 0:
            src = f"172.{16 + i % 16}.{i >> 8 & 255}.0/24"
        port = 1024 + (i * 7919) % 64000
        if i % 5 == 0:
            ports = ("list", sorted({port, 1024 + (port + 11) % 64000, 1024 + (port + 23) % 64000}))
        elif i % 11 == 0:
            ports = ("range", port, min(port + 20, 65535))
        else:
            ports = ("one", port)
        verdict = "drop" if i % 13 == 0 else "accept"
        yield (chain, src, ports, verdict, f"rule {i}")
        if blocks and i % 2000 == 1999:
            yield (chain, None, None, "return", f"end of block {i // 2000}")


def gen_iptables(n, path, blocks=True):
    lines = ["*filter", ":INPUT DROP [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]"]
    chains = sorted({c for c, *_ in shapes(n, blocks) if c != "INPUT"}, key=lambda c: int(c[3:]))
    lines += [f":{c} - [0:0]" for c in chains]
    lines.append("-A INPUT -i lo -j ACCEPT")
    lines.append("-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
    for chain, src, ports, verdict, comment in shapes(n, blocks):
        r = f"-A {chain}"
        if src:
            r += f" -s {src}"
        if ports:
            r += " -p tcp"
            if ports[0] == "one":
                r += f" -m tcp --dport {ports[1]}"
            elif ports[0] == "range":
                r += f" -m tcp --dport {ports[1]}:{ports[2]}"
            else:
                r += " -m multiport --dports " + ",".join(map(str, ports[1]))
        r += f' -m comment --comment "{comment}"'
        if isinstance(verdict, tuple):
            r += f" -j {verdict[1]}"
        else:
            r += {"accept": " -j ACCEPT", "drop": " -j DROP", "return": " -j RETURN"}[verdict]
        lines.append(r)
    lines.append("-A INPUT -p tcp -m tcp --dport 22 -s 10.0.0.0/8 -j ACCEPT")
    lines.append("COMMIT")
    path.write_text("\n".join(lines) + "\n")


def gen_nft(n, path):
    by_chain = {}
    for chain, src, ports, verdict, comment in shapes(n):
        by_chain.setdefault(chain, []).append((src, ports, verdict, comment))
    out = ["table inet filter {"]
    for chain in sorted(by_chain, key=lambda c: (c != "INPUT", c[3:].zfill(8))):
        out.append(f"\tchain {chain.lower() if chain == 'INPUT' else chain} {{")
        if chain == "INPUT":
            out.append("\t\ttype filter hook input priority filter; policy drop;")
            out.append('\t\tiif "lo" accept')
            out.append("\t\tct state established,related accept")
        for src, ports, verdict, comment in by_chain[chain]:
            r = "\t\t"
            if src:
                r += f"ip saddr {src} "
            if ports:
                if ports[0] == "one":
                    r += f"tcp dport {ports[1]} "
                elif ports[0] == "range":
                    r += f"tcp dport {ports[1]}-{ports[2]} "
                else:
                    r += "tcp dport { " + ", ".join(map(str, ports[1])) + " } "
            r += f"jump {verdict[1]}" if isinstance(verdict, tuple) else verdict
            r += f' comment "{comment}"'
            out.append(r)
        if chain == "INPUT":
            out.append("\t\tip saddr 10.0.0.0/8 tcp dport 22 accept")
        out.append("\t}")
    out.append("}")
    path.write_text("\n".join(out) + "\n")


def run(cmd, stdin=None):
    """Seconds (wall, or the evaluator's own `eval_s` when it reports one) and stdout; exits
    with the command's stderr when it fails."""
    t = time.perf_counter()
    p = subprocess.run(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t
    if p.returncode > 1:
        raise SystemExit(f"FAILED ({p.returncode}): {' '.join(map(str, cmd))}\n{p.stderr.decode()[:600]}")
    out = p.stdout.decode()
    for word in out.split():
        if word.startswith("eval_s="):
            dt = float(word[len("eval_s="):])
    return dt, out


def main():
    if os.geteuid() != 0:
        raise SystemExit("run as root: the anchors (iptables-restore --test, nft -c) need CAP_NET_ADMIN")
    which = sys.argv[1] if len(sys.argv) > 1 else ""
    OUT.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "portolan"], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "portolan-firewall", "--example", "evaluate"],
                   cwd=ROOT, check=True)
    bin_ = ROOT / "target" / "release" / "portolan"
    ev = ROOT / "target" / "release" / "examples" / "evaluate"
    sizes = [N // 4, N // 2, N]
    kinds = {
        "iptables": (gen_iptables, "iptables-save", lambda f: ["unshare", "-n", "iptables-restore", "--test", str(f)],
                     "iptables-restore --test"),
        "iptables-one-chain": (lambda n, p: gen_iptables(n, p, blocks=False), "iptables-save",
                               lambda f: ["unshare", "-n", "iptables-restore", "--test", str(f)],
                               "iptables-restore --test"),
        "nftables": (gen_nft, "nft", lambda f: ["unshare", "-n", "nft", "-c", "-f", str(f)], "nft -c -f"),
    }
    ok = True
    for kind, (gen, ext, anchor, anchor_name) in kinds.items():
        if which and which not in kind:
            continue
        spec = OUT / f"{kind}.spec.toml"
        tool = kind.split("-")[0]
        spec.write_text(SPEC.replace("{kind}", tool))
        files = {}
        for n in sizes:
            files[n] = OUT / f"{kind}-{n}.{ext}"
            gen(n, files[n])
        rows = [
            (anchor_name + "  [anchor]", anchor),
            ("portolan check --firewall", lambda f: [bin_, "--spec", spec, "check", "--host", "fw", "--firewall",
                                                    tool, "--from", f, "--format", "json"]),
            # the default output (rustc-style text with snippets), what a person runs
            ("portolan check --firewall (text)", lambda f: [bin_, "--spec", spec, "check", "--host", "fw",
                                                           "--firewall", tool, "--from", f]),
            ("portolan why (through the dump)", lambda f: [bin_, "--spec", spec, "why", "api.http", "--host", "fw",
                                                           "--firewall", tool, "--ruleset", f]),
            (f"evaluate {PORTS} ports, indexed (no parse)", lambda f: [ev, tool, f, "indexed", str(PORTS)]),
            (f"evaluate {PORTS} ports, plain walk", lambda f: [ev, tool, f, "plain", str(PORTS)]),
        ]
        # the two evaluators must agree
        for n in sizes:
            a = run([ev, tool, files[n], "indexed", str(PORTS)])[1].splitlines()[0]
            b = run([ev, tool, files[n], "plain", str(PORTS)])[1].splitlines()[0]
            if a != b:
                print(f"MISMATCH at {n}: indexed {a} / plain {b}")
                ok = False
        for _, mk in rows:  # warm-up
            for n in sizes:
                run(mk(files[n]))
        samples = {(r, n): [] for r, _ in rows for n in sizes}
        for _ in range(RUNS):
            for r, mk in rows:
                for n in sizes:
                    samples[(r, n)].append(run(mk(files[n]))[0])
        med = {k: statistics.median(v) for k, v in samples.items()}
        rules = run([ev, tool, files[N], "indexed", "1"])[1].split()[0]
        print(f"\n{kind}: {ext} dumps, {rules} at N (median of {RUNS}, interleaved)")
        print(f"{'command':<40} {'N/4 s':>8} {'N/2 s':>8} {'N s':>8}  {'vs anchor at N':>14}  growth per doubling")
        for r, _ in rows:
            t = [med[(r, n)] for n in sizes]
            g1, g2 = t[1] / max(t[0], 1e-4), t[2] / max(t[1], 1e-4)
            ratio = t[2] / med[(rows[0][0], N)]
            verdict = ""
            if r.startswith("portolan"):
                good = g2 <= 2.3 and t[2] <= 2.0
                ok &= good
                verdict = "ok" if good else "GOAL-NOT-MET"
            print(f"{r:<40} {t[0]:8.3f} {t[1]:8.3f} {t[2]:8.3f}  {ratio:13.2f}x  x{g1:.2f} x{g2:.2f} {verdict}")
        ix = med[(rows[4][0], N)]
        pl = med[(rows[5][0], N)]
        print(f"index speed-up at N: plain walk / indexed = {pl / ix:.1f}x")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
