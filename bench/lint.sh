#!/usr/bin/env bash
# Benchmark of `portolan lint` on synthetic specs (issue: foundation).
#   bench/lint.sh            # 10k and 100k services, 5 runs each after a warm-up
# Prints median wall time, peak RSS, and the 100k/10k ratio (goal: 100k < 1 s, < 300 MB,
# ratio <= 12). Needs python3 and GNU time (/usr/bin/time); builds the release binary.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
OUT=bench/out
mkdir -p "$OUT"
cargo build --release -q -p portolan
BIN=target/release/portolan
[ -x /usr/bin/time ] || { echo "needs GNU time (apt-get install time)" >&2; exit 2; }
gen() { [ -f "$OUT/spec-$1.toml" ] || python3 bench/gen_spec.py "$1" "$OUT/spec-$1.toml"; }
measure() { # spec -> "median_seconds peak_kb"
  local spec=$1 times=() rss=0
  "$BIN" --spec "$spec" lint --fail-on never -qq >/dev/null 2>&1 || true   # warm-up
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$BIN" --spec "$spec" lint --fail-on never -qq >/dev/null 2>&1 || true
    read -r t m < "$OUT/time.txt"
    times+=("$t"); (( m > rss )) && rss=$m
  done
  local median
  median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "$median $rss"
}
gen 10000; gen 100000
read -r t10 m10 < <(measure "$OUT/spec-10000.toml")
read -r t100 m100 < <(measure "$OUT/spec-100000.toml")
findings=$("$BIN" --spec "$OUT/spec-100000.toml" lint --fail-on never --format json | python3 -c 'import json,sys; s=json.load(sys.stdin)["summary"]; print(s["error"]+s["warning"]+s["info"])')
printf '%-28s %10s %12s\n' "spec" "median s" "peak RSS MB"
printf '%-28s %10s %12s\n' "10,000 services" "$t10" "$((m10 / 1024))"
printf '%-28s %10s %12s\n' "100,000 services" "$t100" "$((m100 / 1024))"
python3 - "$t10" "$t100" "$m100" "$findings" <<'PY'
import sys
t10, t100, m100, n = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
ratio = t100 / t10 if t10 else float("inf")
print(f"100k/10k time ratio: {ratio:.1f} (goal <= 12)   findings on 100k: {n}")
ok = t100 < 1.0 and m100 < 300 * 1024 and ratio <= 12
print("goal met" if ok else "GOAL NOT MET")
PY
