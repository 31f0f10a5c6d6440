# Sourced on the GPU machine (see docs/GPU.md): unpacks what `make gpu-pack` carried
# in .gotc/ and points cgo at the libtorch inside PyTorch's wheel.
set -u
root=$(pwd)
[ -x .gotc/go/bin/go ] || tar -xJf .gotc/go.tar.xz -C .gotc
[ -f vendor/modules.txt ] || tar -xJf .gotc/vendor.tar.xz -C .
export PATH=$root/.gotc/go/bin:$PATH GOTOOLCHAIN=local GOFLAGS=-mod=vendor CGO_ENABLED=1
export GOCACHE=$root/.gotc/gocache GOPATH=$root/.gotc/gopath
TORCH=$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))')
export CGO_CXXFLAGS="-I$TORCH/include -I$TORCH/include/torch/csrc/api/include"
export CGO_LDFLAGS="-L$TORCH/lib -Wl,-rpath,$TORCH/lib -Wl,--no-as-needed -ltorch_cuda -lc10_cuda -Wl,--as-needed"
