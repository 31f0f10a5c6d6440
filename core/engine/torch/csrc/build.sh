#!/usr/bin/env bash
# build.sh OUT: builds libzpng-torch.so, the libtorch side of package torch
# (binding.cpp and kernel.cpp), into OUT. zpng loads it at run time; see
# loader.c and lib.go beside this folder.
#
# TORCH_CXXFLAGS and TORCH_LDFLAGS say where libtorch is; the defaults are
# Debian's libtorch-dev. core/engine/torch/gpu.sh sets them for the libtorch
# inside PyTorch's wheel. CXX picks the compiler (default g++).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUT}
cxxflags=${TORCH_CXXFLAGS:--I/usr/include/torch/csrc/api/include}
ldflags=${TORCH_LDFLAGS:--ltorch -ltorch_cpu -lc10}
tmp=$out.tmp$$
trap 'rm -f "$tmp"' EXIT
# -Bsymbolic: the library's calls between its own zt_* functions stay inside
# it, never reaching the executable's functions of the same names (loader.c).
# --no-undefined: every symbol resolves now, not at a user's first fine-tune.
# shellcheck disable=SC2086 # the flags are lists
"${CXX:-g++}" -shared -fPIC -O3 -Wno-deprecated-declarations $cxxflags \
	-o "$tmp" "$here/binding.cpp" "$here/kernel.cpp" \
	-Wl,-Bsymbolic -Wl,--no-undefined $ldflags -ldl
mv "$tmp" "$out"
