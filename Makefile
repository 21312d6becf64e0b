# Thin front door over Meson + ninja.  The README's two commands are
#   make deps demo     install dependencies, build, run the main job
#   make deps check    install dependencies, build, run every test
BUILD ?= build
ASAN_BUILD ?= build-asan
MESON_TEST_ARGS ?= --print-errorlogs
DEPS = build-essential meson ninja-build pkg-config libxen-dev libcmocka-dev \
       xenstore-utils libpcap-dev tcpdump iperf3 iproute2 iputils-ping \
       clang libclang-rt-14-dev gnuplot-nox procps

.PHONY: all deps demo check check-asan clean

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

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

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
