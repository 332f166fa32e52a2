# The user's commands. Everything real lives in meson.build and scripts/.
#   make            build build/venus-server (installs what is missing first)
#   make test       build and run the test suite (SANITIZE=1: ASan+UBSan build)
#   make demo       start the server and show a Venus client seeing the host GPU
#   make fuzz       build the libFuzzer targets and run each FUZZ_SECONDS (60)
#   make apps       vkmark, vkcube and Zink natively and through the server, with figures
#   make bench      native vs venus-server vs virglrenderer benchmark (QUICK=1: short)

SANITIZE ?= 0
FUZZ_SECONDS ?= 60

ifeq ($(SANITIZE),1)
BUILD ?= build-san
MESON_ARGS += -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
else
BUILD ?= build
endif

.PHONY: all setup test demo fuzz apps bench clean

all: $(BUILD)/venus-server

setup:
	@scripts/setup.sh

$(BUILD)/build.ninja: | setup
	meson setup $(BUILD) $(MESON_ARGS)

$(BUILD)/venus-server: setup $(BUILD)/build.ninja FORCE
	ninja -C $(BUILD)

test: $(BUILD)/venus-server
	tests/run.sh $(BUILD)

demo: $(BUILD)/venus-server
	scripts/demo.sh $(BUILD)

apps: $(BUILD)/venus-server
	scripts/apps.sh $(BUILD)

bench: $(BUILD)/venus-server
	bench/run.sh $(BUILD)

fuzz: setup
	@[ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz -Dfuzz=true -Db_lundef=false -Dbuildtype=debug -Db_sanitize=address,undefined -Dc_args=-fsanitize=fuzzer-no-link
	ninja -C build-fuzz
	fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

clean:
	rm -rf build build-san build-fuzz

FORCE:
