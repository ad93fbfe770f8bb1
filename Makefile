# Latch: every command a developer or CI needs. Each target installs what it lacks and
# skips what is already there, so a fresh Debian machine needs nothing but this file.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CARGO_BIN          := $(HOME)/.cargo/bin
export PATH        := $(CARGO_BIN):$(PATH)
# Keep cargo's output inside the clone, whatever the caller's environment says.
export CARGO_TARGET_DIR := $(CURDIR)/target

# cargo-leptos runs whichever wasm-bindgen is on PATH: this must equal the exact pin of
# the wasm-bindgen crate in Cargo.toml.
CARGO_LEPTOS_VERSION := 0.3.11
WASM_BINDGEN_VERSION := 0.2.130
# Debian's binaryen (108) emits WASM that fails to hydrate; binaryen 116 from crates.io works.
WASM_OPT_VERSION     := 0.116.1

.PHONY: help dev serve test test-rust test-e2e release tools clean
help:
	@echo "make dev    run the app with hot reload on http://localhost:3000 (SQLite in data/)"
	@echo "make serve  build and run the release binary on http://localhost:3000"
	@echo "make test   every test: unit, HTTP integration, Playwright in Chromium, through nginx"
	@echo "make cluster  nginx on http://localhost:8080 in front of two instances on PostgreSQL"

# --- running -------------------------------------------------------------------------

# The site is http://localhost:3000, a name: browsers refuse an IP address as a passkey
# relying party. (Open that address: a cross-site check compares it with the Origin.)
dev serve: export PUBLIC_ORIGIN ?= http://localhost:3000

# --split: the pages loaded on demand (src/pages.rs) are WASM files of their own; their
# code only links when split, so every build splits.
dev: tools
	cargo leptos watch --split

release: tools tool-wasm-opt
	cargo leptos build --release --split

serve: release
	LEPTOS_ENV=PROD LEPTOS_SITE_ROOT=target/site ./target/release/latch

# --- tests ---------------------------------------------------------------------------

test: test-rust test-e2e test-cluster
	@echo "make test: all suites passed"

# Playwright in Debian's Chromium against the release build (end2end/).
test-e2e: release tool-chromium tool-npm
	cd end2end && npx playwright test

# Unit tests (src/) and the HTTP integration tests (tests/http/) against the real
# server: once on SQLite, once more on PostgreSQL, with a real SMTP server for the mail
# tests. Both servers are stopped afterwards, pass or fail.
test-rust: tool-postgres tool-aiosmtpd
	@trap '$(MAKE) --no-print-directory pg-stop smtp-stop' EXIT; \
	$(MAKE) --no-print-directory pg-fresh smtp-start && \
	export LATCH_TEST_SMTP=127.0.0.1:$(SMTP_PORT) LATCH_TEST_MAILDIR=$(SMTP_DIR)/maildir && \
	cargo test --locked && \
	echo "--- the HTTP integration suite again, on PostgreSQL ---" && \
	LATCH_TEST_POSTGRES=$(PG_ADMIN_URL) cargo test --locked --test http

# --- PostgreSQL (Debian's server, a private data directory and port) ----------------

PG_BIN       = $(lastword $(sort $(wildcard /usr/lib/postgresql/*/bin)))
# Outside the clone: the server runs as the `postgres` user, which may not be allowed
# into the folder the clone lives in.
PG_DIR      ?= /tmp/latch-pg-$(PG_PORT)
# Below 32768: ports in Linux's ephemeral range (32768-60999) can be held by any
# client connection, and a load run holds thousands.
PG_PORT     ?= 25432
PG_ADMIN_URL = postgres://latch@127.0.0.1:$(PG_PORT)/postgres
# initdb refuses to run as root: as root, run the server as the `postgres` user.
PG_AS        = $(if $(filter 0,$(shell id -u)),runuser -u postgres --,)

.PHONY: pg-start pg-stop pg-fresh dev-pg tool-postgres
tool-postgres:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then exit 0; fi; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql

pg-start: tool-postgres
	@mkdir -p $(PG_DIR); \
	if [ -n "$(PG_AS)" ]; then chown postgres $(PG_DIR); fi; \
	if [ ! -f $(PG_DIR)/data/PG_VERSION ]; then \
	  $(PG_AS) $(PG_BIN)/initdb -D $(PG_DIR)/data -U latch --auth=trust -E UTF8 >/dev/null; \
	fi; \
	if $(PG_AS) $(PG_BIN)/pg_ctl -D $(PG_DIR)/data status >/dev/null 2>&1; then exit 0; fi; \
	$(PG_AS) $(PG_BIN)/pg_ctl -D $(PG_DIR)/data -l $(PG_DIR)/server.log -w -o \
	  "-p $(PG_PORT) -k $(PG_DIR) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null; \
	echo "PostgreSQL on 127.0.0.1:$(PG_PORT) (data in $(PG_DIR))"

# A new, empty cluster: every test run starts from nothing.
pg-fresh: pg-stop
	@rm -rf $(PG_DIR)
	@$(MAKE) --no-print-directory pg-start

pg-stop:
	@if [ -f $(PG_DIR)/data/PG_VERSION ]; then \
	  $(PG_AS) $(PG_BIN)/pg_ctl -D $(PG_DIR)/data -m fast stop >/dev/null 2>&1 || true; fi

# The app on a local PostgreSQL of its own (port 25442, data in data/pg, kept between
# runs; `make test` uses another one and wipes it), database `latch` created once.
DEV_PG := PG_PORT=25442 PG_DIR=$(CURDIR)/data/pg
dev-pg: tools
	@$(MAKE) --no-print-directory pg-start $(DEV_PG)
	@$(PG_BIN)/psql "postgres://latch@127.0.0.1:25442/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = 'latch'" | grep -q 1 || \
	  $(PG_BIN)/psql "postgres://latch@127.0.0.1:25442/postgres" -c "CREATE DATABASE latch" >/dev/null
	DATABASE_URL=postgres://latch@127.0.0.1:25442/latch cargo leptos watch --split

# --- the reference deployment: nginx in front of two instances on one PostgreSQL --------

.PHONY: cluster test-cluster tool-nginx
tool-nginx:
	@if { command -v nginx || [ -x /usr/sbin/nginx ]; } >/dev/null && command -v curl >/dev/null; then exit 0; fi; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx curl

# PostgreSQL, two instances and nginx on http://localhost:8080; Ctrl-C stops them all.
cluster: release tool-nginx tool-postgres
	PATH="$$PATH:/usr/sbin" deploy/cluster.sh run

# The suite that runs through nginx (tests/cluster.rs), on a cluster of its own with
# access tokens living 2 s; stopped afterwards, pass or fail.
CLUSTER_TEST_DIR := /tmp/latch-cluster-test
test-cluster: release tool-nginx tool-postgres
	@export PATH="$$PATH:/usr/sbin" CLUSTER_DIR=$(CLUSTER_TEST_DIR); \
	trap 'deploy/cluster.sh stop >/dev/null' EXIT; \
	deploy/cluster.sh stop >/dev/null 2>&1 || true; rm -rf $(CLUSTER_TEST_DIR); \
	ACCESS_TOKEN_LIFETIME=2 RUST_LOG=warn deploy/cluster.sh start && \
	LATCH_CLUSTER=http://127.0.0.1:8080 LATCH_CLUSTER_DIR=$(CLUSTER_TEST_DIR) \
	  cargo test --locked --test cluster -- --ignored

# --- SMTP (Debian's aiosmtpd: a real mail server that keeps what it receives) --------

SMTP_PORT ?= 25025
SMTP_DIR  ?= /tmp/latch-smtp-$(SMTP_PORT)
# Debian's python3-aiosmtpd belongs to Debian's interpreter, not to any other python3 on PATH.
SMTP_PYTHON := /usr/bin/python3

.PHONY: tool-aiosmtpd smtp-start smtp-stop
tool-aiosmtpd:
	@if $(SMTP_PYTHON) -c 'import aiosmtpd' 2>/dev/null; then exit 0; fi; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-aiosmtpd

# A fresh, empty Maildir (aiosmtpd creates it) and the server in the background.
smtp-start: tool-aiosmtpd smtp-stop
	@rm -rf $(SMTP_DIR) && mkdir -p $(SMTP_DIR); \
	$(SMTP_PYTHON) -m aiosmtpd -n -l 127.0.0.1:$(SMTP_PORT) -c aiosmtpd.handlers.Mailbox $(SMTP_DIR)/maildir \
	  >$(SMTP_DIR)/server.log 2>&1 & echo $$! >$(SMTP_DIR)/pid; \
	for _ in $$(seq 100); do \
	  if (exec 3<>/dev/tcp/127.0.0.1/$(SMTP_PORT)) 2>/dev/null; then \
	    echo "SMTP (aiosmtpd) on 127.0.0.1:$(SMTP_PORT), mail in $(SMTP_DIR)/maildir"; exit 0; fi; \
	  sleep 0.1; \
	done; \
	echo "aiosmtpd did not start:"; cat $(SMTP_DIR)/server.log; exit 1

smtp-stop:
	@if [ -f $(SMTP_DIR)/pid ]; then kill $$(cat $(SMTP_DIR)/pid) 2>/dev/null || true; rm -f $(SMTP_DIR)/pid; fi

# --- benchmark ----------------------------------------------------------------------

.PHONY: bench
# The release build under load (bench/load.rs), then the bundle sizes. BENCH_SECONDS
# sets each scenario's duration (default 10).
bench: release tool-chromium tool-npm tool-postgres
	@command -v brotli >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq brotli; }
	@rm -rf target/bench-tti && mkdir -p target/bench-tti
	@LEPTOS_ENV=PROD LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_ADDR=127.0.0.1:3400 RUST_LOG=warn \
	  PUBLIC_ORIGIN=http://localhost:3400 DATABASE_URL=sqlite://target/bench-tti/latch.db \
	  OUTBOX_DIR=target/bench-tti/outbox ./target/release/latch & server=$$!; \
	trap 'kill $$server' EXIT; \
	until curl -sf http://127.0.0.1:3400/healthz >/dev/null; do sleep 0.2; done; \
	cd end2end && node tti.mjs http://localhost:3400/login && node tti.mjs http://localhost:3400/
	@echo
	cargo build --release --locked --example load
	./target/release/examples/load ./target/release/latch
	@echo
	@echo "S1 and S3 again on PostgreSQL (a fresh server of its own, stopped afterwards):"
	@trap '$(MAKE) --no-print-directory pg-stop' EXIT; \
	$(MAKE) --no-print-directory pg-fresh && \
	BENCH_DATABASE_URL=$(PG_ADMIN_URL) ./target/release/examples/load ./target/release/latch
	@echo
	bench/bundle-sizes.sh target/site/pkg
	@echo
	@echo "The middleware's valid-token path against jsonwebtoken::decode alone (benches/token_path.rs)."
	@echo "Last: cargo bench rebuilds target/release/latch without cargo-leptos' settings (make serve rebuilds it)."
	cargo bench --locked --bench token_path -- --sample-count 2000

# --- fuzzing -------------------------------------------------------------------------

.PHONY: fuzz tool-cargo-fuzz
FUZZ_SECONDS ?= 60
tool-cargo-fuzz:
	@cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked

# The cookie → token → claims path under libFuzzer for FUZZ_SECONDS. cargo-fuzz wants
# nightly flags; RUSTC_BOOTSTRAP lets this stable toolchain accept them. Without a
# sanitizer: the code is safe Rust, and what is sought is a panic.
fuzz: tool-cargo-fuzz
	mkdir -p fuzz/corpus/cookie_to_claims
	cp -n fuzz/seeds/* fuzz/corpus/cookie_to_claims/ 2>/dev/null || true
	cd fuzz && RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR=$(CURDIR)/fuzz/target cargo fuzz run cookie_to_claims \
	  --sanitizer none corpus/cookie_to_claims -- -max_total_time=$(FUZZ_SECONDS) -max_len=16384

clean:
	cargo clean
	rm -rf end2end/node_modules end2end/test-results data

# --- tools ---------------------------------------------------------------------------

# Installs a pinned crate. A plain `cargo install --locked` is tried first; where the
# crate's own lock names a dependency this toolchain or registry cannot serve, the
# crate's source (left in cargo's cache by that attempt) is installed with that one
# dependency pinned to a version that works.
# $(call install_crate,crate,version,cargo-install-flags,dep,dep-version)
define install_crate
	if ! cargo install $(1) --version $(2) --locked $(3); then \
	  src=$$(mktemp -d); \
	  crate=$$(ls $(HOME)/.cargo/registry/cache/*/$(1)-$(2).crate | head -n1); \
	  tar -xzf "$$crate" -C "$$src"; \
	  ( cd "$$src/$(1)-$(2)" && cargo update -p $(4) --precise $(5) && \
	    CARGO_TARGET_DIR="$$src/target" cargo install --path . --locked $(3) ); \
	  rm -rf "$$src"; \
	fi
endef

# What `cargo leptos` needs for any build; release builds also need wasm-opt.
tools: tool-wasm-target tool-cargo-leptos tool-wasm-bindgen

.PHONY: tool-wasm-target tool-cargo-leptos tool-wasm-bindgen tool-wasm-opt tool-chromium tool-npm
tool-wasm-target:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

tool-cargo-leptos:
	@if cargo leptos --version 2>/dev/null | grep -q ' $(CARGO_LEPTOS_VERSION)'; then exit 0; fi; \
	echo "installing cargo-leptos $(CARGO_LEPTOS_VERSION) (no downloads; ~12 min once)"; \
	$(call install_crate,cargo-leptos,$(CARGO_LEPTOS_VERSION),--features no_downloads,cargo-util-schemas,0.14.1)

tool-wasm-bindgen:
	@if wasm-bindgen --version 2>/dev/null | grep -q ' $(WASM_BINDGEN_VERSION)'; then exit 0; fi; \
	echo "installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION) (~4 min once)"; \
	$(call install_crate,wasm-bindgen-cli,$(WASM_BINDGEN_VERSION),,webpki-roots,1.0.10)

tool-wasm-opt:
	@if [ -x $(CARGO_BIN)/wasm-opt ] && $(CARGO_BIN)/wasm-opt --version | grep -q 'version 116'; then exit 0; fi; \
	echo "installing wasm-opt $(WASM_OPT_VERSION) (binaryen 116; ~6 min once)"; \
	cargo install wasm-opt --version $(WASM_OPT_VERSION) --locked

tool-chromium:
	@if [ -x /usr/bin/chromium ]; then exit 0; fi; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

tool-npm: end2end/node_modules/.package-lock.json
end2end/node_modules/.package-lock.json: end2end/package.json end2end/package-lock.json
	cd end2end && npm ci --no-audit --no-fund
