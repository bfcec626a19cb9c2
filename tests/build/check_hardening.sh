#!/usr/bin/env bash
# Checks that the built binary carries the hardening the build promises:
# PIE, full RELRO (relro + BIND_NOW), a non-executable stack, stack
# protector, and (where the build applies it: optimised, no sanitizers)
# _FORTIFY_SOURCE checked calls.
# Usage: check_hardening.sh BINARY fortify|no-fortify
set -euo pipefail
bin=$1
fortify=${2:-fortify}
fail=0
check() {  # description, command...
  local what=$1; shift
  if "$@" >/dev/null 2>&1; then echo "ok   $what"; else echo "FAIL $what"; fail=1; fi
}
check "PIE (ELF type DYN)"            sh -c "readelf -h '$bin' | grep -q 'Type:.*DYN'"
check "RELRO segment"                 sh -c "readelf -lW '$bin' | grep -q GNU_RELRO"
check "BIND_NOW (full RELRO)"         sh -c "readelf -d '$bin' | grep -Eq 'BIND_NOW|FLAGS_1.*NOW'"
check "non-executable stack"          sh -c "readelf -lW '$bin' | grep GNU_STACK | grep -qv RWE"
check "stack protector"               sh -c "readelf -sW --dyn-syms '$bin' | grep -q __stack_chk_fail"
if [ "$fortify" = fortify ]; then
  check "_FORTIFY_SOURCE checked calls" sh -c "readelf -sW --dyn-syms '$bin' | grep -Eq '__[a-z_]+_chk@'"
fi
if [ "$fail" -ne 0 ]; then echo "hardening: some checks failed (see FAIL lines)"; exit 1; fi
echo "hardening: all checks passed"
