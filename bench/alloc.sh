#!/usr/bin/env bash
# Benchmark of `portolan alloc` on the 100,000-service spec (issue: allocation).
# Prints the median wall time and peak RSS of: a dry run and a writing alloc with a fresh
# allocation cache, and one without (the first alloc after any other change to the spec).
# Goal: under 200 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-7}
OUT=bench/out
mkdir -p "$OUT"
cargo build --release -q -p portolan
BIN=$PWD/target/release/portolan
[ -f "$OUT/spec-100000.toml" ] || python3 bench/gen_spec.py 100000 "$OUT/spec-100000.toml"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$OUT/spec-100000.toml" "$work/ports.toml"
printf '\n[projects.bench]\nrange = "62000-64000"\n' >> "$work/ports.toml"
cd "$work"
n=0
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
run() { # label, command...
  local label=$1; shift
  local ts=() rss=0
  for i in $(seq "$RUNS"); do
    [ "$label" = "alloc, no cache" ] && rm -f .ports.toml.alloc-cache
    n=$((n + 1))
    /usr/bin/time -f "%e %M" -o t.txt "$@" --name "svc$n" >/dev/null 2>&1 || { echo "alloc failed: $*" >&2; exit 1; }
    read -r t m < t.txt; ts+=("$t"); if (( m > rss )); then rss=$m; fi
  done
  printf '%-22s median %5s s   peak RSS %4d MB\n' "$label" "$(printf '%s\n' "${ts[@]}" | median)" $((rss / 1024))
}
"$BIN" alloc bench --name warmup --print >/dev/null   # builds the cache
run "dry run, cached" "$BIN" alloc bench --print --dry-run
run "alloc, cached" "$BIN" alloc bench --print
run "alloc, no cache" "$BIN" alloc bench --print
"$BIN" lint -qq --fail-on never && echo "spec still lints (exit 0)"
