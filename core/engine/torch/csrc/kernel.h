// kernel.h: the exact integer parts of the fixed-point step (docs/ENGINE.md):
// an int8 GEMM for the matrix products and what follows them, and a small
// thread pool to run them over the streams. Plain C++ without libtorch, so it
// compiles in a second.
#ifndef ZPNG_TORCH_KERNEL_H
#define ZPNG_TORCH_KERNEL_H

#include <stdint.h>

#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace zk {

// PackedInt8 is an int8 weight matrix W [n][k] packed once for gemm_i8:
// tiles of 16 rows, each stored as [kp/4][16][4] (kp = k rounded up to 4),
// so one 64-byte load gives 4 consecutive k of 16 rows, the operand of one
// VNNI instruction. Padding rows and columns are zero.
class PackedInt8 {
 public:
  PackedInt8() = default;
  PackedInt8(const int8_t* w, int n, int k);
  int n() const { return n_; }
  int k() const { return k_; }
  int kp() const { return kp_; }
  // tiles is the number of 16-row tiles, a multiple of 4 (the VNNI kernel
  // works on 4 at a time).
  int tiles() const { return (n_ + 63) / 64 * 4; }
  const int8_t* tile(int t) const { return data_ + static_cast<size_t>(t) * kp_ * 16; }
  // bias128 holds 128·Σ_j W[i][j] per row (tiles()·16 entries): the VNNI
  // kernel multiplies x + 128 (unsigned) and subtracts this.
  const int32_t* bias128() const { return bias128_.data(); }

 private:
  int n_ = 0, k_ = 0, kp_ = 0;
  struct Free {
    void operator()(int8_t* p) const { std::free(p); }
  };
  std::unique_ptr<int8_t, Free> own_;  // 64-byte aligned: one tile step is one cache line
  int8_t* data_ = nullptr;
  std::vector<int32_t> bias128_;
};

// Isa is the instruction set that gemm_i8, rescale_rows and gates may use:
// plain C++, or AVX-512 with VNNI. Every function computes exactly, so both
// give identical integers.
enum class Isa { kPortable, kAvx512Vnni };

// vnni_supported reports whether this CPU runs Isa::kAvx512Vnni.
bool vnni_supported();

// gemm_i8 sets out[m·ldo + i] = Σ_j x[m·ldx + j] · W[i][j] for m < rows and
// i < w.n(), exact in int32 for any int8 values (|sum| ≤ 128²·k < 2^31 for
// k < 2^17). Rows of x must be readable up to w.kp(): the bytes past k meet
// zero weights.
void gemm_i8(Isa isa, const int8_t* x, int ldx, int rows, const PackedInt8& w, int32_t* out, int ldo);

// rescale_rows sets out[i] = rescale(acc[i], m[i]) + b[i] for n rows, where
// acc holds exact integer products as floats and m the multipliers as doubles.
// The double arithmetic is exact because a validated model.Quantized keeps
// |acc·M| below 2^50 (its pre-activations below 2^30).
void rescale_rows(const float* acc, const double* m, const int32_t* b, int32_t* out, int n);
// The same for exact int32 products.
void rescale_rows(Isa isa, const int32_t* acc, const double* m, const int32_t* b, int32_t* out, int n);

// gates applies one GRU layer to one stream: gi and gh are the [3H]
// pre-activations (r, z, n), h the Q15 state and h8 its int8 copy (the
// input of the next products).
void gates(Isa isa, const int32_t* gi, const int32_t* gh, const int32_t* sig, const int32_t* tanh_, int32_t* h,
           int8_t* h8, int H);

// softmax turns 256 logits into a frequency table summing to 2^16.
void softmax(const int32_t* logit, const int32_t* exp_, uint16_t* freqs);

// Pool runs chunks of work on threads-1 helper threads plus the caller.
class Pool {
 public:
  explicit Pool(int threads);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  int threads() const { return static_cast<int>(workers_.size()) + 1; }
  // run calls f(i) for every i in [0, n) and returns when all are done.
  void run(int n, const std::function<void(int)>& f);

 private:
  void loop(int id);
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable start_, done_;
  const std::function<void(int)>* task_ = nullptr;
  int n_ = 0, pending_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

}  // namespace zk

#endif
