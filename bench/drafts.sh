#!/usr/bin/env bash
# How well `init --from-discover` drafts the three answer-keyed repositories of
# tests/fixtures/drafts/ (issue 14): listener recall and precision, flows, routes, planted
# mistakes reported, wrong findings and secrets printed, as the Markdown table that goes
# into BENCHMARKS.md. The same test fails the suite when any figure is short of perfect.
#   bench/drafts.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test -q -p portolan-discover --test discover drafts_of_the_corpus -- --nocapture 2>/dev/null \
  | sed -n '/^| repository/,/^$/p'
