# SPDX-License-Identifier: MIT
# The user's commands. Everything real lives in meson.build and scripts/.
#   make            build build/venus-server (installs what is missing first)
#   make test       build and run the test suite, then test-posix (SANITIZE=1: ASan+UBSan builds)
#   make test-posix the suite on the -Dos=posix build (the macOS code paths) with
#                   the server at --page-size 16384, as on a 16 KiB-page Mac
#   make install    install the binary, its man page and the systemd units under
#                   PREFIX (/usr/local), staged in DESTDIR if set
#   make demo       start the server and show a Venus client seeing the host GPU
#   make fuzz       build the libFuzzer targets and run each FUZZ_SECONDS (60)
#   make apps       vkmark, vkcube, Zink, ffmpeg's libplacebo, mpv, vkd3d and llama.cpp
#                   natively and through the server, with figures
#   make bench      native vs venus-server vs virglrenderer benchmark (QUICK=1: short)
#   make results    this host's results page, rewritten whole: docs/results/HOST.md
#                   (scripts/results.sh; QUICK=1: a short bench)
#   make bench-display  the built-in display: fps, commit->send latency, encode cost (bench/display.sh)
#   make bench-glmark2  glmark2-es2-wayland through Zink on Venus vs native, on the display and off-screen
#   make bench-vm-paths the vhost-user device vs the render server + VM channel, same guest and size
#                       (bench/vm-paths.sh: render_bench, commit->encoded, commit->drawn, frames whole)
#   make conformance    piglit natively and through the server (~1,650 tests, long: hours on 2 cores);
#                       fails on any test passing natively but not through the server

SANITIZE ?= 0
FUZZ_SECONDS ?= 60

ifeq ($(SANITIZE),1)
BUILD ?= build-san
MESON_ARGS += -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
else
BUILD ?= build
endif
# The -Dos=posix variant of the same build (build-posix, build-san-posix).
POSIX_BUILD ?= $(BUILD)-posix
POSIX_SERVER_ARGS ?= --page-size 16384

.PHONY: all setup roots install deb test test-posix demo fuzz apps bench results bench-display bench-glmark2 bench-vm-paths conformance clean

all: $(BUILD)/venus-server

setup:
	@scripts/setup.sh

$(BUILD)/build.ninja: | setup
	meson setup $(BUILD) $(MESON_ARGS)

$(BUILD)/venus-server: setup $(BUILD)/build.ninja FORCE
	ninja -C $(BUILD)

$(POSIX_BUILD)/build.ninja: | setup
	meson setup $(POSIX_BUILD) $(MESON_ARGS) -Dos=posix

$(POSIX_BUILD)/venus-server: setup $(POSIX_BUILD)/build.ninja FORCE
	ninja -C $(POSIX_BUILD)

# The Debian roots the guest matrix and the stock front ends run in
# (scripts/debian-root.sh: built once, a few minutes each, then cached;
# the bookworm root is bare: test_deb installs the package there).
# ROOTS=0 leaves them out (their tests then skip). The sid root carries
# llama.cpp's Vulkan backend for test_llama (and make apps' llama row) and
# QEMU 11.1 with its firmware for test_vhost_user_qemu (the first QEMU whose
# vhost-user-test-device-pci maps the back end's shared memory); and what
# operators run it under: libvirt (test_libvirt) and podman (test_cdi).
ROOTS ?= 1
SID_TEST_PKGS = llama.cpp-tools,llama.cpp-tests,libggml0-backend-vulkan,qemu-system-x86,qemu-system-data
SID_OPERATOR_PKGS = libvirt-daemon,libvirt-daemon-driver-qemu,libvirt-clients,podman,crun,conmon
roots:
	@if [ "$(ROOTS)" = 1 ]; then scripts/debian-root.sh bookworm >/dev/null && scripts/debian-root.sh trixie >/dev/null && \
	  scripts/debian-root.sh sid --include $(SID_TEST_PKGS) --include $(SID_OPERATOR_PKGS) >/dev/null; fi

# Both variants run even when the first fails; either failing fails the
# target, and the end of the output repeats each one's counts and FAIL lines.
# The test VM's guests (the test guest and the desktop one) and QEMU
# (tests/test_vm.sh) are prepared first: the first run downloads them
# (minutes), outside any one test's time limit.
test: $(BUILD)/venus-server $(POSIX_BUILD)/venus-server roots
	@[ "$${VM_TEST:-1}" = 0 ] || [ "$(SANITIZE)" = 1 ] || scripts/vm-image.sh $(BUILD) >/dev/null || \
	  echo "scripts/vm-image.sh failed: test_vm will say why"
	@[ "$${VM_TEST:-1}" = 0 ] || [ "$(SANITIZE)" = 1 ] || scripts/vm-image.sh $(BUILD) --desktop >/dev/null || \
	  echo "scripts/vm-image.sh --desktop failed: test_vhost_user_desktop will say why"
	@rc=0; tests/run.sh $(BUILD) || rc=1; \
	$(MAKE) --no-print-directory test-posix || rc=1; \
	echo "=== make test, both builds"; \
	for b in $(BUILD) $(POSIX_BUILD); do cat $$b/test-summary.txt 2>/dev/null || echo "$$b: the runner did not finish"; done; \
	exit $$rc

test-posix: $(POSIX_BUILD)/venus-server
	@echo "=== the -Dos=posix build ($(POSIX_BUILD)), server arguments: $(POSIX_SERVER_ARGS)"
	SERVER_ARGS="$(POSIX_SERVER_ARGS)" tests/run.sh $(POSIX_BUILD)

PREFIX ?= /usr/local
install: $(BUILD)/venus-server
	meson configure $(BUILD) -Dprefix=$(PREFIX)
	meson install -C $(BUILD) $(if $(DESTDIR),--destdir $(DESTDIR))

# A Debian package of this tree (debian/, dpkg-buildpackage; built in
# build-deb), written to DEB_OUT with its .buildinfo and .changes.
DEB_OUT ?= $(BUILD)/deb
deb: setup
	mkdir -p $(DEB_OUT)
	DEB_OUT=$(abspath $(DEB_OUT)) dpkg-buildpackage -b -us -uc --post-clean \
	  --buildinfo-option=-u$(abspath $(DEB_OUT)) --buildinfo-file=$(abspath $(DEB_OUT))/venus-server.buildinfo \
	  --changes-option=-u$(abspath $(DEB_OUT)) --changes-file=$(abspath $(DEB_OUT))/venus-server.changes

demo: $(BUILD)/venus-server
	scripts/demo.sh $(BUILD)

# Both run even when the first fails; either failing fails the target.
apps: $(BUILD)/venus-server
	@rc=0; scripts/apps.sh $(BUILD) || rc=1; bench/llama.sh $(BUILD) || rc=1; exit $$rc

bench: $(BUILD)/venus-server
	bench/run.sh $(BUILD)

results: $(BUILD)/venus-server
	scripts/results.sh $(BUILD)

bench-display: $(BUILD)/venus-server
	bench/display.sh $(BUILD)

bench-glmark2: $(BUILD)/venus-server
	bench/glmark2.sh $(BUILD)

bench-vm-paths: $(BUILD)/venus-server roots
	bench/vm-paths.sh $(BUILD)

conformance: $(BUILD)/venus-server
	scripts/conformance.sh $(BUILD) full

fuzz: setup
	@[ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz -Dfuzz=true -Db_lundef=false -Dbuildtype=debug -Db_sanitize=address,undefined -Dc_args=-fsanitize=fuzzer-no-link
	ninja -C build-fuzz
	fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

clean:
	rm -rf build build-san build-fuzz build-posix build-san-posix

FORCE:
