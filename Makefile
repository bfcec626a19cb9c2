# Aegis-Flow: the two commands are `make run` and `make test` (see README.md).
SHELL := /bin/bash
AEGIS_CACHE_DIR ?= $(HOME)/.cache/aegis-flow
export AEGIS_CACHE_DIR
export CCACHE_DIR ?= $(AEGIS_CACHE_DIR)/ccache
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1
PRESET ?= release
OPENSSL_ROOT := $(AEGIS_CACHE_DIR)/openssl-current
JOBS ?= $(shell nproc)

.PHONY: all bootstrap configure build run test bench fuzz lint clean help

all: build

help:
	@echo "make run     bootstrap, build, start the quick-start proxy (:10000, admin :9901)"
	@echo "make test    bootstrap, build, run every test (PRESET=asan-ubsan|tsan|debug for other lanes; TESTS=regex narrows)"
	@echo "make build   build PRESET (default release) -> build/release/aegis-flow"
	@echo "make fuzz    build the libFuzzer targets (clang-14, ASan+UBSan) and run each for FUZZ_SECONDS (default 60); FUZZ_TARGETS picks"
	@echo "make lint    clang-tidy-14 (.clang-tidy: bugprone, cert, bounds, owning-memory, performance) over src/"
	@echo "make bench   benchmarks (not a test), the six scenarios of issue 8: HTTP vs nginx/HAProxy, TLS handshakes vs s_server, mesh latency, HTTP/2 and gRPC, attested handshakes, memory per idle connection, added latency at fixed rates vs HAProxy 3.0/2.6, 1 vs 2 workers; writes bench/results/DATE.json and docs/benchmarks.md; BENCH_SUITES=\"http tls mesh h2 grpc attest memory mesh-rates scale\" (default) picks; QUICK=1 short runs (about 2 minutes)"

bootstrap:
	@scripts/bootstrap.sh

configure: bootstrap
	@cmake --preset $(PRESET) -DOPENSSL_ROOT_DIR=$(OPENSSL_ROOT) >/dev/null

build: configure
	@cmake --build --preset $(PRESET) -j $(JOBS)

run: build
	@exec build/$(PRESET)/aegis-flow quickstart

# TESTS: a ctest -R regex that narrows the run (the tsan lane of .ci/run).
TESTS ?=
test: build
	@ctest --preset $(PRESET) -j $(JOBS) $(if $(TESTS),-R '$(TESTS)')

# BENCH_SUITES: http = bench/run.sh (wrk: nginx, aegis-flow, HAProxy),
# tls = bench/tls.sh (TLS 1.3 handshake rates: openssl s_server, aegis-flow),
# mesh = bench/mesh.sh (two-sidecar mTLS mesh added latency vs direct and one proxy),
# h2 = bench/h2.sh (h2load over h2c: nginx direct, aegis-flow and HAProxy 2.6, h2 → h1 and h2 → h2),
# grpc = bench/grpc.sh (gRPC unary calls/s direct vs through the two-sidecar PQC mesh),
# attest = bench/attest.sh (attested vs plain mTLS handshakes: rate and server CPU per handshake),
# memory = bench/memory.sh (idle RSS and bytes per idle keep-alive connection vs HAProxy),
# mesh-rates = bench/mesh_rates.sh (open-loop added latency at fixed rates: aegis-flow vs HAProxy 3.0/2.6 two-hop meshes),
# scale = bench/scale.sh (throughput with 1 and 2 workers: aegis-flow --concurrency W vs HAProxy nbthread W).
# The default set covers the issue's six scenarios: about 26 minutes on 2 CPUs.
# bench/run_suites.sh runs them (a failing suite does not stop the others, but
# fails make bench at the end), collecting their rows in a temporary JSON-lines
# file; bench/report.py then writes bench/results/YYYY-MM-DD.json and
# regenerates docs/benchmarks.md with its charts (docs/bench/*.svg).
# QUICK=1 exports BENCH_QUICK=1: every suite's short mode, about 2 minutes in all.
# BENCH_BIN: the aegis-flow binary measured (aegis-bench-* next to it).
BENCH_SUITES ?= http tls mesh h2 grpc attest memory mesh-rates scale
BENCH_BIN ?= build/$(PRESET)/aegis-flow
ifdef QUICK
export BENCH_QUICK := $(QUICK)
endif
bench: build
	@bench/run_suites.sh $(BENCH_BIN) $(BENCH_SUITES)

# Every fuzz target (tests/fuzz/) for FUZZ_SECONDS each, one after the
# other, under nice; FUZZ_TARGETS="h1_request x509" picks some. Own build
# directory (build/fuzz), so `make test` never builds the fuzzers' way.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz: bootstrap
	@cmake --preset fuzz -DOPENSSL_ROOT_DIR=$(OPENSSL_ROOT) >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)
	@tests/fuzz/run.sh build/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# clang-tidy-14 with the checked-in .clang-tidy over every source file of
# src/, using the release build's compile database. LINT_FILES narrows it
# (a regex over paths, e.g. LINT_FILES=src/http/). Exits non-zero on findings.
LINT_FILES ?= /src/
lint: configure
	@scripts/lint.sh build/$(PRESET) '$(LINT_FILES)' $(JOBS)

clean:
	rm -rf build
