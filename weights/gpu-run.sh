#!/usr/bin/env bash
# The one GPU call of a session with little device time (docs/GPU.md): trains the
# small and large models with weights/train_gpu.py for TRAIN seconds while it builds
# the headless zpng against PyTorch's libtorch and checks, on CUDA: `zpng train`
# runs, and an image compressed on CUDA restores with libtorch on the CPU and with
# the pure-Go engine. Everything it reports lands in $OUT. The trainers save their
# model every 60 s, so a call cut short by the device's limit still brings both back.
# The small run starts from the shipped small model (weights/small-v3).
OUT=${OUT:-/tmp/out}; TRAIN=${TRAIN:-270}; mkdir -p "$OUT"
export ZPNG_SAVE_EVERY=60
exec > >(tee "$OUT/gpu.log") 2>&1
set -x
nvidia-smi -L
mkdir -p .gotc/corpus && tar -xJf .gotc/corpus.tar.xz -C .gotc/corpus
python3 weights/train_gpu.py .gotc/corpus 4 512 "$TRAIN" large "$OUT" F16 2e-3 > "$OUT/large.log" 2>&1 &
ZPNG_INIT=weights/small-v3.safetensors python3 weights/train_gpu.py .gotc/corpus 2 256 "$TRAIN" small "$OUT" F32 2e-3 > "$OUT/small.log" 2>&1 &
source weights/gpu-env.sh
go version
time go build -tags nogui -o .gotc/zpng ./app
z=.gotc/zpng
mkdir -p /tmp/m && cp weights/small-v3.safetensors /tmp/m/probe.safetensors
f=$(find .gotc/corpus/prose -type f -size +40k | head -1); head -c 24000 "$f" > /tmp/x.txt
time $z compress /tmp/x.txt --method neural --model /tmp/m/probe.safetensors --device cuda -o /tmp/x.png --force
ZPNG_MODELS=/tmp/m $z info /tmp/x.png
time ZPNG_MODELS=/tmp/m $z decompress /tmp/x.png --device cpu --threads 2 -o /tmp/x.cpu --force
time ZPNG_MODELS=/tmp/m $z decompress /tmp/x.png --engine go --threads 1 -o /tmp/x.go --force
sha256sum /tmp/x.txt /tmp/x.cpu /tmp/x.go
$z eval --model /tmp/m/probe.safetensors --device cuda --engine torch /tmp/x.txt
$z eval --model /tmp/m/probe.safetensors --device cpu --engine go /tmp/x.txt
# The engine's equality test on CUDA (torch CPU, every GEMM path, and CUDA against
# the pure-Go engine), then the CUDA inference benchmark.
go test -tags nogui -count=1 -run Identical ./core/torch 2>&1 | tail -4
ZPNG_BENCH_DEVICE=cuda ZPNG_BENCH_GEMM=float timeout 150 go test -tags nogui -run XXX \
  -bench 'Inference/.*/.*/torch' -benchtime 200x ./core/torch 2>&1 | grep -E 'B/s|^ok|FAIL'
timeout 60 $z train --corpus .gotc/corpus/prose --preset small --device cuda --steps 300 --batch 256 --seq 256 \
  --valid-every 300 --checkpoint-every 100000 --out /tmp/ztrain.safetensors 2>&1 | tail -4
wait
ls -la "$OUT"; tail -2 "$OUT/large.log" "$OUT/small.log"
