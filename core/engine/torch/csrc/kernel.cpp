// kernel.cpp: see kernel.h. The arithmetic follows docs/ENGINE.md exactly;
// the plain functions are compiled twice (AVX2 and baseline x86-64) and
// picked at run time, and Isa::kAvx512Vnni has hand-written versions. The
// choice changes speed only: every operation is exact.
#include "kernel.h"

#include <algorithm>
#include <cstring>
#include <new>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define ZK_X86 1
#endif

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

// rescale is floor((acc·M + 2^19) / 2^20) = rne(acc·M·2^-20 + 2^-21):
// acc·M·2^-20 has at most 20 fractional bits, so adding 2^-21 never lands on
// a tie and every step is exact in double (51 significant bits at most).
inline int32_t rescale(double acc, double m) {
  return static_cast<int32_t>(rne(acc * m * (1.0 / 1048576.0) + (1.0 / 2097152.0)));
}

}  // namespace

PackedInt8::PackedInt8(const int8_t* w, int n, int k) : n_(n), k_(k), kp_((k + 3) / 4 * 4) {
  const size_t size = static_cast<size_t>(tiles()) * kp_ * 16;
  data_ = static_cast<int8_t*>(std::aligned_alloc(64, (size + 63) / 64 * 64));
  if (data_ == nullptr) throw std::bad_alloc();
  own_.reset(data_);
  std::memset(data_, 0, size);
  bias128_.assign(static_cast<size_t>(tiles()) * 16, 0);
  for (int i = 0; i < n; i++) {
    int8_t* t = data_ + static_cast<size_t>(i / 16) * kp_ * 16 + (i % 16) * 4;
    int32_t sum = 0;
    for (int j = 0; j < k; j++) {
      int8_t v = w[static_cast<size_t>(i) * k + j];
      t[(j / 4) * 64 + j % 4] = v;
      sum += v;
    }
    bias128_[i] = 128 * sum;
  }
}

bool vnni_supported() {
#ifdef ZK_X86
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
#else
  return false;
#endif
}

namespace {

inline int32_t load4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// portable_tile computes 16 outputs of one row of x against one tile in
// plain integer C++. It is the fallback and a second opinion on the VNNI
// kernel, not a fast path: on CPUs without VNNI, "auto" picks the float GEMM.
void portable_tile(const int8_t* x, const int8_t* t, int k4, int32_t* acc) {
  for (int c = 0; c < 16; c++) acc[c] = 0;
  for (int k = 0; k < k4; k++) {
    const int8_t* xs = x + 4 * k;
    const int8_t* ws = t + 64 * k;
    for (int c = 0; c < 16; c++) {
      acc[c] += xs[0] * ws[4 * c] + xs[1] * ws[4 * c + 1] + xs[2] * ws[4 * c + 2] + xs[3] * ws[4 * c + 3];
    }
  }
}

void gemm_portable(const int8_t* x, int ldx, int rows, const PackedInt8& w, int32_t* out, int ldo) {
  int32_t acc[16];
  for (int m = 0; m < rows; m++) {
    for (int t = 0; 16 * t < w.n(); t++) {
      portable_tile(x + static_cast<size_t>(m) * ldx, w.tile(t), w.kp() / 4, acc);
      const int c1 = std::min(16, w.n() - 16 * t);
      std::memcpy(out + static_cast<size_t>(m) * ldo + 16 * t, acc, c1 * sizeof(int32_t));
    }
  }
}

#ifdef ZK_X86
// Everything up to pop_options may use AVX-512 VNNI; the callers below use it
// only for Isa::kAvx512Vnni, which the engine picks only where
// vnni_supported() says so.
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512vnni")

// vnni_block computes 6 rows × 4 tiles (64 columns) of the output into 24
// accumulators held in registers (named one by one: GCC spills arrays of
// vectors to the stack). vpdpbusd multiplies unsigned by signed bytes, so x
// goes in as x + 128 (x xor 0x80) and each accumulator starts at −128·Σw of
// its column, which cancels the shift exactly. x[r] points at row r; rows
// past the last real one repeat it and are not stored.
// It covers k in [4·k0, 4·k1); for k0 > 0 it adds to out's previous values,
// which stay valid because rows past the last one are never stored.
void vnni_block(const int8_t* const x[6], int rows, const PackedInt8& w, int t0, int k0, int k1, int32_t* out,
                int ldo) {
  const size_t ts = static_cast<size_t>(w.kp()) * 16;  // bytes per tile
  const int8_t* w0 = w.tile(t0);
  const __m512i flip = _mm512_set1_epi32(static_cast<int32_t>(0x80808080u));
  int32_t* o = out + 16 * t0;
  __m512i init[4];
  for (int t = 0; t < 4; t++) {
    init[t] = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_loadu_si512(w.bias128() + 16 * (t0 + t)));
  }
#define ZK_INIT(r)                                                                             \
  __m512i a##r##0 = init[0], a##r##1 = init[1], a##r##2 = init[2], a##r##3 = init[3];          \
  if (k0 > 0) {                                                                                \
    const int32_t* p = o + static_cast<size_t>(r < rows ? r : 0) * ldo;                        \
    a##r##0 = _mm512_loadu_si512(p), a##r##1 = _mm512_loadu_si512(p + 16);                     \
    a##r##2 = _mm512_loadu_si512(p + 32), a##r##3 = _mm512_loadu_si512(p + 48);                \
  }
  ZK_INIT(0) ZK_INIT(1) ZK_INIT(2) ZK_INIT(3) ZK_INIT(4) ZK_INIT(5)
#undef ZK_INIT
  const int8_t *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3], *x4 = x[4], *x5 = x[5];
  for (int k = k0; k < k1; k++) {
    const int8_t* wk = w0 + 64 * k;
    const __m512i v0 = _mm512_load_si512(wk), v1 = _mm512_load_si512(wk + ts), v2 = _mm512_load_si512(wk + 2 * ts),
                  v3 = _mm512_load_si512(wk + 3 * ts);
#define ZK_ROW(r)                                                                \
  {                                                                              \
    const __m512i u = _mm512_xor_si512(_mm512_set1_epi32(load4(x##r + 4 * k)), flip); \
    a##r##0 = _mm512_dpbusd_epi32(a##r##0, u, v0);                               \
    a##r##1 = _mm512_dpbusd_epi32(a##r##1, u, v1);                               \
    a##r##2 = _mm512_dpbusd_epi32(a##r##2, u, v2);                               \
    a##r##3 = _mm512_dpbusd_epi32(a##r##3, u, v3);                               \
  }
    ZK_ROW(0) ZK_ROW(1) ZK_ROW(2) ZK_ROW(3) ZK_ROW(4) ZK_ROW(5)
#undef ZK_ROW
  }
  // Masks for the columns past n (tiles are padded to a multiple of 4).
  __mmask16 mask[4];
  for (int t = 0; t < 4; t++) {
    const int c1 = std::max(0, std::min(16, w.n() - 16 * (t0 + t)));
    mask[t] = static_cast<__mmask16>((1u << c1) - 1);
  }
#define ZK_STORE(r)                                              \
  if (r < rows) {                                                \
    int32_t* p = o + static_cast<size_t>(r) * ldo;               \
    _mm512_mask_storeu_epi32(p, mask[0], a##r##0);               \
    _mm512_mask_storeu_epi32(p + 16, mask[1], a##r##1);          \
    _mm512_mask_storeu_epi32(p + 32, mask[2], a##r##2);          \
    _mm512_mask_storeu_epi32(p + 48, mask[3], a##r##3);          \
  }
  ZK_STORE(0) ZK_STORE(1) ZK_STORE(2) ZK_STORE(3) ZK_STORE(4) ZK_STORE(5)
#undef ZK_STORE
}

// gemm_vnni walks 64 columns at a time and, within them, k in steps of
// kStep so that the weights of a step (4 tiles, 16 kB) stay in L1 while every
// row block uses them.
void gemm_vnni(const int8_t* x, int ldx, int rows, const PackedInt8& w, int32_t* out, int ldo) {
  constexpr int kStep = 64;  // in groups of 4 k
  const int k4 = w.kp() / 4;
  for (int t = 0; t < w.tiles(); t += 4) {
    for (int k0 = 0; k0 < k4; k0 += kStep) {
      for (int m = 0; m < rows; m += 6) {
        const int r = std::min(6, rows - m);
        const int8_t* xr[6];
        for (int i = 0; i < 6; i++) xr[i] = x + static_cast<size_t>(m + std::min(i, r - 1)) * ldx;
        vnni_block(xr, r, w, t, k0, std::min(k4, k0 + kStep), out + static_cast<size_t>(m) * ldo, ldo);
      }
    }
  }
}

// rescale_avx512 is rescale_rows's double arithmetic 8 rows at a time;
// converting to int32 rounds to nearest even, like rne.
void rescale_avx512(const int32_t* acc, const double* m, const int32_t* b, int32_t* out, int n) {
  const __m512d scale = _mm512_set1_pd(1.0 / 1048576.0), half = _mm512_set1_pd(1.0 / 2097152.0);
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    __m512d a = _mm512_cvtepi32_pd(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + i)));
    __m512d t = _mm512_add_pd(_mm512_mul_pd(_mm512_mul_pd(a, _mm512_loadu_pd(m + i)), scale), half);
    __m256i r = _mm256_add_epi32(_mm512_cvtpd_epi32(t), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), r);
  }
  for (; i < n; i++) {
    out[i] = rescale(acc[i], m[i]) + b[i];
  }
}

// act_index is (clamp(x, −32768, 32767) + 32768) >> 3, 16 lanes.
inline __m512i act_index(__m512i x) {
  x = _mm512_min_epi32(_mm512_max_epi32(x, _mm512_set1_epi32(-32768)), _mm512_set1_epi32(32767));
  return _mm512_srai_epi32(_mm512_add_epi32(x, _mm512_set1_epi32(32768)), 3);
}

// mul_round15 is (a·b + 2^14) >> 15 in 64-bit arithmetic, 16 lanes; the
// results must fit int32. Even and odd lanes are multiplied separately.
inline __m512i mul_round15(__m512i a, __m512i b) {
  const __m512i half = _mm512_set1_epi64(16384);
  __m512i even = _mm512_srai_epi64(_mm512_add_epi64(_mm512_mul_epi32(a, b), half), 15);
  __m512i odd = _mm512_mul_epi32(_mm512_srli_epi64(a, 32), _mm512_srli_epi64(b, 32));
  odd = _mm512_srai_epi64(_mm512_add_epi64(odd, half), 15);
  return _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
}

// gates_avx512 is gates for 16 units at a time, the tables read by gathers.
void gates_avx512(const int32_t* gi, const int32_t* gh, const int32_t* sig, const int32_t* tanh_, int32_t* h,
                  int8_t* h8, int H) {
  const __m512i zero = _mm512_setzero_si512(), half15 = _mm512_set1_epi32(16384);
  for (int j = 0; j < H; j += 16) {
    const __mmask16 k = H - j >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << (H - j)) - 1);
    const __m512i gir = _mm512_maskz_loadu_epi32(k, gi + j), ghr = _mm512_maskz_loadu_epi32(k, gh + j);
    const __m512i giz = _mm512_maskz_loadu_epi32(k, gi + H + j), ghz = _mm512_maskz_loadu_epi32(k, gh + H + j);
    const __m512i gin = _mm512_maskz_loadu_epi32(k, gi + 2 * H + j), ghn = _mm512_maskz_loadu_epi32(k, gh + 2 * H + j);
    const __m512i r = _mm512_mask_i32gather_epi32(zero, k, act_index(_mm512_add_epi32(gir, ghr)), sig, 4);
    const __m512i z = _mm512_mask_i32gather_epi32(zero, k, act_index(_mm512_add_epi32(giz, ghz)), sig, 4);
    const __m512i pre = _mm512_add_epi32(gin, mul_round15(r, ghn));
    const __m512i n = _mm512_mask_i32gather_epi32(zero, k, act_index(pre), tanh_, 4);
    const __m512i hv = _mm512_maskz_loadu_epi32(k, h + j);
    const __m512i zd = _mm512_mullo_epi32(z, _mm512_sub_epi32(hv, n));  // below 2^31, see gates
    const __m512i v = _mm512_add_epi32(n, _mm512_srai_epi32(_mm512_add_epi32(zd, half15), 15));
    _mm512_mask_storeu_epi32(h + j, k, v);
    const __m512i v8 = _mm512_srai_epi32(_mm512_add_epi32(_mm512_mullo_epi32(v, _mm512_set1_epi32(127)), half15), 15);
    _mm512_mask_cvtepi32_storeu_epi8(h8 + j, k, v8);
  }
}
#pragma GCC pop_options
#endif

}  // namespace

void gemm_i8(Isa isa, const int8_t* x, int ldx, int rows, const PackedInt8& w, int32_t* out, int ldo) {
#ifdef ZK_X86
  if (isa == Isa::kAvx512Vnni) {
    gemm_vnni(x, ldx, rows, w, out, ldo);
    return;
  }
#endif
  gemm_portable(x, ldx, rows, w, out, ldo);
}

// See rescale.
ZK_CLONES
void rescale_rows(const float* __restrict acc, const double* __restrict m, const int32_t* __restrict b,
                  int32_t* __restrict out, int n) {
  for (int i = 0; i < n; i++) {
    out[i] = rescale(acc[i], m[i]) + b[i];
  }
}

ZK_CLONES
void rescale_rows(Isa isa, const int32_t* __restrict acc, const double* __restrict m, const int32_t* __restrict b,
                  int32_t* __restrict out, int n) {
#ifdef ZK_X86
  if (isa == Isa::kAvx512Vnni) {
    rescale_avx512(acc, m, b, out, n);
    return;
  }
#endif
  for (int i = 0; i < n; i++) {
    out[i] = rescale(acc[i], m[i]) + b[i];
  }
}

// All sums fit int32: pre-activations are below 2^30 in magnitude, and
// z·(h − n) ≤ 32767 · 65534 < 2^31. r·gh_n (up to 2^45) goes through double
// like rescale: floor((r·g + 2^14) / 2^15) = rne(r·g·2^-15 + 2^-16).
ZK_CLONES
void gates(Isa isa, const int32_t* __restrict gi, const int32_t* __restrict gh, const int32_t* __restrict sig,
           const int32_t* __restrict tanh_, int32_t* __restrict h, int8_t* __restrict h8, int H) {
#ifdef ZK_X86
  if (isa == Isa::kAvx512Vnni) {
    gates_avx512(gi, gh, sig, tanh_, h, h8, H);
    return;
  }
#endif
  for (int j = 0; j < H; j++) {
    int32_t r = sig[(clamp16(gi[j] + gh[j]) + 32768) >> 3];
    int32_t z = sig[(clamp16(gi[H + j] + gh[H + j]) + 32768) >> 3];
    double rg = static_cast<double>(r) * gh[2 * H + j] * (1.0 / 32768.0) + (1.0 / 65536.0);
    int32_t n = tanh_[(clamp16(gi[2 * H + j] + static_cast<int32_t>(rne(rg))) + 32768) >> 3];
    int32_t v = n + ((z * (h[j] - n) + 16384) >> 15);
    h[j] = v;
    h8[j] = static_cast<int8_t>((v * 127 + 16384) >> 15);
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
