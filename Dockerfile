# The aegis-flow image: the sidecar proxy (aegis-flow run), its iptables init
# step (aegis-flow redirect install) and the CA bootstrap Job of the Helm chart
# all run this one image (docs/kubernetes.md).
#
#   docker build -t aegis-flow:0.1.0 .
#
# tests/k8s/check_dockerfile.py checks this file statically (ctest -R K8s.Dockerfile):
# it has not been built here (no container engine on the build machine).

# --- build: scripts/bootstrap.sh (Debian packages, OpenSSL 3.5 from Debian's
# source package, linked statically) and the release build, through make.
FROM debian:12 AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends make ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make build PRESET=release

# --- runtime: only the shared libraries the binary needs (ldd + dpkg -S on the
# build machine; OpenSSL is inside the binary), iptables for the init
# container, curl and ca-certificates for the CA bootstrap Job.
FROM debian:12-slim AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libc6 libgcc-s1 libstdc++6 \
      libcbor0.8 libfmt9 libjemalloc2 libnghttp2-14 libseccomp2 libspdlog1.10 libxxhash0 libyaml-cpp0.7 \
      iptables ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 1337 aegis \
 && useradd --system --uid 1337 --gid 1337 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin aegis
COPY --from=build /src/build/release/aegis-flow /usr/local/bin/aegis-flow
# Nothing is written outside /tmp (an emptyDir in the pod): the root file
# system can be read-only. The init container overrides the user with
# runAsUser: 0 and NET_ADMIN/NET_RAW; everything else runs as 1337.
USER 1337:1337
ENTRYPOINT ["/usr/local/bin/aegis-flow"]
CMD ["--help"]
