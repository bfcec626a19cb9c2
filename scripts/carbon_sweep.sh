#!/usr/bin/env bash
# Reproduces the numbers in docs/carbon.md: the acceptance run (table + SVG)
# and the sweeps over data delay and utilization, on the real traces in
# ../shared/testdata (or $AEGIS_TESTDATA). Usage: scripts/carbon_sweep.sh [BINARY]
set -euo pipefail
BIN=${1:-build/release/aegis-flow}
DATA=${AEGIS_TESTDATA:-$(cd "$(dirname "$0")/../.." && pwd)/shared/testdata}
DE="de=$DATA/carbon/de_2020_ci.csv,capacity=1000,rtt_ms=10"
GB="gb=$DATA/carbon/gb_2020_ci.csv,capacity=1000,rtt_ms=25"
FR="fr=$DATA/carbon/fr_2020_ci.csv,capacity=1000,rtt_ms=40"
WL=(--workload "$DATA/workload/wikipedia_en_hourly_requests.csv" --slo-p99-ms 150)

echo "## acceptance run (de, gb, fr; peak utilization 0.6; data delay 60 min)"
"$BIN" carbon simulate --region "$DE" --region "$GB" --region "$FR" "${WL[@]}" --peak-utilization 0.6 \
  --svg docs/carbon-acceptance.svg

row() {  # LABEL ARGS...: one markdown row for carbon_aware and the oracle
  local label=$1; shift
  "$BIN" carbon simulate "$@" "${WL[@]}" --policies random,carbon_aware,oracle --json |
    /usr/bin/python3 -c '
import json, sys
label = sys.argv[1]
p = json.load(sys.stdin)["policies"]
ca, o = p["carbon_aware"], p["oracle"]
cells = [label, "%.1f%%" % (ca["reduction_vs_random"] * 100), "%.1f%%" % (o["reduction_vs_random"] * 100),
         "%.1f%%" % (ca["share_of_oracle"] * 100), "%.1f" % ca["p99_ms"], "%.0f" % ca["capacity_violation_minutes"],
         "%.0f" % ca["over_max_utilization_minutes"], "%.0f" % ca["slo_violation_minutes"]]
print("| " + " | ".join(cells) + " |")' "$label"
}
header() {
  echo
  echo "## $1"
  echo "| $2 | carbon_aware vs random | oracle vs random | share of oracle | p99 ms | capacity-violation min | over max_utilization min | SLO-violation min |"
  echo "|---|---|---|---|---|---|---|---|"
}

header "data delay (de, gb, fr; peak utilization 0.6)" "delay (min)"
for d in 0 60 180 360 720; do row "$d" --region "$DE" --region "$GB" --region "$FR" --peak-utilization 0.6 --data-delay-minutes "$d"; done
header "data delay (de, gb only: the cleaner of the two changes often; peak utilization 0.6)" "delay (min)"
for d in 0 60 180 360 720; do row "$d" --region "$DE" --region "$GB" --peak-utilization 0.6 --data-delay-minutes "$d"; done
header "peak utilization (de, gb, fr; data delay 60 min)" "peak utilization"
for u in 0.2 0.4 0.6 0.8 0.9; do row "$u" --region "$DE" --region "$GB" --region "$FR" --peak-utilization "$u"; done
