# shellcheck shell=bash
# A private apt configuration for Debian stable's *source* packages, shared by
# scripts/bootstrap.sh (OpenSSL) and bench/haproxy3.sh (HAProxy). Sourced, not
# run. Our own sources list (deb-src, suite stable) on the machine's own
# mirror, our own list and cache directories under $CACHE_DIR/apt; the
# system's apt sources are not touched. apt verifies the signed Release file
# and the .dsc hashes.
#
# The sourcing script defines CACHE_DIR and die, then calls apt_source_setup;
# after that APT_DIR and APT_OPTS are set and apt_source_update fetches the
# index (log in $APT_DIR/update.log; non-zero when unreachable).

mirror_uri() {
  local f=/etc/apt/sources.list.d/debian.sources uri=""
  if [ -r "$f" ]; then uri=$(awk '/^URIs:/ {print $2; exit}' "$f"); fi
  if [ -z "$uri" ] && [ -r /etc/apt/sources.list ]; then
    uri=$(awk '$1=="deb" && $0 !~ /security/ {for(i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list)
  fi
  [ -n "$uri" ] || die "cannot find the Debian mirror URI in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
  printf '%s\n' "$uri"
}

apt_source_setup() {
  APT_DIR="$CACHE_DIR/apt"
  mkdir -p "$APT_DIR/lists/partial"
  APT_OPTS=(-o "Dir::Etc::SourceList=$APT_DIR/sources.list" -o Dir::Etc::SourceParts=/dev/null
            -o "Dir::State::Lists=$APT_DIR/lists" -o Dir::Cache="$APT_DIR/cache" -o APT::Sandbox::User=root -q)
  local uri
  uri=$(mirror_uri)
  printf 'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s stable main\n' "$uri" > "$APT_DIR/sources.list"
  mkdir -p "$APT_DIR/cache/archives/partial"
}

apt_source_update() { apt-get "${APT_OPTS[@]}" update >"$APT_DIR/update.log" 2>&1; }

# apt_source_version PKG: the newest version of source package PKG in the index
# (empty if none).
apt_source_version() {
  apt-cache "${APT_OPTS[@]}" showsrc "$1" 2>/dev/null | awk '/^Version:/ {print $2}' | sort -V | tail -n1
}
