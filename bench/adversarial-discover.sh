#!/usr/bin/env bash
# Growth of `portolan discover` on the hostile inputs of issue 12 that used to take
# super-linear time: one Dockerfile `EXPOSE` with N ports, one Kubernetes Service with N
# ports, a compose file with N published ports in one flow sequence, and an nginx file with
# N servers. Each input is timed at N and 2N (median of RUNS, interleaved) and the growth
# factor printed: linear work doubles (×2.0); the goal is ≤ ×2.3 per doubling and ≤ 2 s at
# the sizes of the issue (EXPOSE 40,000; Service 100,000).
#   bench/adversarial-discover.sh            # RUNS=5
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
cargo build --release -q -p portolan
BIN=$PWD/target/release/portolan
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
gen() { # kind n dir
  mkdir -p "$3"
  python3 - "$1" "$2" "$3" <<'PY'
import sys
kind, n, d = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if kind == "expose":
    open(f"{d}/Dockerfile", "w").write("FROM scratch\nEXPOSE " + " ".join(str(1 + i % 65535) for i in range(n)) + "\n")
elif kind == "service":
    with open(f"{d}/svc.yaml", "w") as f:
        f.write("apiVersion: v1\nkind: Service\nmetadata: {name: big}\nspec:\n  ports:\n")
        for i in range(n):
            f.write(f"    - port: {1 + i % 65535}\n")
elif kind == "compose":
    ports = ", ".join(f'"{1 + i % 65535}:80"' for i in range(n))
    open(f"{d}/docker-compose.yml", "w").write(f"services:\n  web:\n    ports: [{ports}]\n")
elif kind == "nginx":
    with open(f"{d}/nginx.conf", "w") as f:
        f.write("http {\n")
        for i in range(n):
            f.write(f"  server {{ listen {1 + i % 65535}; location / {{ proxy_pass http://127.0.0.1:{1 + (i * 7) % 65535}; }} }}\n")
        f.write("}\n")
PY
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# prints "cpu wall" seconds of one run
run() {
  python3 - "$BIN" "$1" <<'PY'
import os, subprocess, sys, time
t = time.monotonic()
subprocess.run([sys.argv[1], "discover", sys.argv[2], "-q", "--json"], stdout=subprocess.DEVNULL, check=True)
w = time.monotonic() - t
u = os.times()
print(f"{u.children_user + u.children_system:.3f} {w:.3f}")
PY
}
printf '| input | N | CPU s at N | CPU s at 2N | growth | wall s at N / 2N |\n|---|---|---|---|---|---|\n'
for spec in expose:40000 service:100000 compose:40000 nginx:20000; do
  kind=${spec%%:*}; n=${spec##*:}
  gen "$kind" "$n" "$OUT/$kind-1"; gen "$kind" $((2 * n)) "$OUT/$kind-2"
  a=(); b=(); wa=(); wb=()
  for _ in $(seq "$RUNS"); do
    read -r c w < <(run "$OUT/$kind-1"); a+=("$c"); wa+=("$w")
    read -r c w < <(run "$OUT/$kind-2"); b+=("$c"); wb+=("$w")
  done
  ma=$(printf '%s\n' "${a[@]}" | median); mb=$(printf '%s\n' "${b[@]}" | median)
  mwa=$(printf '%s\n' "${wa[@]}" | median); mwb=$(printf '%s\n' "${wb[@]}" | median)
  printf '| %s | %s | %.3f | %.3f | ×%.2f | %.2f / %.2f |\n' "$kind" "$n" "$ma" "$mb" "$(echo "$mb / $ma" | bc -l)" "$mwa" "$mwb"
done
