# Targe entry points. `make run` and `make test` are all a new user types: they install
# what is missing (apt-get when root, else they print the command) and build what they need.
SHELL := /bin/bash
export PATH := $(PATH):/opt/swift/usr/bin

APT_PACKAGES := libaio-dev libcap-dev librbd-dev librados-dev libiscsi-bin qemu-utils qemu-block-extra qemu-system-x86 tgt prometheus
# A throwaway Ceph cluster for the RBD tests (scripts/ceph-test-cluster.sh), without the
# recommended extras (about 210 MiB installed).
CEPH_TEST_PACKAGES := ceph-mon ceph-mgr ceph-osd ceph-common uuid-runtime
# Only `make bench` needs these (iperf3: the loopback TCP ceiling in scripts/bench.sh; tgt-rbd:
# tgtd's rbd backing store for scripts/bench-rbd.sh).
BENCH_APT_PACKAGES := iperf3 tgt-rbd
SWIFT_RELEASE := swift build -c release --product targe --static-swift-stdlib
TARGE := .build/release/targe
DATA_DIR ?= $(CURDIR)/.targe-data

.PHONY: all deps test-deps bench-deps build run serve test unit-test e2e-test conformance bench bench-reload clean image boot

all: build

# $(call apt_install,PACKAGES[,FLAGS]): installs those of PACKAGES that are missing (apt-get
# when root, else prints the command and fails).
define apt_install
@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
if [ -n "$$missing" ]; then \
  if [ "$$(id -u)" = 0 ]; then \
    echo "installing:$$missing"; \
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) $$missing >/dev/null; \
  else \
    echo "missing packages; run: sudo apt-get install -y $(2)$$missing"; exit 1; \
  fi; \
fi
endef

# Every `swift build`/`swift test` of this toolchain leaves an empty TemporaryDirectory.XXXXXX
# (holding only `.keep-directory`) in $TMPDIR. `deps` marks the time; `tidy_swiftpm_tmp`
# removes such directories made since, and nothing else.
SWIFTPM_TMP_STAMP := .build/.swiftpm-tmp-stamp
define tidy_swiftpm_tmp
find "$${TMPDIR:-/tmp}" -maxdepth 1 -type d -name 'TemporaryDirectory.*' -newer $(SWIFTPM_TMP_STAMP) \
  -exec sh -c 'for d; do [ "$$(ls -A "$$d")" = .keep-directory ] && rm -rf "$$d"; done; true' sh {} + 2>/dev/null || true
endef

# Installs the Debian packages the build and the tests need, once.
deps:
	$(call apt_install,$(APT_PACKAGES))
	@command -v swift >/dev/null || { echo "swift is not on PATH (expected /opt/swift/usr/bin)"; exit 1; }
	@mkdir -p .build && touch $(SWIFTPM_TMP_STAMP)

# What only the tests use (the RBD tests' Ceph cluster).
test-deps: deps
	$(call apt_install,$(CEPH_TEST_PACKAGES),--no-install-recommends)

# The same for what only `make bench` uses.
bench-deps: test-deps
	$(call apt_install,$(BENCH_APT_PACKAGES))

build: deps
	$(SWIFT_RELEASE); rc=$$?; $(tidy_swiftpm_tmp); exit $$rc

# `make run` boots the appliance image under qemu (`make boot`): the serial console on this
# terminal (type `menu`; Ctrl-A X leaves qemu), iSCSI forwarded to 127.0.0.1:$(PORT), a
# 1 GiB data disk shared as LUN 0 on first boot. `make serve` runs the daemon on this host
# instead, with the embedded default config (a sparse 1 GiB file LUN on 127.0.0.1:3260).
run: boot

serve: build
	@mkdir -p $(DATA_DIR)
	$(TARGE) serve --data-dir $(DATA_DIR)

unit-test: deps
	set -o pipefail; swift test --skip EndToEndTests 2>&1 | tee .build/unit-test.log; rc=$$?; $(tidy_swiftpm_tmp); exit $$rc

e2e-test: build test-deps
	set -o pipefail; TARGE_BIN=$(CURDIR)/$(TARGE) swift test --filter EndToEndTests 2>&1 | tee .build/e2e-test.log; \
	  rc=$$?; $(tidy_swiftpm_tmp); exit $$rc

conformance: build
	TARGE_BIN=$(CURDIR)/$(TARGE) swift test --filter ConformanceTests; rc=$$?; $(tidy_swiftpm_tmp); exit $$rc

# Unit tests, end-to-end tests against the release binary (inside them libiscsi's
# iscsi-test-cu and the booted appliance image), then each libFuzzer target for
# FUZZ_SMOKE_SECONDS as a smoke test (the fuzz build is its own, in .build-fuzz).
test: build test-deps
	TARGE_BIN=$(CURDIR)/$(TARGE) swift test; rc=$$?; $(tidy_swiftpm_tmp); exit $$rc
	$(MAKE) --no-print-directory fuzz-smoke

# Four kinds of LUN, each against tgtd on the nearest kind of backing (scripts/bench.sh):
# RAM, the protocol path alone (targe `ram` vs tgtd rdwr on a /dev/shm file), files (buffered
# vs rdwr), loop devices (aio vs aio), a RAID1 of loop devices (vs tgtd aio on one). Each run
# also measures one loopback TCP stream with iperf3. Then `rbd`: RBD images on a throwaway
# one-OSD cluster, targe vs tgtd --bstype rbd vs `rbd bench` (scripts/bench-rbd.sh).
# BENCH_BACKINGS="file" runs one kind.
# `make bench-reload`: the longest I/O pause one session sees while reloads run with 64
# sessions open (Tests/EndToEndTests/ReloadPauseBenchmark.swift; a benchmark, so `make test`
# skips it). TARGE_BENCH_SESSIONS and TARGE_BENCH_RELOADS change the counts.
bench-reload: build
	TARGE_BIN=$(CURDIR)/$(TARGE) TARGE_BENCH_RELOAD=1 swift test --filter ReloadPauseBenchmark 2>&1 | grep -E '\[bench\]|error|failed|Executed'; \
	  rc=$${PIPESTATUS[0]}; $(tidy_swiftpm_tmp); exit $$rc

BENCH_BACKINGS ?= ram file aio-loop raid1-loop rbd
bench: build bench-deps
	@rc=0; for kind in $(BENCH_BACKINGS); do \
	  if [ $$kind = rbd ]; then TARGE_BIN=$(CURDIR)/$(TARGE) bash scripts/bench-rbd.sh || rc=1; \
	  else TARGE_BIN=$(CURDIR)/$(TARGE) BENCH_BACKING=$$kind bash scripts/bench.sh || rc=1; fi; \
	done; exit $$rc

clean:
	rm -rf .build

# ---- the appliance image (image/build.sh, image/run.sh) ----
# `make image` builds .build-image/targe-appliance.img: a GPT disk that boots by itself
# (syslinux) into targe as PID 1, with an ext4 config partition labelled targe-config.
# `make boot` boots it under qemu with the console on this terminal (Ctrl-A X leaves),
# iSCSI on 127.0.0.1:$(PORT) and a 1 GiB data disk shared as LUN 0 on first boot.
IMAGE_DIR ?= $(CURDIR)/.build-image
PORT ?= 3260

# The binary is `make build`'s, or TARGE_BIN's when given.
image: $(if $(TARGE_BIN),,build)
	TARGE_BIN=$(or $(TARGE_BIN),$(CURDIR)/$(TARGE)) TARGE_IMAGE_DIR=$(IMAGE_DIR) bash image/build.sh

boot: image
	TARGE_IMAGE_DIR=$(IMAGE_DIR) PORT=$(PORT) bash image/run.sh

# ---- libFuzzer targets (Fuzz/, its own SwiftPM package; Fuzz/README.md) ----
# `make fuzz` builds the five fuzz targets (libFuzzer + AddressSanitizer, optimized) and runs
# each for FUZZ_SECONDS (FUZZ_JOBS at a time) on a temporary copy of Fuzz/Corpus/<Target>,
# then prints executions and coverage; a crash prints its artifact's path and fails.
# `make fuzz-smoke` is the same for FUZZ_SMOKE_SECONDS each.
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_JOBS ?= 1
FUZZ_TARGETS ?= FuzzPDU FuzzLoginText FuzzCDB FuzzConfig FuzzConnection
FUZZ_SCRATCH := $(CURDIR)/.build-fuzz
FUZZ_BUILD := swift build -c release --package-path Fuzz --scratch-path $(FUZZ_SCRATCH) \
	-Xswiftc -sanitize=fuzzer,address
# gold warns about every ASan register helper; those lines say nothing.
FUZZ_BUILD_QUIET := set -o pipefail; $(FUZZ_BUILD) 2>&1 | grep -v 'Cannot export local symbol'

.PHONY: fuzz fuzz-smoke

fuzz:
	@command -v swift >/dev/null || { echo "swift is not on PATH (expected /opt/swift/usr/bin)"; exit 1; }
	@$(FUZZ_BUILD_QUIET)
	@FUZZ_JOBS=$(FUZZ_JOBS) bash Fuzz/run.sh $(FUZZ_SCRATCH)/release $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke:
	@command -v swift >/dev/null || { echo "swift is not on PATH (expected /opt/swift/usr/bin)"; exit 1; }
	@$(FUZZ_BUILD_QUIET)
	@FUZZ_JOBS=$(FUZZ_JOBS) FUZZ_KEEP=0 bash Fuzz/run.sh $(FUZZ_SCRATCH)/release $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS); \
	  rc=$$?; $(tidy_swiftpm_tmp); exit $$rc
