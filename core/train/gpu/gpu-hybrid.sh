#!/usr/bin/env bash
# gpu-hybrid.sh: method hybrid on CUDA (issue 21), one call to the GPU machine.
# Carried in .gotc/ (built here, see docs/GPU.md): zpng (-tags nogui, stripped),
# torch.test (go test -c of core/engine/torch), t16.txt.xz (16 MiB of text) and,
# when present, fuzz/ (fuzz-run.sh and prebuilt fuzz binaries, run beside the
# rest at nice 19). It builds libzpng-torch.so twice against PyTorch's libtorch,
# plain and with -DZT_CUDA (a stream per engine, CUDA graphs), checks that both
# make the same image, then times compressions on CUDA and restores on the CPU
# with the native, torch and Go engines. Each step has a limit; the whole run
# stays inside BUDGET seconds. Everything lands in $OUT.
# CPU dry run (no GPU): DEVICE=cpu TEXT_MB=1 OUT=/tmp/gh bash core/train/gpu/gpu-hybrid.sh
cd "$(dirname "$0")/../../.." || exit 2 # the repository root
OUT=${OUT:-/tmp/out}; BUDGET=${BUDGET:-520}; DEVICE=${DEVICE:-cuda}; TEXT_MB=${TEXT_MB:-16}
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu-hybrid.log") 2>&1
ROOT=$PWD G=$PWD/.gotc W=/tmp/gh Z=/tmp/gh/zpng; mkdir -p $W # built files go to $W: a dry run leaves .gotc/ as carried
timed() { # timed NAME LIMIT CMD...: skipped when the budget is spent
	local name=$1 limit=$2 left=$((BUDGET - SECONDS)); shift 2
	if [ $left -lt 15 ]; then echo "## $name: skipped, ${left}s of the budget left"; return 125; fi
	[ "$limit" -gt $left ] && limit=$left
	echo "## $name: $* (limit ${limit}s)"
	python3 "$ROOT/core/train/gpu/timed.py" "$name" "$limit" "$@"
}
unxz() { python3 -c 'import lzma,sys; sys.stdout.buffer.write(lzma.decompress(sys.stdin.buffer.read()))'; }
unxz <"$G/zpng.xz" >"$Z"
for f in "$G"/fuzz/*.test.xz; do [ -f "$f" ] && unxz <"$f" >"${f%.xz}"; done
chmod +x "$Z"
nvidia-smi -L; nproc; uname -m; ldd "$Z" | grep -E "lzma|zstd|not found"
# Fuzzing (make fuzz-bin; packaging/fuzz-run.sh) on the cores the rest leaves
# idle: TARGET:WORKERS:FUZZTIME each, all at once, at nice 19.
fuzzers=
if [ -x "$G/fuzz/fuzz-run.sh" ]; then
	chmod +x "$G"/fuzz/*.test
	for t in ${FUZZ:-codec/cm:FuzzCMDecode:10:$((BUDGET - 90))s codec/cm:FuzzMixDecode:3:$((BUDGET - 90))s}; do
		IFS=: read -r pkg name workers time <<<"$t"
		(nice -n 19 "$G/fuzz/fuzz-run.sh" "$pkg:$name" "$time" "$workers" >>"$OUT/fuzz.log" 2>&1) &
		fuzzers="$fuzzers $!"
	done
fi
unxz <"$G/t16.txt.xz" | head -c $((TEXT_MB << 20)) > $W/t16.txt
head -c 1048576 $W/t16.txt > $W/t1m.txt; head -c 262144 $W/t16.txt > $W/t256k.txt; head -c 4096 $W/t16.txt > $W/t4k.txt
ls -l $W

# Both libraries, in parallel.
export TORCH=$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))')
CUDA_INC=$(dirname "$( (ls /usr/local/cuda/include/cuda_runtime_api.h; find "$(dirname "$TORCH")/nvidia" -name cuda_runtime_api.h) 2>/dev/null | head -1)")
# The graph build calls the CUDA runtime itself (cudaGetLastError and the
# c10 guards' inline calls): link the libcudart that PyTorch loads, else the CUDA
# toolkit's, by its path (the wheel ships only libcudart.so.12).
CUDART=$( (find "$(dirname "$TORCH")/nvidia" -name 'libcudart.so*'; ls /usr/local/cuda/lib64/libcudart.so*) 2>/dev/null | head -1)
echo "torch $TORCH, CUDA headers $CUDA_INC, CUDA runtime $CUDART"
build() { # build EXTRA_CXXFLAGS EXTRA_LDFLAGS OUT
	TORCH_CXXFLAGS="$1 -I$TORCH/include -I$TORCH/include/torch/csrc/api/include" \
		TORCH_LDFLAGS="-L$TORCH/lib -Wl,-rpath,$TORCH/lib -Wl,--no-as-needed -ltorch_cuda -lc10_cuda -Wl,--as-needed -ltorch -ltorch_cpu -lc10 $2" \
		core/engine/torch/csrc/build.sh "$3"
}
# The libraries live in $W, never in the carried .gotc/, so a stale one from a
# dry run cannot stand in for a failed build.
rm -rf "$W/plain" "$W/graph"; mkdir -p "$W/plain" "$W/graph"
if [ "$DEVICE" = cuda ]; then
	timed build-plain 200 bash -c "$(declare -f build); build '' '' $W/plain/libzpng-torch.so" &
	plain=$!
	timed build-graph 200 bash -c "$(declare -f build); build '-DZT_CUDA -I$CUDA_INC' '$CUDART -Wl,-rpath,$(dirname "$CUDART")' $W/graph/libzpng-torch.so"
	wait $plain # not a bare wait: that also waits for the tee above
else # a CPU dry run with the library built here
	cp libzpng-torch.so "$W/plain/"; cp libzpng-torch.so "$W/graph/"
fi
[ -f "$W/plain/libzpng-torch.so" ] || { echo "## no library: stopping"; exit 1; }
LIB=$W/graph/libzpng-torch.so; [ -f "$LIB" ] || LIB=$W/plain/libzpng-torch.so
export ZPNG_TORCH_LIB=$LIB
ls -l "$W"/*/libzpng-torch.so

hy() { # hy NAME LIMIT IN OUT MODEL [ENV...]: compress IN with method hybrid on $DEVICE
	local name=$1 limit=$2 in=$3 out=$4 model=$5; shift 5
	timed "$name" "$limit" env "$@" "$Z" compress "$in" -o "$out" --method hybrid --model "$model" --device "$DEVICE" --force
}
# The graph library against the plain one and against graphs switched off: one
# image. Every stream is at least 16 KiB, so any file of 16 KiB or more takes at
# least 16,384 sequential steps (about 1.8 ms each without graphs on an H200:
# 256 KiB, twice coded with the check, ran past 60 s); 4 KiB takes 4,096.
hy sanity-graph 40 $W/t4k.txt $W/s1.png large
hy sanity-nograph 40 $W/t4k.txt $W/s0.png large ZPNG_CUDA_GRAPH=0
hy sanity-plain 40 $W/t4k.txt $W/p0.png large ZPNG_TORCH_LIB=$W/plain/libzpng-torch.so
cmp $W/s1.png $W/s0.png && cmp $W/s1.png $W/p0.png && echo "## sanity: the three images are identical"
if ! cmp -s $W/s1.png $W/p0.png && cmp -s $W/s0.png $W/p0.png; then
	echo "## graphs differ: the rest runs with ZPNG_CUDA_GRAPH=0"; export ZPNG_CUDA_GRAPH=0
fi

# The whole text, large and small model (8 groups of 128 streams at 16 MiB).
hy t16-large 170 $W/t16.txt $W/t16-large.png large && cp $W/t16-large.png "$OUT/"
"$Z" info $W/t16-large.png | grep -E 'size|streams|engine'
timed restore-t16-native 90 "$Z" decompress $W/t16-large.png -o $W/t16.native --engine native --force
sha256sum $W/t16.txt $W/t16.native
# The engines' equality test: CUDA (graphs from the third step) against the Go engine.
(cd core/engine/torch && timed identical 60 "$G/torch.test" -test.run Identical -test.count 1)
# A 256 KiB image made on CUDA (one group of 16 streams): restored with
# libtorch on the CPU and with the Go engine.
hy t256k-large 120 $W/t256k.txt $W/g1.png large && cp $W/g1.png "$OUT/t256k-large.png"
timed restore-t256k-torchcpu 60 "$Z" decompress $W/g1.png -o $W/t256k.torch --engine torch --device cpu --force
timed restore-t256k-go 90 "$Z" decompress $W/g1.png -o $W/t256k.go --engine go --force
sha256sum $W/t256k.txt $W/t256k.torch $W/t256k.go
# Method neural (the network alone, no cm half): the engine's own rate on CUDA.
timed t16-neural-large 70 "$Z" compress $W/t16.txt -o $W/t16-neural.png --method neural --model large --device "$DEVICE" --force
"$Z" info $W/t16-neural.png | grep -E 'size|streams|engine'
timed restore-t16-neural-native 80 "$Z" decompress $W/t16-neural.png -o $W/t16n.native --engine native --force
sha256sum $W/t16n.native
hy t16-small 110 $W/t16.txt $W/t16-small.png small && cp $W/t16-small.png "$OUT/"
# The inference benchmark, one thread on the CPU side.
(cd core/engine/torch && ZPNG_BENCH_DEVICE=$DEVICE ZPNG_BENCH_GEMM=float ZPNG_BENCH_THREADS=1 timed bench 50 "$G/torch.test" -test.run XXX -test.bench "Inference/.*/B=(1|64|1024)$/threads=1/torch-float" -test.benchtime 200x)
# Only the fuzzers: a bare `wait` would also wait for the tee above, which never ends.
[ -n "$fuzzers" ] && wait $fuzzers
tail -n 3 "$G"/fuzz/logs/*.log > "$OUT/fuzz-tails.log" 2>/dev/null
echo "## done at ${SECONDS}s"
