#!/usr/bin/env bash
# Import benchmark (issue 14): quality on the corpus, speed on a large document.
#   bench/import.sh                 # the corpus table, then 5 runs on a ~5 MB document
#   RUNS=3 MB=20 bench/import.sh
# 1. Scores every document of tests/fixtures/import/corpus against its answer key (the
#    `corpus_meets_the_import_goals` test) and prints the table: listener recall and
#    precision, flow recall and precision, routes, planted mistakes found, wrong error-level
#    findings, false listeners on near-miss numbers, notes, secrets printed.
# 2. Concatenates the corpus documents into one document of MB megabytes and times
#    `portolan import` on it against an anchor that only reads it once: `grep -cE` for
#    port-like numbers. Interleaved runs, medians, and the ratio import/grep. The goal is a
#    bound, not a ratio: the import of 5 MB must finish in well under 10 s.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
MB=${MB:-5}
CARGO=${CARGO:-cargo}   # e.g. a wrapper that waits for a build slot
OUT=bench/out
mkdir -p "$OUT"
PORTOLAN_IMPORT_TABLE="$PWD/$OUT/import-corpus.md" \
  "$CARGO" test -q --locked -p portolan-discover --test discover corpus_meets_the_import_goals >/dev/null
echo "## corpus (tests/fixtures/import/corpus)"
cat "$OUT/import-corpus.md"
echo
"$CARGO" build --release -q --locked -p portolan
BIN=target/release/portolan
DOC=$OUT/import-$MB-mb.md
want=$((MB * 1024 * 1024))
: >"$DOC"
while [ "$(stat -c %s "$DOC")" -lt "$want" ]; do
  for f in tests/fixtures/import/corpus/[0-9]*.md; do
    # UTF-16 documents are corpus entries too, but one file has one encoding
    if iconv -f utf-8 -t utf-8 "$f" >/dev/null 2>&1; then cat "$f" >>"$DOC"; echo >>"$DOC"; fi
  done
done
size=$(stat -c %s "$DOC")
grep_run() { grep -cE '\b[0-9]{2,5}\b' "$DOC" >/dev/null; }
pt_run() { "$BIN" import "$DOC" -q >/dev/null 2>&1 || true; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }
grep_run; pt_run   # warm the page cache
g_t=(); p_t=()
for _ in $(seq "$RUNS"); do   # interleaved, so both see the same machine state
  s=$(now); grep_run; e=$(now); g_t+=("$(echo "$e - $s" | bc)")
  s=$(now); pt_run; e=$(now); p_t+=("$(echo "$e - $s" | bc)")
done
g_m=$(printf '%s\n' "${g_t[@]}" | median)
p_m=$(printf '%s\n' "${p_t[@]}" | median)
summary=$("$BIN" import "$DOC" 2>&1 >/dev/null | tail -1)
echo "## a $size-byte document ($(wc -l <"$DOC") lines), median of $RUNS interleaved runs"
printf '%-40s %10s\n' "tool" "median s"
printf '%-40s %10.3f\n' "grep -cE port-like numbers (anchor)" "$g_m"
printf '%-40s %10.3f\n' "portolan import" "$p_m"
python3 - "$p_m" "$g_m" <<'PY'
import sys
p, g = float(sys.argv[1]), float(sys.argv[2])
print(f"ratio import/grep: {p / g:.1f}x; import {p:.2f} s (bound: 10 s)")
PY
echo "import said: $summary"
