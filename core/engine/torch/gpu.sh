#!/usr/bin/env bash
# gpu.sh: build the headless zpng and libzpng-torch.so, the latter against
# the libtorch inside PyTorch's wheel (CUDA), on the GPU machine, which has no
# Go and no network, then run a command there. Two steps:
#
#   here:   core/engine/torch/gpu.sh pack
#           packs the Go toolchain (.gotc/go.tar.xz) and the Go packages the
#           headless build and the core tests need (.gotc/vendor.tar.xz) into
#           .gotc/, which git ignores; carry ".gotc" to the GPU machine.
#   there:  core/engine/torch/gpu.sh run COMMAND [ARGS...]
#           unpacks .gotc, builds .gotc/libzpng-torch.so (csrc/build.sh) with
#           flags for PyTorch's libtorch and .gotc/zpng (go build -tags nogui
#           ./app, which does not link libtorch), exports ZPNG_TORCH_LIB for
#           the tests, puts .gotc on PATH and runs COMMAND, e.g.
#             core/engine/torch/gpu.sh run zpng train --corpus DIR --preset large ...
#             core/engine/torch/gpu.sh run go test -tags nogui ./core/engine/torch -run Matches -v
#             core/engine/torch/gpu.sh run env ZPNG_BENCH_DEVICE=cuda go test -tags nogui \
#                 ./core/engine/torch -run XXX -bench Inference
#
# LIBTORCH_INCLUDE / LIBTORCH_LIB override where libtorch's headers and
# libraries are (default: from `python3 -c 'import torch'`), ZPNG_TORCH_CUDA=0
# links no CUDA libraries (to try this script on a CPU machine), ZPNG_CXXSTD
# the C++ standard.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$root"

pack() {
	mkdir -p .gotc
	grep -qx '/.gotc/' .git/info/exclude 2>/dev/null || echo '/.gotc/' >>.git/info/exclude
	if [ ! -s .gotc/go.tar.xz ]; then
		local goroot
		goroot=$(go env GOROOT)
		tar -C "$(dirname "$goroot")" -c \
			--exclude='go/test' --exclude='go/src/*/testdata' --exclude='*_test.go' \
			--exclude='go/api' --exclude='go/doc' --exclude='go/misc' \
			--exclude='go/pkg/tool/*/fix' --exclude='go/pkg/tool/*/preprofile' \
			"$(basename "$goroot")" | xz -T0 -6 >.gotc/go.tar.xz
	fi
	# A vendor tree with only the packages that the headless command and the
	# tests of core/... import (the GUI's modules stay behind), and the full
	# modules.txt so that go accepts it.
	local tmp
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' RETURN
	GOFLAGS=-mod=mod go mod vendor -o "$tmp/full"
	mkdir -p "$tmp/vendor"
	cp "$tmp/full/modules.txt" "$tmp/vendor/"
	GOFLAGS=-mod=mod go list -deps -test -tags nogui \
		-f '{{if .Module}}{{if not .Module.Main}}{{.ImportPath}}{{range .EmbedFiles}} {{.}}{{end}}{{end}}{{end}}' \
		./app ./core/... | sort -u | while read -r pkg embeds; do
		[ -d "$tmp/full/$pkg" ] || continue
		mkdir -p "$tmp/vendor/$pkg"
		find "$tmp/full/$pkg" -maxdepth 1 -type f -exec cp {} "$tmp/vendor/$pkg/" \;
		for f in $embeds; do # files that //go:embed takes from subdirectories
			mkdir -p "$(dirname "$tmp/vendor/$pkg/$f")"
			cp "$tmp/full/$pkg/$f" "$tmp/vendor/$pkg/$f"
		done
	done
	tar -C "$tmp" -cJf .gotc/vendor.tar.xz vendor
	ls -l .gotc/go.tar.xz .gotc/vendor.tar.xz
}

run() {
	[ $# -gt 0 ] || { echo "usage: $0 run COMMAND [ARGS...]" >&2; exit 2; }
	[ -x .gotc/go/bin/go ] || tar -xJf .gotc/go.tar.xz -C .gotc
	if [ -f .gotc/vendor.tar.xz ] && [ ! -d vendor ]; then tar -xJf .gotc/vendor.tar.xz; fi
	export PATH=$root/.gotc/go/bin:$PATH GOTOOLCHAIN=local GOFLAGS=-mod=vendor CGO_ENABLED=1
	local inc lib std abi cuda
	if [ -n "${LIBTORCH_INCLUDE:-}" ]; then
		inc=$LIBTORCH_INCLUDE lib=${LIBTORCH_LIB:?set LIBTORCH_LIB too} abi=1
	else
		local torch
		torch=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))')
		inc=$torch/include lib=$torch/lib
		abi=$(python3 -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
	fi
	std=${ZPNG_CXXSTD:-c++17}
	if [ -z "${ZPNG_CXXSTD:-}" ] && grep -rqs 'need C++20' "$inc/c10/util" "$inc/c10/macros"; then std=c++20; fi
	cuda="-Wl,--no-as-needed -ltorch_cuda -lc10_cuda -Wl,--as-needed"
	[ "${ZPNG_TORCH_CUDA:-1}" = 0 ] && cuda=""
	export TORCH_CXXFLAGS="-std=$std -D_GLIBCXX_USE_CXX11_ABI=$abi -I$inc -I$inc/torch/csrc/api/include"
	# --no-as-needed keeps libtorch_cuda, which no symbol names, so that
	# libtorch registers its CUDA backend.
	export TORCH_LDFLAGS="-L$lib -Wl,-rpath,$lib $cuda -ltorch -ltorch_cpu -lc10"
	export ZPNG_TORCH_LIB=$root/.gotc/libzpng-torch.so
	nvidia-smi -L 2>/dev/null || echo "(no nvidia-smi)"
	go version
	echo "TORCH_CXXFLAGS=$TORCH_CXXFLAGS"
	echo "TORCH_LDFLAGS=$TORCH_LDFLAGS"
	local t0=$SECONDS
	core/engine/torch/csrc/build.sh "$ZPNG_TORCH_LIB"
	go build -tags nogui -o .gotc/zpng ./app
	echo "built .gotc/libzpng-torch.so and .gotc/zpng in $((SECONDS - t0))s"
	export PATH=$root/.gotc:$PATH
	"$@"
}

case "${1:-}" in
pack) pack ;;
run) shift; run "$@" ;;
*) sed -n '2,23p' "$0" >&2; exit 2 ;;
esac
