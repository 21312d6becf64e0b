# Thin front door over Meson + ninja.  The README's two commands are
#   make deps demo     install dependencies, build, run the main job
#   make deps check    install dependencies, build, run every test
BUILD ?= build
ASAN_BUILD ?= build-asan
MESON_TEST_ARGS ?= --print-errorlogs
DEPS = build-essential meson ninja-build pkg-config libxen-dev libcmocka-dev \
       xenstore-utils libpcap-dev tcpdump iperf3 iproute2 iputils-ping \
       clang libclang-rt-14-dev gnuplot-nox procps dpdk \
       libxdp-dev libbpf-dev xdp-tools tcpreplay ethtool
# Packaging (README "Install"): man pages, the Debian package and its checks.
DEPS += help2man debhelper lintian dpkg-dev fakeroot man-db bash-completion
# tests/vhost ovs: Open vSwitch with DPDK as a vhost-user peer (a private
# instance; on a systemd host the package also enables openvswitch-switch).
DEPS += openvswitch-switch-dpdk

.PHONY: all deps demo check check-asan check-tsan clean fuzz fuzz-merge check-xen

# build/stagenet is the name the README and scripts use for the binary.
all: $(BUILD)/build.ninja
	ninja -C $(BUILD)
	ln -sfn src/cli/stagenet $(BUILD)/stagenet

$(BUILD)/build.ninja:
	meson setup $(BUILD)

deps:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	if dpkg -s $(DEPS) >/dev/null 2>&1; then echo "deps: all installed"; else \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(DEPS); fi

demo: all
	./scripts/demo.sh $(BUILD)/stagenet

check: all
	meson test -C $(BUILD) $(MESON_TEST_ARGS)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false

check-asan: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	meson test -C $(ASAN_BUILD) $(MESON_TEST_ARGS)

# ThreadSanitizer over the race tests of the hostile-peer catalogue: XSA-155
# (a peer thread rewrites ring slots while they are parsed) and XSA-424
# (drops from the RX limits while traffic flows, teardown mid-flood), and
# over the staging table's datapath-against-ADD/DEL race (sback_staging).  Only
# the binaries those tests need are built.  gcc warns that TSan does not
# model standalone fences (the ring barriers); -Wno-tsan keeps -Werror
# usable, and a missed race there can only hide a report, not invent one.
TSAN_BUILD ?= build-tsan
TSAN_TESTS = xsa155_double_fetch xsa155_back_double_fetch sback_staging \
             xsa155_front_rx_response xsa155_front_tx_response \
             xsa424_drops_while_traffic_flows
TSAN_TARGETS = src/cli/stagenet tests/hostile/test_hostile_xsa_rings \
               tests/hostile/test_hostile_xsa_back tests/hostile/test_hostile_xsa_flow \
               tests/netback/test_sback_staging

$(TSAN_BUILD)/build.ninja:
	meson setup $(TSAN_BUILD) -Db_sanitize=thread -Db_lundef=false -Dc_args=-Wno-tsan

check-tsan: $(TSAN_BUILD)/build.ninja
	ninja -C $(TSAN_BUILD) $(TSAN_TARGETS)
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  meson test -C $(TSAN_BUILD) --no-rebuild $(MESON_TEST_ARGS) $(TSAN_TESTS)

# libFuzzer harnesses (fuzz/, fuzz/README.md): a separate clang build with
# coverage and ASan+UBSan.  FUZZ_SECONDS is the time of EACH harness;
# FUZZ_JOBS harnesses run at once (one core each), so the stage takes about
# FUZZ_SECONDS * harnesses / FUZZ_JOBS.  A crash, leak or timeout fails the
# target and leaves the input in fuzz/crashes/.  After a clean run the new
# coverage-increasing inputs are merged into fuzz/corpus/<h>/ (libFuzzer
# -merge=1; FUZZ_MERGE=0 skips it): commit them, so the corpus grows from
# run to run.  `make fuzz-merge` merges again what earlier runs found
# (build-fuzz/fuzz-work/<h>/) without fuzzing.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 2
FUZZ_HARNESSES = $(notdir $(wildcard fuzz/corpus/*))

$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) -Dfuzz=true \
	  -Db_sanitize=address,undefined -Db_lundef=false

fuzz: $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD) fuzz
	@echo "fuzz: $(words $(FUZZ_HARNESSES)) harnesses, $(FUZZ_SECONDS) s each, $(FUZZ_JOBS) at a time"
	@printf '%s\n' $(FUZZ_HARNESSES) | \
	  xargs -P $(FUZZ_JOBS) -I{} fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) {}

fuzz-merge: $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD) fuzz
	@printf '%s\n' $(FUZZ_HARNESSES) | \
	  xargs -P $(FUZZ_JOBS) -I{} fuzz/run.sh $(FUZZ_BUILD) merge {}

# Real Xen (tests/xen/run, README "Running on real Xen"): boots Xen 4.17 with
# a Debian dom0 and PV domUs under QEMU TCG and runs stagenet against Linux
# xen-netfront, Linux xen-netback and itself (scenarios A-D).  Root; about
# 10 min with the image cached in /var/tmp/stagenet-xenlab, +2-3 min to build it (Debian
# archive needed once; without it the stage skips, loudly).
check-xen: all
	tests/xen/run $(BUILD)/src/cli/stagenet

# The soak (tests/soak/run, README "Tests"): churn, grant faults and a
# notify storm on a private emulated host for SOAK_MINUTES (plus about 15 s
# for setup and the checks); not part of check.  Ends with
# "N passed, N failed", kept in $(BUILD)/soak.log for the CI summary.
SOAK_MINUTES ?= 4

.PHONY: soak
soak: all
	SOAK_MINUTES=$(SOAK_MINUTES) bash -o pipefail -c \
	  'tests/soak/run $(BUILD) 2>&1 | tee $(BUILD)/soak.log'

# The Debian packages (debian/, README "Install"): built from a copy of the
# tree into $(PKG_BUILD), lintian clean of errors, unpacked into a scratch
# root where `stagenet --version` and `man -w stagenet` run; the verdict
# line "package: N passed, N failed" is kept in $(PKG_BUILD)/check.log.
PKG_BUILD ?= build-deb

.PHONY: package check-package
package check-package:
	scripts/check-package.sh $(PKG_BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD) $(PKG_BUILD)
