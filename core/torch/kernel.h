// kernel.h: the exact integer part of the fixed-point step (docs/ENGINE.md)
// that follows the matrix products, and a small thread pool to run it over
// the streams. Plain C++ without libtorch, so it compiles in a second.
#ifndef ZPNG_TORCH_KERNEL_H
#define ZPNG_TORCH_KERNEL_H

#include <stdint.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace zk {

// rescale_rows sets out[i] = rescale(acc[i], m[i]) + b[i] for n rows, where
// acc holds exact integer products as floats and m the multipliers as doubles.
// The double arithmetic is exact because a validated quant.Model keeps
// |acc·M| below 2^50 (its pre-activations below 2^30).
void rescale_rows(const float* acc, const double* m, const int32_t* b, int32_t* out, int n);

// gates applies one GRU layer to one stream: gi and gh are the [3H]
// pre-activations (r, z, n), h the Q15 state and h8 its int8 copy (as floats,
// the input of the next products).
void gates(const int32_t* gi, const int32_t* gh, const int32_t* sig, const int32_t* tanh_, int32_t* h, float* h8,
           int H);

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
