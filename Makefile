# ZPNG build. `make setup` installs system packages (Debian/Ubuntu, needs root or sudo)
# and Go modules; `make test` runs every test; `make zpng` builds the command.
SHELL := /bin/bash
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get -o DPkg::Lock::Timeout=300 -y -q

# libtorch (CPU) + OpenBLAS for the engine, GTK/GL/X11 for Fyne, Xvfb for GUI tests,
# classical compressors for comparisons, independent PNG decoders for tests.
APT_PACKAGES := libtorch-dev libopenblas0 gcc g++ pkg-config \
	liblzma-dev libzstd-dev \
	libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev \
	libxxf86vm-dev libgtk-3-dev xvfb xauth imagemagick pngcheck \
	xz-utils zstd bzip2 brotli gzip zpaq p7zip-full \
	dpkg-dev xdg-utils libglib2.0-bin desktop-file-utils shared-mime-info dbus-daemon

GO ?= $(shell command -v go || echo /usr/local/go/bin/go)
TAGS ?=

# libzpng-torch.so: the torch engine's C++ side and libtorch beneath it
# (core/engine/torch/csrc), beside ./zpng, which loads it on first use: for
# the fine-tune, --engine torch, --device cuda and zpng train. Not built
# with TAGS=notorch. The tests run against it and fail without it.
TORCH_LIB := libzpng-torch.so
ifeq ($(filter notorch,$(TAGS)),)
TORCH_TARGET := $(TORCH_LIB)
TORCH_TEST_ENV := ZPNG_TORCH_LIB=$(CURDIR)/$(TORCH_LIB) ZPNG_REQUIRE_TORCH=1
endif

.PHONY: setup zpng test test-short bench clean fuzz fuzz-bin

setup:
	$(APT) update
	$(APT) install $(APT_PACKAGES)
	$(GO) mod download

zpng: $(TORCH_TARGET)
	$(GO) build -tags '$(TAGS)' -o zpng ./app

$(TORCH_LIB): $(wildcard core/engine/torch/csrc/*)
	nice core/engine/torch/csrc/build.sh $@

test: zpng
	$(GO) vet -tags '$(TAGS)' ./...
	ZPNG_REQUIRE_XVFB=1 ZPNG_CHECK_TABLES=1 $(TORCH_TEST_ENV) $(GO) test -tags '$(TAGS)' -timeout 30m ./...
	$(MAKE) test-deb

test-short:
	$(GO) test -short ./...

# ZPNG against gzip/bzip2/xz/zstd/brotli on the Canterbury corpus; writes
# docs/bench.md, docs/bench.csv and docs/bench.png (exits 1 if a round trip
# failed). More flags: make bench BENCH_FLAGS='--models small'.
BENCH_DIR ?= ../shared/bench/canterbury
BENCH_FLAGS ?=
bench: zpng
	nice ./zpng bench --force --out docs $(BENCH_FLAGS) $(BENCH_DIR)

# Every fuzz target for FUZZTIME each (not in CI): the container reader, the
# cm, hybrid and group decoders fed corrupt payloads, the coder, model files.
# Go prints the executions; new failing inputs land in the packages' testdata.
FUZZTIME ?= 10m
FUZZ_TARGETS := ./codec:FuzzRead ./codec:FuzzContainer ./codec/cm:FuzzCMDecode ./codec/cm:FuzzMixDecode \
	./codec/entropy:FuzzCoder ./core/neural:FuzzGroupsDecode ./core/model:FuzzUnmarshal \
	./core/model:FuzzApplyDelta ./core/model:FuzzDecode ./core/archive:FuzzUnmarshal
fuzz:
	set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== $$name ($$pkg, $(FUZZTIME))"; \
		$(GO) test -tags '$(TAGS)' -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

# dist/fuzz: the fuzz targets' packages as stripped test binaries (PKG.test,
# PKG the path with / as _) with the coverage instrumentation that guides
# fuzzing (-fuzz at build), their testdata/fuzz seeds in the packages'
# folders, and packaging/fuzz-run.sh, which runs a target for a count of
# executions on N workers on a machine without Go: copy dist/fuzz there and
# run `./fuzz-run.sh codec/cm:FuzzCMDecode 10000000x 16` (or `all`).
FUZZ_PKGS := $(sort $(foreach t,$(FUZZ_TARGETS),$(firstword $(subst :, ,$(t)))))
fuzz-bin:
	rm -rf dist/fuzz && mkdir -p dist/fuzz
	set -e; for p in $(FUZZ_PKGS); do \
		dir=$${p#./}; \
		$(GO) test -c -fuzz '^Fuzz' -tags 'nogui notorch' -ldflags='-s -w' -o dist/fuzz/$${dir//\//_}.test $$p; \
		mkdir -p dist/fuzz/$$dir; \
		if [ -d $$dir/testdata/fuzz ]; then mkdir -p dist/fuzz/$$dir/testdata && cp -r $$dir/testdata/fuzz dist/fuzz/$$dir/testdata/; fi; \
	done
	printf '%s\n' $(patsubst ./%,%,$(FUZZ_TARGETS)) >dist/fuzz/targets
	cp packaging/fuzz-run.sh dist/fuzz/

clean:
	rm -rf zpng $(TORCH_LIB) dist

# --- Packaging (packaging/README.md) ---
# tarxz: dist/zpng_VERSION_linux_ARCH.tar.xz (fyne package -os linux);
# deb: dist/zpng_VERSION_ARCH.deb; test-deb: installs the .deb (root) and
# checks that opening a .zpng.png restores it; windows: the Windows .exe;
# test-windows: that .exe compresses and restores under Wine (wine64);
# screenshot: docs/screenshot.png, the window with default settings (Xvfb).
.PHONY: tarxz deb test-deb windows test-windows screenshot
tarxz: zpng
	GO=$(GO) packaging/tarxz.sh ./zpng

deb: tarxz
	GO=$(GO) packaging/deb.sh

test-deb: deb
	$(SUDO) packaging/test-deb.sh

windows:
	GO=$(GO) packaging/windows.sh

test-windows: windows
	ZPNG_WINDOWS_EXE=$$(realpath dist/zpng_*_windows_amd64.exe) $(GO) test -tags 'nogui notorch' -run TestWindowsUnderWine -count=1 -v ./app

screenshot: zpng
	docs/screenshot.sh ./zpng docs/screenshot.png
