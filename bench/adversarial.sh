#!/usr/bin/env bash
# Adversarial growth benchmark (issue 12): for each row of the table below, the input is
# generated at a quarter, half and the full listed size (each a doubling of the one before),
# the portolan command runs on each (median of RUNS, interleaved across sizes so all see the
# same machine state), and the growth factor per doubling is printed. Goal: at most x2.3 per
# doubling (near-linear), and at most 2 s at the listed size.
#
#   bench/adversarial.sh                 # every row
#   bench/adversarial.sh iptables        # rows whose name contains "iptables"
#   RUNS=5 bench/adversarial.sh
#
# Adding a row: write a generator function `gen_NAME N FILE` (writes an input of size N to
# FILE) and add one line to ROWS: `name|listed size|generator|portolan arguments`, where
# INPUT in the arguments is replaced by the generated file and SPEC by the row's spec
# (`spec_NAME` if such a function exists, else the small default spec below). Exit codes 0
# and 1 (findings) count as success; anything else fails the row.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
OUT=bench/out/adversarial
mkdir -p "$OUT"
cargo build --release -q -p portolan
BIN=$PWD/target/release/portolan

# --- the table ----------------------------------------------------------------------------
ROWS=(
  "iptables dump, 40k rules (check --firewall)|40000|gen_iptables|--spec SPEC check --host fw --firewall iptables --from INPUT --format json"
  "ufw status, 40k rules (check --firewall)|40000|gen_ufw|--spec SPEC check --host fw --firewall ufw --from INPUT --format json"
  "nft ruleset, 40k rules (check --firewall)|40000|gen_nft|--spec SPEC check --host fw --firewall nftables --from INPUT --format json"
  "iptables dump, 40k rules (why, through the dump)|40000|gen_iptables|--spec SPEC why api.http --host fw --firewall iptables --ruleset INPUT"
)

# --- the default spec: one host with a few bindings --------------------------------------
default_spec() {
  cat > "$1" <<'TOML'
[networks]
lan = "10.0.0.0/8"
[hosts.fw]
addresses = ["192.0.2.10"]
networks = ["public", "lan"]
firewall = "iptables"
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
[[expect]]
from = "internet"
to = "api.http"
reach = false
TOML
}

# --- generators: N rules, each a different port and source -------------------------------
gen_iptables() {
  python3 - "$1" > "$2" <<'PY'
import sys
n = int(sys.argv[1])
print("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]")
print("-A INPUT -i lo -j ACCEPT\n-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT")
for i in range(n):
    port = 1024 + i % 60000
    print(f"-A INPUT -p tcp -s 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}/32 -m tcp --dport {port} -m comment --comment \"rule {i}\" -j ACCEPT")
print("COMMIT")
PY
}

gen_ufw() {
  python3 - "$1" > "$2" <<'PY'
import sys
n = int(sys.argv[1])
print("Status: active\nLogging: on (low)\nDefault: deny (incoming), allow (outgoing), disabled (routed)\nNew profiles: skip\n")
print("To                         Action      From\n--                         ------      ----")
for i in range(n):
    port = 1024 + i % 60000
    print(f"{port}/tcp                   ALLOW IN    10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}")
PY
}

gen_nft() {
  python3 - "$1" > "$2" <<'PY'
import sys
n = int(sys.argv[1])
print("table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;")
print("\t\tiif \"lo\" accept\n\t\tct state established,related accept")
for i in range(n):
    port = 1024 + i % 60000
    print(f"\t\tip saddr 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255} tcp dport {port} accept comment \"rule {i}\"")
print("\t}\n}")
PY
}

# --- the runner ---------------------------------------------------------------------------
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }
filter=${1:-}
printf '%-48s %9s %9s %9s   %s\n' "input" "N/4 s" "N/2 s" "N s" "growth per doubling"
status=0
for row in "${ROWS[@]}"; do
  IFS='|' read -r name size gen args <<<"$row"
  [[ -z $filter || $name == *"$filter"* ]] || continue
  tag=${gen#gen_}
  spec=$OUT/$tag.spec.toml
  if declare -F "spec_$tag" >/dev/null; then "spec_$tag" "$spec"; else default_spec "$spec"; fi
  sizes=($((size / 4)) $((size / 2)) "$size")
  declare -A files=() times=()
  for n in "${sizes[@]}"; do
    files[$n]=$OUT/$tag-$n.input
    [ -s "${files[$n]}" ] || "$gen" "$n" "${files[$n]}"
  done
  run() { # size → seconds
    local n=$1 a=${args//SPEC/$spec}
    a=${a//INPUT/${files[$n]}}
    local s e rc
    s=$(now)
    # shellcheck disable=SC2086
    set +e; "$BIN" $a >/dev/null 2>"$OUT/stderr"; rc=$?; set -e
    e=$(now)
    if (( rc > 1 )); then echo "FAILED ($rc): $name at $n: $(head -3 "$OUT/stderr")" >&2; return 1; fi
    echo "$e - $s" | bc
  }
  for n in "${sizes[@]}"; do run "$n" >/dev/null; done   # warm-up
  declare -A samples=()
  for _ in $(seq "$RUNS"); do   # interleaved
    for n in "${sizes[@]}"; do samples[$n]+="$(run "$n") "; done
  done
  for n in "${sizes[@]}"; do times[$n]=$(printf '%s\n' ${samples[$n]} | median); done
  read -r g1 g2 verdict < <(python3 - "${times[${sizes[0]}]}" "${times[${sizes[1]}]}" "${times[${sizes[2]}]}" <<'PY'
import sys
a, b, c = (max(float(x), 1e-3) for x in sys.argv[1:])
g1, g2 = b / a, c / b
ok = g2 <= 2.3 and c <= 2.0
print(f"x{g1:.2f} x{g2:.2f} {'ok' if ok else 'GOAL-NOT-MET'}")
PY
  )
  [ "$verdict" = ok ] || status=1
  printf '%-48s %9.3f %9.3f %9.3f   %s %s  %s\n' "$name (N=$size)" \
    "${times[${sizes[0]}]}" "${times[${sizes[1]}]}" "${times[${sizes[2]}]}" "$g1" "$g2" "$verdict"
  unset files times samples
done
exit $status
