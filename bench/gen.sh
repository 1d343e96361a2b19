#!/usr/bin/env bash
# Benchmark of `portolan gen TARGET` on the 100,000-service synthetic spec (issue 5).
#   bench/gen.sh             # every target, 3 runs each after a warm-up
# Per-host targets render host h0001 (`--host h0001`). Prints median wall time and peak RSS
# per target (goal: each under 1 s). Needs python3 and GNU time; builds the release binary.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
OUT=bench/out
SPEC=$OUT/spec-100000.toml
mkdir -p "$OUT"
cargo build --release -q -p portolan
BIN=target/release/portolan
[ -x /usr/bin/time ] || { echo "needs GNU time (apt-get install time)" >&2; exit 2; }
[ -f "$SPEC" ] || python3 bench/gen_spec.py 100000 "$SPEC"
per_host=" nftables iptables ip6tables ufw compose nginx "
targets=$("$BIN" gen --help | awk '/Possible values:/ {p=1; next} p && /^ *- / {sub(/^ *- /, ""); sub(/:.*/, ""); print} p && /^$/ {exit}')
[ -n "$targets" ] || targets="markdown nftables iptables ip6tables ufw compose nginx etc-services env prometheus mermaid"
printf '%-14s %10s %12s %10s\n' target "median s" "peak RSS MB" "output KB"
fail=0
for t in $targets; do
  args=(--spec "$SPEC" gen "$t")
  [[ $per_host == *" $t "* ]] && args+=(--host h0001)
  "$BIN" "${args[@]}" >"$OUT/gen-$t.out" 2>/dev/null || true   # warm-up
  times=() rss=0
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$BIN" "${args[@]}" >"$OUT/gen-$t.out" 2>/dev/null || true
    read -r s m < "$OUT/time.txt"
    times+=("$s"); (( m > rss )) && rss=$m
  done
  median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  printf '%-14s %10s %12s %10s\n' "$t" "$median" "$((rss / 1024))" "$(( $(stat -c %s "$OUT/gen-$t.out") / 1024 ))"
  awk -v m="$median" 'BEGIN {exit !(m >= 1.0)}' && fail=1
done
[ "$fail" = 0 ] && echo "goal met (every target under 1 s)" || echo "GOAL NOT MET"
