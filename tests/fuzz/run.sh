#!/usr/bin/env bash
# Runs every fuzz target (or those named) for SECONDS each, one after the
# other, under nice. Built by the `fuzz` preset (make fuzz builds it first).
#
# Usage: tests/fuzz/run.sh BUILD_DIR SECONDS [TARGET...]
#
# Per target: the seeds (tests/fuzz/corpus/T and the target's folders of real
# vectors under AEGIS_TESTDATA, read-only) plus a working
# corpus in BUILD_DIR/corpus/T that grows across runs; crash inputs in
# BUILD_DIR/artifacts/T/; libFuzzer's log in BUILD_DIR/logs/T.log. Prints
# per target the CPU seconds, executions, coverage (cov = edges, ft =
# features) and corpus size from libFuzzer's final report, and exits
# non-zero if any target found something (the artifact to keep under
# tests/fuzz/regressions/T/ once fixed is named in the output).
set -uo pipefail
build=${1:?usage: run.sh BUILD_DIR SECONDS [TARGET...]}
seconds=${2:?usage: run.sh BUILD_DIR SECONDS [TARGET...]}
shift 2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
manifest=$build/fuzz/targets.txt
[ -f "$manifest" ] || { echo "run.sh: $manifest missing (build the fuzz preset first)" >&2; exit 2; }

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
printf '%-12s %8s %12s %7s %7s %7s  %s\n' target cpu_s execs cov ft corpus result
while read -r name dict seed_dirs; do
  [ -n "$name" ] || continue
  # Named targets only (no pipe here: with pipefail, grep -q closing early
  # made printf's SIGPIPE skip a target now and then).
  if [ $# -gt 0 ]; then
    wanted=0
    for t in "$@"; do [ "$t" = "$name" ] && wanted=1; done
    [ "$wanted" -eq 1 ] || continue
  fi
  bin=$build/fuzz/fuzz_$name
  work=$build/corpus/$name
  art=$build/artifacts/$name
  log=$build/logs/$name.log
  mkdir -p "$work" "$art" "$(dirname "$log")"
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$art/" "$work" "$here/corpus/$name")
  for d in $seed_dirs; do args+=("$d"); done
  [ "$dict" != none ] && args=(-dict="$here/dict/$dict.dict" "${args[@]}")
  # CPU time of the run (user + system), measured by the shell.
  TIMEFORMAT='%U %S'
  { time nice -n 10 "$bin" "${args[@]}" >"$log" 2>&1; rc=$?; } 2>"$log.time"
  read -r user sys <"$log.time"
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.0f", u + s }')
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
  execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n 1)
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
  corp=$(sed -nE 's/.* corp: ([0-9]+)\/.*/\1/p' <<<"$last")
  if [ "$rc" -eq 0 ]; then
    result=ok
  else
    result="FINDING (exit $rc): $(grep -E '^(==[0-9]+==ERROR|SUMMARY|.*fuzz invariant failed|.*runtime error)' "$log" | head -n 2 | tr '\n' ' ')"
    result+=" artifact: $(sed -nE 's/.*Test unit written to (.*)/\1/p' "$log" | head -n 1)"
    status=1
  fi
  printf '%-12s %8s %12s %7s %7s %7s  %s\n' "$name" "$cpu" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result"
done <"$manifest"
exit "$status"
