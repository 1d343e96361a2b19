#!/usr/bin/env bash
# Benchmark of `portolan discover` against ripgrep on the same tree (issue: discovery).
#   bench/discover.sh              # 100,000 files (~250 MB), 5 runs each, warm cache
#   FILES=20000 bench/discover.sh
# Both read the same files (rg is given the globs discover reads, --hidden for .env files)
# and look for the same idioms; rg only matches lines, discover parses every format.
# Prints the median wall times and the ratio discover/rg (issue 15's goal: <= 1.0; GOAL=2 for
# the bench's earlier goal).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
GOAL=${GOAL:-1.0}
FILES=${FILES:-100000}
OUT=bench/out
TREE=$OUT/tree-$FILES
mkdir -p "$OUT"
command -v rg >/dev/null || { echo "needs ripgrep (apt-get install ripgrep)" >&2; exit 2; }
cargo build --release -q -p portolan
BIN=target/release/portolan
[ -d "$TREE" ] || python3 bench/gen_tree.py "$TREE" "$FILES"
GLOBS=(-g '*.py' -g '*.js' -g '*.ts' -g '*.go' -g '*.sh' -g 'package.json' -g '*compose*.yml'
       -g '.env' -g '*.conf' -g 'Dockerfile' -g '*.yaml' -g '*.yml' -g '*.socket' -g 'Procfile'
       -g 'application*.properties')
PATTERN='listen|ports:|_PORT=|EXPOSE|ListenAndServe|server\.port|app\.run|getenv\(.PORT|--bind|-p [0-9]|next dev|proxy_pass|containerPort|ListenStream|://[^/ ]*:[0-9]+|[0-9]+:[0-9]+'
rg_run() { rg --hidden -n --no-heading "${GLOBS[@]}" -e "$PATTERN" "$TREE" >/dev/null || true; }
pt_run() { "$BIN" discover "$TREE" -q >/dev/null; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }
rg_run; pt_run   # warm the page cache
rg_t=(); pt_t=()
for _ in $(seq "$RUNS"); do   # interleaved, so both see the same machine state
  s=$(now); rg_run; e=$(now); rg_t+=("$(echo "$e - $s" | bc)")
  s=$(now); pt_run; e=$(now); pt_t+=("$(echo "$e - $s" | bc)")
done
rg_m=$(printf '%s\n' "${rg_t[@]}" | median)
pt_m=$(printf '%s\n' "${pt_t[@]}" | median)
rg_lines=$(rg --hidden -n --no-heading "${GLOBS[@]}" -e "$PATTERN" "$TREE" | wc -l)
uses=$("$BIN" discover "$TREE" --json -q | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["uses"]), d["files_read"])')
printf '%-34s %10s\n' "tool ($FILES files)" "median s"
printf '%-34s %10.3f\n' "rg (lines matched: $rg_lines)" "$rg_m"
printf '%-34s %10.3f\n' "portolan discover (uses, files: $uses)" "$pt_m"
python3 - "$pt_m" "$rg_m" "$GOAL" <<'PY'
import sys
pt, rg, goal = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
r = pt / rg if rg else float("inf")
print(f"ratio discover/rg: {r:.2f} (goal <= {goal:g})")
print("goal met" if r <= goal else "GOAL NOT MET")
PY
