#!/usr/bin/env bash
# shellcheck shell=bash
# HAProxy 3.0 built against the project's OpenSSL 3.5: the post-quantum peer of
# the benchmarks (Debian 12's HAProxy 2.6 runs on the system OpenSSL 3.0, which
# has no ML-KEM). Benchmarks only: `make test` never runs this.
#
#   bench/haproxy3.sh build     build if needed, print the binary's path
#   bench/haproxy3.sh path      print the cached binary's path (fails if not built)
#   . bench/haproxy3.sh         sourced: haproxy3_build / haproxy3_path (print the path)
#
# Source: Debian stable's *source* package `haproxy` (3.0.x), fetched with the
# same private apt configuration as scripts/bootstrap.sh's OpenSSL
# (scripts/apt_source.sh: our own deb-src list and lists dir under
# $AEGIS_CACHE_DIR/apt; apt verifies the signed Release file and the .dsc
# hashes), unpacked with dpkg-source -x (Debian's patches applied), built with
#   make TARGET=linux-glibc USE_OPENSSL=1 SSL_INC=<ossl>/include SSL_LIB=<ossl>/lib64
#        USE_PCRE2=1 USE_ZLIB=1 ADDLIB='-ldl -lpthread'
# against $AEGIS_CACHE_DIR/openssl-current (static, from scripts/bootstrap.sh).
# Result: $AEGIS_CACHE_DIR/haproxy-<version>/haproxy with a completion marker
# (.aegis-complete); rebuilt only when missing. Needs libpcre2-dev zlib1g-dev
# (in bootstrap.sh's package list). About 3 minutes on 2 cores.

HAPROXY3_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

haproxy3_die() { printf '[haproxy3] error: %s\n' "$*" >&2; return 1; }
haproxy3_log() { printf '[haproxy3] %s\n' "$*" >&2; }
haproxy3_cache_dir() { echo "${AEGIS_CACHE_DIR:-${HOME:-/root}/.cache/aegis-flow}"; }
# haproxy3_ok DIR: DIR holds a complete build.
haproxy3_ok() { [ -f "$1/.aegis-complete" ] && [ -x "$1/haproxy" ]; }

# haproxy3_path: the newest complete cached build (no network), or fail.
haproxy3_path() {
  local cache d best=""
  cache=$(haproxy3_cache_dir)
  while read -r d; do
    [ -n "$d" ] && haproxy3_ok "$d" && best=$d
  done < <(find "$cache" -mindepth 1 -maxdepth 1 -type d -name 'haproxy-*' 2>/dev/null | sort -V)
  [ -n "$best" ] || { haproxy3_die "no HAProxy 3 build in $cache; run: bench/haproxy3.sh build"; return 1; }
  echo "$best/haproxy"
}

# haproxy3_build: build (if needed) and print the binary's path. Runs in a
# subshell: its errors (exit) and settings do not leak into the caller.
haproxy3_build() (
  set -euo pipefail
  CACHE_DIR=$(haproxy3_cache_dir)
  die() { printf '[haproxy3] error: %s\n' "$*" >&2; exit 1; }
  # shellcheck source=scripts/apt_source.sh
  . "$HAPROXY3_ROOT/scripts/apt_source.sh"

  local ossl version prefix src dir dsc p vv
  ossl=$CACHE_DIR/openssl-current
  if ! [ -f "$ossl/.aegis-complete" ] || ! [ -f "$ossl/lib64/libssl.a" ] || ! [ -d "$ossl/include/openssl" ]; then
    die "the project's OpenSSL is not at $ossl (include/, lib64/libssl.a); run scripts/bootstrap.sh first"
  fi
  for p in libpcre2-dev zlib1g-dev dpkg-dev make gcc; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
      || die "Debian package $p is missing; run scripts/bootstrap.sh (or: apt-get install -y $p)"
  done

  mkdir -p "$CACHE_DIR"
  apt_source_setup
  version=""
  if apt_source_update; then version=$(apt_source_version haproxy); fi
  if [ -z "$version" ]; then
    if haproxy3_path 2>/dev/null; then
      haproxy3_log "source index unreachable (see $APT_DIR/update.log); reusing the cached build"
      exit 0
    fi
    cat "$APT_DIR/update.log" >&2 || true
    die "cannot read Debian stable's haproxy source package version and no cached build exists"
  fi
  case "$version" in 3.*) ;; *) die "Debian stable's haproxy is $version; need 3.x (ML-KEM groups via OpenSSL 3.5)" ;; esac

  prefix=$CACHE_DIR/haproxy-$version
  if haproxy3_ok "$prefix"; then
    haproxy3_log "HAProxy $version: cached at $prefix"
    echo "$prefix/haproxy"
    exit 0
  fi
  haproxy3_log "HAProxy $version: fetching Debian's source package and building against $(readlink -f "$ossl") (about 3 minutes on 2 cores)"
  src=$CACHE_DIR/src-haproxy-$version
  rm -rf "$src" && mkdir -p "$src"
  (cd "$src" && apt-get "${APT_OPTS[@]}" source --download-only "haproxy=$version" >"$src/fetch.log" 2>&1) \
    || { cat "$src/fetch.log" >&2; die "apt-get source --download-only haproxy=$version failed"; }
  dsc=$(find "$src" -maxdepth 1 -name 'haproxy_*.dsc' | head -n1)
  [ -n "$dsc" ] || die "no haproxy .dsc in $src (log: $src/fetch.log)"
  (cd "$src" && dpkg-source -x "$dsc" tree >"$src/unpack.log" 2>&1) \
    || { cat "$src/unpack.log" >&2; die "dpkg-source -x $dsc failed"; }
  dir=$src/tree
  # OpenSSL is static (libssl.a, libcrypto.a only): its own dependencies by hand.
  (cd "$dir" && make -j"$(nproc)" TARGET=linux-glibc USE_OPENSSL=1 \
      SSL_INC="$ossl/include" SSL_LIB="$ossl/lib64" USE_PCRE2=1 USE_ZLIB=1 \
      ADDLIB='-ldl -lpthread' >"$src/build.log" 2>&1) \
    || { tail -n 40 "$src/build.log" >&2; die "HAProxy build failed (log: $src/build.log)"; }
  vv=$("$dir/haproxy" -vv 2>&1) || true
  grep -q '^Running on OpenSSL version : OpenSSL 3\.[5-9]' <<<"$vv" \
    || { printf '%s\n' "$vv" >&2; die "the built haproxy does not run on OpenSSL >= 3.5 (haproxy -vv above)"; }
  rm -rf "$prefix" && mkdir -p "$prefix"
  cp "$dir/haproxy" "$prefix/haproxy"
  "$prefix/haproxy" -vv >"$prefix/haproxy-vv.txt" 2>&1 || true
  touch "$prefix/.aegis-complete"   # a half-built prefix is rebuilt next time
  rm -rf "$src"
  haproxy3_log "HAProxy $version ready: $prefix/haproxy ($(grep -m1 '^Running on OpenSSL' "$prefix/haproxy-vv.txt"))"
  echo "$prefix/haproxy"
)

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  case "${1:-}" in
    build) haproxy3_build ;;
    path) haproxy3_path ;;
    *) echo "usage: $0 build|path" >&2; exit 2 ;;
  esac
fi
