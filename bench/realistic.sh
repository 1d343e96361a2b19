#!/usr/bin/env bash
# Issue 15's goals on the realistic spec of bench/gen_spec.py (100k services, 150k bindings,
# 1,000 hosts with inline firewalls, 1,002 projects, routes, flows, v6, suppressions both
# ways, planted mistakes; 34 MB), plus the lint scaling table over SIZES.
#   bench/realistic.sh [ANCHOR_BINARY]
# Runs are interleaved: each round runs every command once, in turn, so a change of machine
# load hits all of them alike. Prints median wall time and peak RSS per command, and — with
# ANCHOR_BINARY (e.g. a build of an older commit) — the same for the anchor and the ratio
# new/anchor. Asserts nothing about time. Needs python3 and GNU time; builds the release
# binary. Env: RUNS (5), SIZES ("1000 10000 100000"; add 1000000 for the 1M row),
# ANCHOR_SKIP (commands not run with the anchor, default "human": 419 s at 100k before).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
SIZES=${SIZES:-1000 10000 100000}
ANCHOR=${1:-}
ANCHOR_SKIP=${ANCHOR_SKIP:-human}
OUT=bench/out
mkdir -p "$OUT"
${CARGO:-cargo} build --release -q -p portolan
BIN=$PWD/target/release/portolan
[ -x /usr/bin/time ] || { echo "needs GNU time (apt-get install time)" >&2; exit 2; }
spec() { local f="$OUT/r$1.toml"; [ -f "$f" ] || python3 bench/gen_spec.py "$1" "$f"; echo "$PWD/$f"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# command NAME for SIZE with binary B: prints the argument list
args() { # name spec
  case $1 in
    json) echo "--spec $2 lint --fail-on never --format json" ;;
    sarif) echo "--spec $2 lint --fail-on never --format sarif" ;;
    human) echo "--spec $2 lint --fail-on never --color never" ;;
    qq) echo "--spec $2 lint --fail-on never -qq" ;;
    exposure) echo "--spec $2 exposure --json" ;;
    markdown) echo "--spec $2 gen markdown" ;;
  esac
}
declare -A T M
once() { # key binary name spec
  local key=$1 bin=$2 name=$3 spec=$4 wall=0
  if [ "$name" = alloc ]; then
    # a writing alloc on a private copy (cache fresh: the common case)
    local n=$(( ${#T[$key]} + RANDOM ))
    (cd "$work/$(basename "$bin")" && /usr/bin/time -f "%e %M" -o "$work/t" "$bin" alloc bench --host h0000 --print --name "svc$n" >/dev/null 2>&1) \
      || { echo "alloc failed with $bin" >&2; exit 1; }
  else
    # shellcheck disable=SC2046
    local s0; s0=$(date +%s%N)
    /usr/bin/time -f "%e %M" -o "$work/t" "$bin" $(args "$name" "$spec") >/dev/null 2>&1 || true
    wall=$(( $(date +%s%N) - s0 ))
  fi
  # GNU time puts "Command exited with non-zero status N" first when the command fails
  grep -q "non-zero status" "$work/t" && echo "note: $name failed with $bin" >&2
  read -r t m < <(tail -n 1 "$work/t")
  # GNU time's wall clock has 10 ms steps: the lint scaling wants better at 1k services
  [ "$name" != alloc ] && t=$(awk -v ns="$wall" 'BEGIN { printf "%.3f", ns / 1e9 }')
  T[$key]="${T[$key]:-} $t"
  local prev=${M[$key]:-0}
  (( m > prev )) && M[$key]=$m || M[$key]=$prev
}
report() { # key label
  local med; med=$(printf '%s\n' ${T[$1]} | median)
  printf '%-44s %8s s %8d MB\n' "$2" "$med" $(( ${M[$1]} / 1024 ))
}

bins=("$BIN"); [ -n "$ANCHOR" ] && bins+=("$(realpath "$ANCHOR")")
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
big=$(spec 100000)
for b in "${bins[@]}"; do
  mkdir -p "$work/$(basename "$b")"
  cp "$big" "$work/$(basename "$b")/ports.toml"
  printf '\n[projects.bench]\nrange = "15000-17000"\n' >> "$work/$(basename "$b")/ports.toml"
  (cd "$work/$(basename "$b")" && "$b" alloc bench --host h0000 --name warmup --print >/dev/null 2>&1) || true
done
goals="json human qq sarif exposure markdown alloc"
for r in $(seq "$RUNS"); do
  for name in $goals; do
    for b in "${bins[@]}"; do
      [ "$b" != "$BIN" ] && [[ " $ANCHOR_SKIP " == *" $name "* ]] && continue
      once "$name@$b" "$b" "$name" "$big"
    done
  done
done
echo "== realistic 100k spec ($(du -m "$big" | cut -f1) MB), median of $RUNS interleaved runs"
printf '%-44s %10s %11s\n' command "median" "peak RSS"
for name in $goals; do
  for b in "${bins[@]}"; do
    [ -n "${T[$name@$b]:-}" ] || continue
    report "$name@$b" "$name ($( [ "$b" = "$BIN" ] && echo new || echo anchor))"
  done
  if [ -n "$ANCHOR" ] && [ -n "${T[$name@${bins[1]}]:-}" ]; then
    python3 -c "import sys; print(f'  ratio new/anchor: {float(sys.argv[1]) / float(sys.argv[2]):.2f}')" \
      "$(printf '%s\n' ${T[$name@$BIN]} | median)" "$(printf '%s\n' ${T[$name@${bins[1]}]} | median)"
  fi
done

echo "== lint scaling (new binary), median of $RUNS interleaved runs"
declare -A S
for size in $SIZES; do S[$size]=$(spec "$size"); done
for r in $(seq "$RUNS"); do
  for size in $SIZES; do
    for name in json human qq; do once "$name#$size" "$BIN" "$name" "${S[$size]}"; done
  done
done
printf '%-44s %10s %11s\n' "services / output" "median" "peak RSS"
for size in $SIZES; do
  for name in json human qq; do report "$name#$size" "$size / $name"; done
done
echo "== growth per 10x services (median / median of the size 10x smaller; goal <= 11)"
for name in json human qq; do
  prev=""
  for size in $SIZES; do
    med=$(printf '%s\n' ${T[$name#$size]} | median)
    if [ -n "$prev" ] && [ "$size" = "$(( prev_size * 10 ))" ]; then
      awk -v a="$med" -v b="$prev" -v n="$name" -v s="$size" 'BEGIN { printf "%-6s %8d: x%.1f\n", n, s, a / b }'
    fi
    prev=$med; prev_size=$size
  done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
