#!/usr/bin/env bash
# Second GPU call: pretrain large and small side by side on one GPU for TRAIN
# seconds, write both models (large in F16: under 16 MiB) and their logs to $OUT,
# then check that an image compressed on CUDA restores on the CPU engines.
source weights/gpu-env.sh
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
TRAIN=${TRAIN:-420}
exec > >(tee "$OUT/train.log") 2>&1
[ -x .gotc/zpng ] || go build -tags nogui -o .gotc/zpng ./app || exit 1
mkdir -p .gotc/corpus; [ -n "$(ls .gotc/corpus)" ] || tar -xJf .gotc/corpus.tar.xz -C .gotc/corpus
nvidia-smi --query-gpu=name,memory.used --format=csv
.gotc/zpng train --corpus .gotc/corpus --preset large --device cuda --time-limit ${TRAIN}s \
  --batch 256 --seq 256 --lr 2e-3 --valid-every 1000 --checkpoint-every 2000 \
  --out "$OUT/large.safetensors" > "$OUT/large.log" 2>&1 &
L=$!
.gotc/zpng train --corpus .gotc/corpus --preset small --device cuda --time-limit ${TRAIN}s \
  --batch 256 --seq 256 --lr 3e-3 --valid-every 1000 --checkpoint-every 2000 \
  --out "$OUT/small.safetensors" > "$OUT/small.log" 2>&1 &
S=$!
sleep 60; nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv
wait $L $S
tail -3 "$OUT/large.log" "$OUT/small.log"
ls -la "$OUT"
# Cross-device: compress on CUDA, restore with libtorch on the CPU and with the Go engine.
f=$(find .gotc/corpus/prose -type f -size +20k -size -40k | head -1)
head -c 16384 "$f" > /tmp/x.txt
.gotc/zpng compress /tmp/x.txt --method neural --model "$OUT/small.safetensors" --device cuda -o /tmp/x.png --force &&
ZPNG_MODELS=$OUT .gotc/zpng decompress /tmp/x.png --device cpu --threads 2 -o /tmp/x.cpu --force &&
ZPNG_MODELS=$OUT .gotc/zpng decompress /tmp/x.png --engine go --threads 1 -o /tmp/x.go --force &&
sha256sum /tmp/x.txt /tmp/x.cpu /tmp/x.go
.gotc/zpng info /tmp/x.png
