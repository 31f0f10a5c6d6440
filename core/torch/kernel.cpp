// kernel.cpp: see kernel.h. The arithmetic follows docs/ENGINE.md exactly;
// the functions are compiled twice (AVX2 and baseline x86-64) and picked at
// run time, which changes speed only: every operation is exact.
#include "kernel.h"

#include <algorithm>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define ZK_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define ZK_CLONES
#endif

namespace zk {

namespace {

// rne rounds x to the nearest integer (ties to even) for |x| < 2^51, in
// default rounding mode, by pushing the fraction out of the mantissa.
inline double rne(double x) {
  const double c = 6755399441055744.0;  // 1.5 · 2^52
  return (x + c) - c;
}

inline int32_t clamp16(int32_t x) { return std::min(std::max(x, -32768), 32767); }

}  // namespace

// floor((acc·M + 2^19) / 2^20) = rne(acc·M·2^-20 + 2^-21): acc·M·2^-20 has
// at most 20 fractional bits, so adding 2^-21 never lands on a tie and every
// step is exact in double (51 significant bits at most).
ZK_CLONES
void rescale_rows(const float* __restrict acc, const double* __restrict m, const int32_t* __restrict b,
                  int32_t* __restrict out, int n) {
  for (int i = 0; i < n; i++) {
    double t = static_cast<double>(acc[i]) * m[i] * (1.0 / 1048576.0) + (1.0 / 2097152.0);
    out[i] = static_cast<int32_t>(rne(t)) + b[i];
  }
}

// All sums fit int32: pre-activations are below 2^30 in magnitude, and
// z·(h − n) ≤ 32767 · 65534 < 2^31. r·gh_n (up to 2^45) goes through double
// like rescale: floor((r·g + 2^14) / 2^15) = rne(r·g·2^-15 + 2^-16).
ZK_CLONES
void gates(const int32_t* __restrict gi, const int32_t* __restrict gh, const int32_t* __restrict sig,
           const int32_t* __restrict tanh_, int32_t* __restrict h, float* __restrict h8, int H) {
  for (int j = 0; j < H; j++) {
    int32_t r = sig[(clamp16(gi[j] + gh[j]) + 32768) >> 3];
    int32_t z = sig[(clamp16(gi[H + j] + gh[H + j]) + 32768) >> 3];
    double rg = static_cast<double>(r) * gh[2 * H + j] * (1.0 / 32768.0) + (1.0 / 65536.0);
    int32_t n = tanh_[(clamp16(gi[2 * H + j] + static_cast<int32_t>(rne(rg))) + 32768) >> 3];
    int32_t v = n + ((z * (h[j] - n) + 16384) >> 15);
    h[j] = v;
    h8[j] = static_cast<float>((v * 127 + 16384) >> 15);
  }
}

void softmax(const int32_t* logit, const int32_t* exp_, uint16_t* freqs) {
  int32_t m = logit[0];
  int a = 0;
  for (int k = 1; k < 256; k++) {
    if (logit[k] > m) {
      m = logit[k];
      a = k;
    }
  }
  uint32_t e[256];
  uint32_t s = 0;  // at most 256 · 65536
  for (int k = 0; k < 256; k++) {
    e[k] = static_cast<uint32_t>(exp_[std::min((m - logit[k]) >> 3, 8191)]);
    s += e[k];
  }
  uint32_t total = 0;
  for (int k = 0; k < 256; k++) {
    uint32_t f = 1 + e[k] * 65280u / s;  // e·65280 < 2^32
    freqs[k] = static_cast<uint16_t>(f);
    total += f;
  }
  freqs[a] = static_cast<uint16_t>(freqs[a] + (65536 - total));
}

Pool::Pool(int threads) {
  for (int i = 1; i < threads; i++) workers_.emplace_back([this, i] { loop(i); });
}

Pool::~Pool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  start_.notify_all();
  for (auto& w : workers_) w.join();
}

void Pool::run(int n, const std::function<void(int)>& f) {
  const int T = threads();
  if (n <= 1 || T == 1) {
    for (int i = 0; i < n; i++) f(i);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    task_ = &f;
    n_ = n;
    pending_ = static_cast<int>(workers_.size());
    generation_++;
  }
  start_.notify_all();
  for (int i = 0; i < n; i += T) f(i);  // the caller takes chunks 0, T, 2T, …
  std::unique_lock<std::mutex> lock(mu_);
  done_.wait(lock, [this] { return pending_ == 0; });
  task_ = nullptr;
}

void Pool::loop(int id) {
  uint64_t seen = 0;
  for (;;) {
    const std::function<void(int)>* f;
    int n;
    {
      std::unique_lock<std::mutex> lock(mu_);
      start_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      f = task_;
      n = n_;
    }
    for (int i = id; i < n; i += threads()) (*f)(i);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (--pending_ == 0) done_.notify_one();
    }
  }
}

}  // namespace zk
