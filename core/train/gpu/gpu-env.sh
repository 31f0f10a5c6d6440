# Sourced on the GPU machine (see docs/GPU.md): unpacks what `make gpu-pack` carried
# in .gotc/ and builds .gotc/libzpng-torch.so against the libtorch inside PyTorch's
# wheel; ZPNG_TORCH_LIB points zpng and the tests at it (a zpng built into .gotc/
# finds it beside itself too).
set -u
root=$(pwd)
[ -x .gotc/go/bin/go ] || tar -xJf .gotc/go.tar.xz -C .gotc
[ -f vendor/modules.txt ] || tar -xJf .gotc/vendor.tar.xz -C .
export PATH=$root/.gotc/go/bin:$PATH GOTOOLCHAIN=local GOFLAGS=-mod=vendor CGO_ENABLED=1
export GOCACHE=$root/.gotc/gocache GOPATH=$root/.gotc/gopath
TORCH=$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))')
export ZPNG_TORCH_LIB=$root/.gotc/libzpng-torch.so
# --no-as-needed keeps libtorch_cuda, which no symbol names, so that libtorch
# registers its CUDA backend.
[ -f "$ZPNG_TORCH_LIB" ] || time TORCH_CXXFLAGS="-I$TORCH/include -I$TORCH/include/torch/csrc/api/include" \
  TORCH_LDFLAGS="-L$TORCH/lib -Wl,-rpath,$TORCH/lib -Wl,--no-as-needed -ltorch_cuda -lc10_cuda -Wl,--as-needed -ltorch -ltorch_cpu -lc10" \
  core/engine/torch/csrc/build.sh "$ZPNG_TORCH_LIB"
