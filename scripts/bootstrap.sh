#!/usr/bin/env bash
# Bootstrap for Aegis-Flow on Debian 12: installs the Debian packages the build
# and tests need, and builds OpenSSL 3.5 (static) from Debian stable's source
# package into a cache outside the clone. Idempotent: a second run installs
# nothing and reuses the cached OpenSSL.
#
#   scripts/bootstrap.sh            install what is missing, build OpenSSL if needed
#   AEGIS_CACHE_DIR=/path ...       where OpenSSL and ccache live (default ~/.cache/aegis-flow)
set -euo pipefail

CACHE_DIR=${AEGIS_CACHE_DIR:-${HOME:-/root}/.cache/aegis-flow}
mkdir -p "$CACHE_DIR"

log() { printf '[bootstrap] %s\n' "$*" >&2; }
die() { printf '[bootstrap] error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@";
  else die "need root to run: $*"; fi
}

# --- 1. Debian packages ------------------------------------------------------
PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config perl dpkg-dev xz-utils
  libboost1.81-dev libnghttp2-dev libyaml-cpp-dev nlohmann-json3-dev
  libspdlog-dev libfmt-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev llvm-14
  libjemalloc-dev
  libseccomp-dev  # process.seccomp: the seccomp-bpf allow-list (app/process_hardening.cpp)
  clang-tidy-14  # make lint
  libxxhash-dev  # XXH3_64bits: the stable hash of ring_hash, maglev and hash_policy keys
  libcbor-dev  # the RA-TLS evidence extension's CBOR (attest/evidence_extension.cpp)
  curl nginx-light haproxy wrk prometheus nghttp2-client python3
  python3-grpcio  # gRPC test server and client (Debian's /usr/bin/python3)
  chromium  # an independent TLS stack (BoringSSL) for the post-quantum handshake test
  python3-yaml python3-kubernetes  # tests/k8s: the Helm chart renderer and the Kubernetes API schema check
  iptables  # aegis-flow redirect: iptables(-nft)-restore/-save; its integration tests (network namespaces)
  tcpdump  # packet captures in the integration tests
  strace  # benchmarks only: system calls per request (bench/cost.sh)
  valgrind  # benchmarks only: instructions per request (bench/callgrind.sh)
  libpcre2-dev zlib1g-dev  # benchmarks only: HAProxy 3.0 built against our OpenSSL 3.5 (bench/haproxy3.sh)
  python3-matplotlib  # benchmarks only: the SVG charts of docs/benchmarks.md (bench/report.py, CTest Bench.Report)
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  # nginx/haproxy are test peers only: never let package scripts start services.
  as_root sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d'
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  log "Debian packages: all present"
fi

# --- 2. OpenSSL 3.5 from Debian stable's source package ------------------------
# A private apt configuration (scripts/apt_source.sh): our own sources list
# (deb-src, suite stable) on the machine's own mirror, our own list directory;
# the system's apt sources are not touched.
# shellcheck source=scripts/apt_source.sh
. "$(dirname "${BASH_SOURCE[0]}")/apt_source.sh"
apt_source_setup

current_link="$CACHE_DIR/openssl-current"
have_cached() { [ -f "$1/.aegis-complete" ] && [ -f "$1/lib64/libssl.a" ]; }

openssl_version=""
if apt_source_update; then
  openssl_version=$(apt_source_version openssl)
fi
if [ -z "$openssl_version" ]; then
  # Offline: reuse the newest cached build if there is one.
  if have_cached "$current_link"; then
    log "OpenSSL: source index unreachable (see $APT_DIR/update.log); reusing $(readlink -f "$current_link")"
    exit 0
  fi
  cat "$APT_DIR/update.log" >&2
  die "cannot read Debian stable's openssl source package version and no cached build exists"
fi
case "$openssl_version" in 3.[5-9]*|3.[1-9][0-9]*) ;; *) die "Debian stable's openssl is $openssl_version; need >= 3.5" ;; esac

prefix="$CACHE_DIR/openssl-$openssl_version"
if have_cached "$prefix"; then
  log "OpenSSL $openssl_version: cached at $prefix"
else
  log "OpenSSL $openssl_version: fetching Debian source package and building (about 2 minutes on 2 cores)"
  src="$CACHE_DIR/src-$openssl_version"
  rm -rf "$src" && mkdir -p "$src"
  (cd "$src" && apt-get "${APT_OPTS[@]}" source --download-only "openssl=$openssl_version" >/dev/null)
  orig=$(find "$src" -maxdepth 1 -name 'openssl_*.orig.tar.*' | head -n1)
  [ -n "$orig" ] || die "no orig tarball in $src"
  tar -xf "$orig" -C "$src"
  dir=$(find "$src" -mindepth 1 -maxdepth 1 -type d -name 'openssl-*' | head -n1)
  rm -rf "$prefix"
  # openssldir inside the prefix: programs built against this OpenSSL never read
  # Debian 12's /usr/lib/ssl/openssl.cnf (written for 3.0).
  (cd "$dir" && ./Configure --prefix="$prefix" --openssldir="$prefix/ssl" --libdir=lib64 \
      no-shared no-tests no-docs linux-x86_64 >"$src/configure.log" 2>&1 \
    && make -j"$(nproc)" >"$src/build.log" 2>&1 \
    && make install_sw install_ssldirs >"$src/install.log" 2>&1) \
    || { tail -n 40 "$src"/*.log >&2; die "OpenSSL build failed (logs in $src)"; }
  touch "$prefix/.aegis-complete"   # a half-built prefix is rebuilt next time
  rm -rf "$src"
fi
ln -sfn "$prefix" "$current_link"
log "OpenSSL ready: $current_link -> $prefix ($("$prefix/bin/openssl" version 2>/dev/null || echo '?'))"
