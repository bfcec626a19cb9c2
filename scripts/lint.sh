#!/usr/bin/env bash
# clang-tidy-14 over src/ with the checked-in .clang-tidy (make lint).
# Usage: scripts/lint.sh BUILD_DIR [FILE_REGEX] [JOBS]
# The compile database is the GCC release build's; clang-tidy is told to
# ignore GCC-only warning flags. Prints the findings and a count per check;
# exits 1 if there are any.
set -uo pipefail
build=${1:?usage: lint.sh BUILD_DIR [FILE_REGEX] [JOBS]}
regex=${2:-/src/}
jobs=${3:-$(nproc)}
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -f "$build/compile_commands.json" ] || { echo "lint: no $build/compile_commands.json (make configure)" >&2; exit 2; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
nice run-clang-tidy-14 -quiet -p "$build" -j "$jobs" \
  -extra-arg=-Wno-unknown-warning-option -extra-arg=-Wno-error \
  "$regex" >"$out" 2>/dev/null
# One line per finding: file:line:col: warning: text [check]
# run-clang-tidy-14 always asks for colour: strip the escapes first.
findings=$(sed -E 's/\x1b\[[0-9;]*m//g' "$out" | grep -E '^/.*: (warning|error): .*\[[a-z0-9.,-]+\]$' | sort -u)
if [ -z "$findings" ]; then
  echo "lint: clean"
  exit 0
fi
echo "$findings"
echo
echo "lint: $(wc -l <<<"$findings") finding(s), by check:"
sed -nE 's/.*\[([a-z0-9.,-]+)\]$/\1/p' <<<"$findings" | sort | uniq -c | sort -rn
exit 1
