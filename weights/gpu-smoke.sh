#!/usr/bin/env bash
# First GPU call: build the headless CLI against PyTorch's libtorch, check CUDA is
# seen, run the integer-engine equality tests on CUDA, and train 30 steps.
source weights/gpu-env.sh
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
exec > >(tee "$OUT/smoke.log") 2>&1
nvidia-smi -L; go version; python3 -c 'import torch;print("torch", torch.__version__)'
mkdir -p .gotc/corpus && { [ -n "$(ls .gotc/corpus)" ] || tar -xJf .gotc/corpus.tar.xz -C .gotc/corpus & }
time go build -tags nogui -o .gotc/zpng ./app || exit 1
time go test -tags nogui -count=1 -run 'CUDA|Cuda|Identical|Equal' ./core/torch 2>&1 | tail -20
wait
du -sh .gotc/corpus
time .gotc/zpng train --corpus .gotc/corpus/prose --preset large --device cuda --steps 30 --batch 256 --seq 256 \
  --valid-every 30 --checkpoint-every 1000 --out /tmp/smoke.safetensors 2>&1 | tail -5
