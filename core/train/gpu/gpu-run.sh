#!/usr/bin/env bash
# The one call to a GPU machine with little device time (docs/GPU.md): trains the
# models named in PRESETS (default "large small") with core/train/gpu/train_gpu.py for TRAIN
# seconds, each from the newest shipped model of its preset so that GPU runs add
# up (LR: peak learning rate; 1e-3 suits continuing, 2e-3 a fresh start; LR_SMALL, the
# small model's if it should differ; ZPNG_BATCH, windows per step; ZPNG_REPEAT and the
# other variables of train_gpu.py pass through to both trainers). Unless GO=0,
# it meanwhile builds the headless zpng against PyTorch's libtorch and checks it on
# CUDA (beside the trainers, so its timings are not the GPU's alone). Everything it
# reports lands in $OUT; the trainers save their model every 60 s, so a call cut
# short by the device's limit still brings them back. GO=0 needs only the corpus
# carried, which leaves room for a larger slice (core/train/gpu/corpus-subset.sh SCALE).
cd "$(dirname "$0")/../../.."  # the repository root: the paths below start there
OUT=${OUT:-/tmp/out}; TRAIN=${TRAIN:-270}; LR=${LR:-1e-3}; PRESETS=${PRESETS:-large small}
mkdir -p "$OUT"
export ZPNG_SAVE_EVERY=60
newest() { ls weights/"$1"-v*.safetensors | sort -V | tail -1; }
exec > >(tee "$OUT/gpu.log") 2>&1
set -x
nvidia-smi -L
mkdir -p .gotc/corpus && tar -xJf .gotc/corpus.tar.xz -C .gotc/corpus
trainers=
for p in $PRESETS; do
  case $p in
  large) shape="4 512" dtype=F16 lr=$LR ;; # F16 keeps the file under the 16 MiB a file may bring back
  small) shape="2 256" dtype=F32 lr=${LR_SMALL:-$LR} ;;
  # medium has no shipped model yet: the first run starts from scratch (LR 2e-3).
  medium) shape="3 384" dtype=F32 lr=${LR_MEDIUM:-$([ -n "$(newest medium 2>/dev/null)" ] && echo "$LR" || echo 2e-3)} ;;
  *) echo "unknown preset $p"; exit 2 ;;
  esac
  ZPNG_INIT=$(newest "$p" 2>/dev/null) python3 core/train/gpu/train_gpu.py .gotc/corpus $shape "$TRAIN" "$p" "$OUT" $dtype "$lr" > "$OUT/$p.log" 2>&1 &
  trainers="$trainers $!"
done
if [ "${GO:-1}" = 1 ]; then
  source core/train/gpu/gpu-env.sh
  go version
  time go build -tags nogui -o .gotc/zpng ./app
  z=.gotc/zpng
  mkdir -p /tmp/m && cp "$(newest small)" /tmp/m/probe.safetensors
  f=$(find .gotc/corpus/prose -type f -size +40k | head -1); head -c 24000 "$f" > /tmp/x.txt
  time $z compress /tmp/x.txt --method hybrid --model /tmp/m/probe.safetensors --device cuda -o /tmp/x.png --force
  ZPNG_MODELS=/tmp/m $z info /tmp/x.png
  time ZPNG_MODELS=/tmp/m $z decompress /tmp/x.png --device cpu --threads 2 -o /tmp/x.cpu --force
  time ZPNG_MODELS=/tmp/m $z decompress /tmp/x.png --engine go --threads 1 -o /tmp/x.go --force
  sha256sum /tmp/x.txt /tmp/x.cpu /tmp/x.go
  $z eval --model /tmp/m/probe.safetensors --device cuda --engine torch /tmp/x.txt
  $z eval --model /tmp/m/probe.safetensors --device cpu --engine go /tmp/x.txt
  # The engine's equality test on CUDA (torch CPU, every GEMM path, and CUDA against
  # the pure-Go engine), then the CUDA inference benchmark.
  go test -tags nogui -count=1 -run Identical ./core/engine/torch 2>&1 | tail -4
  ZPNG_BENCH_DEVICE=cuda ZPNG_BENCH_GEMM=float timeout 150 go test -tags nogui -run XXX \
    -bench 'Inference/.*/.*/torch' -benchtime 200x ./core/engine/torch 2>&1 | grep -E 'B/s|^ok|FAIL'
  timeout 60 $z train --corpus .gotc/corpus/prose --preset small --device cuda --steps 300 --batch 256 --seq 256 \
    --valid-every 300 --checkpoint-every 100000 --out /tmp/ztrain.safetensors 2>&1 | tail -4
fi
# Only the trainers: a bare `wait` also waits for the tee above, which never ends.
wait $trainers
ls -la "$OUT"; tail -n 2 "$OUT"/*.log
