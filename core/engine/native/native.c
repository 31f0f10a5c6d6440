// native.c: see native.h and docs/ENGINE.md ("The native engine").
//
// Every matrix is repacked in groups of 16 GRU units: the r, z and n rows of
// the group (three tiles of 16 rows) stored as [K/4][3][16][4] bytes, so one
// 64-byte load holds 4 consecutive columns of 16 rows, the operand of one
// VPDPBUSD. The head's 256 rows are 6 such groups (288 rows, the last 32
// zero). A group's products for every stream and the gates of its units
// are one piece of work, so a layer's groups can run on different threads
// (see work). The int8 state is double-buffered (the products read last
// step's copy while the gates write this step's).
#define _GNU_SOURCE
#include "native.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <malloc.h>
#endif

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define ZN_X86 1
#define TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define TARGET_AVX2 __attribute__((target("avx2")))
#define TARGET_AVXVNNI __attribute__((target("avx2,avxvnni")))
#define INLINE static inline __attribute__((always_inline))
#endif

enum {
  GU = 16,         // units per group, rows per tile
  SB = 8,          // streams per kernel call
  HEADG = 6,       // head groups
  HEADR = 288,     // head rows with padding
  LUT = 8192,      // lookup table entries
  SPIN = 4000,     // pause loops before a waiting thread yields or sleeps
};

// packed is a matrix in groups (see the top of the file) with per-row
// multipliers, Q12 biases and 128·Σ_j W[row][j] in the same row order.
typedef struct {
  int groups, kp;
  int8_t* w;        // [groups][kp/4][3][16][4]
  int32_t* mul;     // [groups][3][16]
  int32_t* bias;    // [groups][3][16]
  int32_t* sum128;  // [groups][3][16]
} packed;

// kernel_fn sets out[s*os + t*ts + u] = rescale(Σ_j W[row]·x_s[j], M) + B for
// the rows (t, u) of group g and the S ≤ SB streams x + s*xs.
typedef void kernel_fn(const packed* p, int g, const int8_t* x, int xs, int S, int32_t* out, int os, int ts);
// gates_fn applies the GRU gates to units u0 … u0+15 of one stream.
typedef void gates_fn(const zn_engine* e, const int32_t* gi, const int32_t* gh, int u0, int32_t* h, int8_t* h8);

struct zn_engine {
  int L, Hp, B, T;  // layers, padded hidden size, streams, threads
  packed *hh, *ih, head;
  int32_t* t0;  // [256][3Hp]
  int16_t sig[LUT + 1], tanh_[LUT + 1];  // one spare entry for 32-bit gathers
  int32_t exp_[LUT];
  int32_t* h;      // [B][L][Hp] Q15
  int8_t* h8;      // [2][B][L][Hp]
  int32_t *gi, *gh;  // [B][3Hp]
  int32_t* logit;  // [B][HEADR]
  int parity;      // the h8 buffer this step writes
  kernel_fn* kernel;
  gates_fn* gates;
  const uint8_t* in;
  uint16_t* freqs;

  pthread_t* threads;
  int started;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  atomic_uint step_gen;  // bumped to start a step
  atomic_int stop;
  int by_streams, items;  // how a step is shared out (see work)
  int* item_phase;        // [items]: the phase of each item (unit-group mode)
  int* phase_first;       // [phases + 1]: each phase's first item
  // The counters of items claimed and finished this step, each on a cache
  // line of its own: the threads write them all the time.
  _Alignas(64) atomic_int next;
  _Alignas(64) atomic_int done;  // the struct's size rounds up to 64: the line is its own
};

static inline void relax(void) {
#ifdef ZN_X86
  _mm_pause();
#endif
}

static inline int32_t load4(const int8_t* p) {
  int32_t v;
  memcpy(&v, p, 4);
  return v;
}

static inline int64_t clamp16(int64_t x) { return x < -32768 ? -32768 : x > 32767 ? 32767 : x; }
static inline int act_index(int64_t x) { return (int)((clamp16(x) + 32768) >> 3); }

int zn_supported(int isa) {
  switch (isa) {
    case ZN_SCALAR:
      return 1;
#ifdef ZN_X86
    case ZN_AVX2:
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx2");
    case ZN_AVXVNNI:
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avxvnni");
    case ZN_AVX512:
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
#endif
  }
  return 0;
}

// ---- Portable C ----

static void kernel_scalar(const packed* p, int g, const int8_t* x, int xs, int S, int32_t* out, int os, int ts) {
  const int k4 = p->kp / 4;
  const int8_t* w = p->w + (size_t)g * k4 * 192;
  for (int s = 0; s < S; s++) {
    const int8_t* xr = x + (size_t)s * xs;
    for (int t = 0; t < 3; t++) {
      for (int u = 0; u < GU; u++) {
        int32_t acc = 0;
        for (int k = 0; k < k4; k++) {
          const int8_t* wk = w + 192 * k + 64 * t + 4 * u;
          const int8_t* xk = xr + 4 * k;
          acc += wk[0] * xk[0] + wk[1] * xk[1] + wk[2] * xk[2] + wk[3] * xk[3];
        }
        const int r = g * 48 + t * GU + u;
        out[(size_t)s * os + t * ts + u] = (int32_t)((((int64_t)acc * p->mul[r] + (1 << 19)) >> 20) + p->bias[r]);
      }
    }
  }
}

static void gates_scalar(const zn_engine* e, const int32_t* gi, const int32_t* gh, int u0, int32_t* h, int8_t* h8) {
  const int Hp = e->Hp;
  for (int j = u0; j < u0 + GU; j++) {
    const int64_t r = e->sig[act_index((int64_t)gi[j] + gh[j])];
    const int64_t z = e->sig[act_index((int64_t)gi[Hp + j] + gh[Hp + j])];
    const int64_t n = e->tanh_[act_index(gi[2 * Hp + j] + ((r * gh[2 * Hp + j] + (1 << 14)) >> 15))];
    const int64_t v = n + ((z * (h[j] - n) + (1 << 14)) >> 15);
    h[j] = (int32_t)v;
    h8[j] = (int8_t)((v * 127 + (1 << 14)) >> 15);
  }
}

// softmax is the integer softmax of docs/ENGINE.md.
static void softmax(const int32_t* logit, const int32_t* exp_, uint16_t* freqs) {
  int32_t m = logit[0];
  int a = 0;
  for (int k = 1; k < 256; k++) {
    if (logit[k] > m) {
      m = logit[k];
      a = k;
    }
  }
  uint32_t e[256];
  uint32_t s = 0;  // at most 256·65536
  for (int k = 0; k < 256; k++) {
    const int64_t d = ((int64_t)m - logit[k]) >> 3;
    e[k] = (uint32_t)exp_[d < LUT - 1 ? d : LUT - 1];
    s += e[k];
  }
  uint32_t total = 0;
  for (int k = 0; k < 256; k++) {
    const uint32_t f = 1 + e[k] * 65280u / s;  // e·65280 < 2^32
    freqs[k] = (uint16_t)f;
    total += f;
  }
  freqs[a] = (uint16_t)(freqs[a] + (65536 - total));
}

#ifdef ZN_X86
// ---- AVX2: VPMADDUBSW on |w| and x·sign(w); both are at most 127, so a
// pair sums to at most 2·127² < 2^15 and never saturates. ----

// mulshr256 is (a·b + 2^(sh−1)) >> sh per 32-bit lane in 64-bit arithmetic,
// for results that fit int32 (their low 32 bits are the same for a logical
// and an arithmetic shift).
INLINE TARGET_AVX2 __m256i mulshr256(__m256i a, __m256i b, int sh) {
  const __m256i half = _mm256_set1_epi64x(1ll << (sh - 1));
  __m256i even = _mm256_srli_epi64(_mm256_add_epi64(_mm256_mul_epi32(a, b), half), sh);
  __m256i odd = _mm256_mul_epi32(_mm256_srli_epi64(a, 32), _mm256_srli_epi64(b, 32));
  odd = _mm256_slli_epi64(_mm256_srli_epi64(_mm256_add_epi64(odd, half), sh), 32);
  return _mm256_blend_epi32(even, odd, 0xAA);
}

TARGET_AVX2 static void kernel_avx2(const packed* p, int g, const int8_t* x, int xs, int S, int32_t* out, int os,
                                    int ts) {
  const int k4 = p->kp / 4;
  const int8_t* w = p->w + (size_t)g * k4 * 192;
  const __m256i ones = _mm256_set1_epi16(1);
  for (int s = 0; s < S; s++) {
    const int8_t* xr = x + (size_t)s * xs;
    __m256i acc[6];
    for (int i = 0; i < 6; i++) acc[i] = _mm256_setzero_si256();
    for (int k = 0; k < k4; k++) {
      const __m256i xb = _mm256_set1_epi32(load4(xr + 4 * k));
      const int8_t* wk = w + 192 * k;
      for (int i = 0; i < 6; i++) {
        const __m256i wv = _mm256_loadu_si256((const __m256i*)(wk + 32 * i));
        const __m256i prod = _mm256_maddubs_epi16(_mm256_abs_epi8(wv), _mm256_sign_epi8(xb, wv));
        acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(prod, ones));
      }
    }
    for (int i = 0; i < 6; i++) {
      const int r = g * 48 + 8 * i;
      __m256i v = mulshr256(acc[i], _mm256_loadu_si256((const __m256i*)(p->mul + r)), 20);
      v = _mm256_add_epi32(v, _mm256_loadu_si256((const __m256i*)(p->bias + r)));
      _mm256_storeu_si256((__m256i*)(out + (size_t)s * os + (i / 2) * ts + 8 * (i % 2)), v);
    }
  }
}

// ---- AVX-VNNI: the 256-bit VEX form of VPDPBUSD, on CPUs that have it
// without AVX-512 (Intel's since Alder Lake, for one). As with AVX-512 VNNI
// below, x goes in as x + 128 and each sum starts at −128·Σ_j W[row][j]; a
// tile of 16 rows is two 32-byte halves, so a stream has 6 sums of 8 rows.
// Streams go in pairs: each weight load serves two. ----

// DPBUSD_VEX is acc += VPDPBUSD(u, *w) in its VEX form, the weights read
// from memory: twelve sums, two inputs and a constant fill the 16 registers.
#define DPBUSD_VEX(acc, u, w) __asm__("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(u), "m"(*(w)))

INLINE TARGET_AVXVNNI void avxvnni_n(const int S, const packed* p, int g, const int8_t* x, int xs, int32_t* out,
                                     int os, int ts) {
  const int k4 = p->kp / 4;
  const int8_t* w = p->w + (size_t)g * k4 * 192;
  const int32_t* s128 = p->sum128 + g * 48;
  const __m256i flip = _mm256_set1_epi32((int32_t)0x80808080u);
#define ZN_INIT(i) _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_loadu_si256((const __m256i*)(s128 + 8 * (i))))
  __m256i a0 = ZN_INIT(0), a1 = ZN_INIT(1), a2 = ZN_INIT(2), a3 = ZN_INIT(3), a4 = ZN_INIT(4), a5 = ZN_INIT(5);
#undef ZN_INIT
  __m256i b0 = a0, b1 = a1, b2 = a2, b3 = a3, b4 = a4, b5 = a5;
  for (int k = 0; k < k4; k++) {
    const __m256i* wk = (const __m256i*)(w + 192 * k);
    const __m256i u = _mm256_xor_si256(_mm256_set1_epi32(load4(x + 4 * k)), flip);
    DPBUSD_VEX(a0, u, wk);
    DPBUSD_VEX(a1, u, wk + 1);
    DPBUSD_VEX(a2, u, wk + 2);
    DPBUSD_VEX(a3, u, wk + 3);
    DPBUSD_VEX(a4, u, wk + 4);
    DPBUSD_VEX(a5, u, wk + 5);
    if (S > 1) {
      const __m256i v = _mm256_xor_si256(_mm256_set1_epi32(load4(x + xs + 4 * k)), flip);
      DPBUSD_VEX(b0, v, wk);
      DPBUSD_VEX(b1, v, wk + 1);
      DPBUSD_VEX(b2, v, wk + 2);
      DPBUSD_VEX(b3, v, wk + 3);
      DPBUSD_VEX(b4, v, wk + 4);
      DPBUSD_VEX(b5, v, wk + 5);
    }
  }
  const int r = g * 48;
#define ZN_STORE(o, acc, i)                                                                                  \
  _mm256_storeu_si256((__m256i*)((o) + ((i) / 2) * ts + 8 * ((i) % 2)),                                    \
                      _mm256_add_epi32(mulshr256(acc, _mm256_loadu_si256((const __m256i*)(p->mul + r + 8 * (i))), 20), \
                                       _mm256_loadu_si256((const __m256i*)(p->bias + r + 8 * (i)))))
  ZN_STORE(out, a0, 0); ZN_STORE(out, a1, 1); ZN_STORE(out, a2, 2);
  ZN_STORE(out, a3, 3); ZN_STORE(out, a4, 4); ZN_STORE(out, a5, 5);
  if (S > 1) {
    int32_t* o = out + os;
    ZN_STORE(o, b0, 0); ZN_STORE(o, b1, 1); ZN_STORE(o, b2, 2);
    ZN_STORE(o, b3, 3); ZN_STORE(o, b4, 4); ZN_STORE(o, b5, 5);
  }
#undef ZN_STORE
}

TARGET_AVXVNNI static void kernel_avxvnni(const packed* p, int g, const int8_t* x, int xs, int S, int32_t* out, int os,
                                          int ts) {
  int s = 0;
  for (; s + 2 <= S; s += 2) avxvnni_n(2, p, g, x + (size_t)s * xs, xs, out + (size_t)s * os, os, ts);
  if (s < S) avxvnni_n(1, p, g, x + (size_t)s * xs, xs, out + (size_t)s * os, os, ts);
}

// ---- AVX-512 VNNI: VPDPBUSD multiplies unsigned by signed bytes, so x goes
// in as x + 128 (x xor 0x80) and each sum starts at −128·Σ_j W[row][j]. ----

// DPBUSD is acc += VPDPBUSD(u, w) in place. GCC 12 compiles the intrinsic
// with a copy of the accumulator around every instruction and spills the
// copies once 24 accumulators are live; asm ties the operand to its register.
#define DPBUSD(acc, u, w) __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(w))

INLINE TARGET_AVX512 __m512i mulshr512(__m512i a, __m512i b, int sh) {
  const __m512i half = _mm512_set1_epi64(1ll << (sh - 1));
  __m512i even = _mm512_srli_epi64(_mm512_add_epi64(_mm512_mul_epi32(a, b), half), sh);
  __m512i odd = _mm512_mul_epi32(_mm512_srli_epi64(a, 32), _mm512_srli_epi64(b, 32));
  odd = _mm512_slli_epi64(_mm512_srli_epi64(_mm512_add_epi64(odd, half), sh), 32);
  return _mm512_mask_blend_epi32(0xAAAA, even, odd);
}

// vnni_n is the kernel for exactly S streams. With S a constant the unused
// accumulators vanish and the rest live in registers (named one by one:
// GCC copies arrays of vectors around the loop). One stream gives too few
// independent sums to hide VPDPBUSD's latency, so it keeps a second set for
// odd k.
INLINE TARGET_AVX512 void vnni_n(const int S, const packed* p, int g, const int8_t* x, int xs, int32_t* out, int os,
                                 int ts) {
  const int k4 = p->kp / 4;
  const int8_t* w = p->w + (size_t)g * k4 * 192;
  const int32_t* s128 = p->sum128 + g * 48;
  const __m512i flip = _mm512_set1_epi32((int32_t)0x80808080u);
  const __m512i i0 = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_loadu_si512(s128));
  const __m512i i1 = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_loadu_si512(s128 + GU));
  const __m512i i2 = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_loadu_si512(s128 + 2 * GU));
#define ZN_DECL(s) __m512i a##s##0 = i0, a##s##1 = i1, a##s##2 = i2;
  ZN_DECL(0) ZN_DECL(1) ZN_DECL(2) ZN_DECL(3) ZN_DECL(4) ZN_DECL(5) ZN_DECL(6) ZN_DECL(7)
#undef ZN_DECL
  __m512i b0 = _mm512_setzero_si512(), b1 = b0, b2 = b0;
  int k = 0;
  if (S == 1) {
    for (; k + 2 <= k4; k += 2) {
      const int8_t* wk = w + 192 * k;
      const __m512i u = _mm512_xor_si512(_mm512_set1_epi32(load4(x + 4 * k)), flip);
      const __m512i v = _mm512_xor_si512(_mm512_set1_epi32(load4(x + 4 * k + 4)), flip);
      DPBUSD(a00, u, _mm512_load_si512(wk));
      DPBUSD(a01, u, _mm512_load_si512(wk + 64));
      DPBUSD(a02, u, _mm512_load_si512(wk + 128));
      DPBUSD(b0, v, _mm512_load_si512(wk + 192));
      DPBUSD(b1, v, _mm512_load_si512(wk + 256));
      DPBUSD(b2, v, _mm512_load_si512(wk + 320));
    }
  }
  for (; k < k4; k++) {
    const int8_t* wk = w + 192 * k;
    const __m512i w0 = _mm512_load_si512(wk), w1 = _mm512_load_si512(wk + 64), w2 = _mm512_load_si512(wk + 128);
#define ZN_STEP(s)                                                                                       \
  if (S > s) {                                                                                           \
    const __m512i u = _mm512_xor_si512(_mm512_set1_epi32(load4(x + (size_t)(s) * xs + 4 * k)), flip); \
    DPBUSD(a##s##0, u, w0);                                                      \
    DPBUSD(a##s##1, u, w1);                                                      \
    DPBUSD(a##s##2, u, w2);                                                      \
  }
    ZN_STEP(0) ZN_STEP(1) ZN_STEP(2) ZN_STEP(3) ZN_STEP(4) ZN_STEP(5) ZN_STEP(6) ZN_STEP(7)
#undef ZN_STEP
  }
  a00 = _mm512_add_epi32(a00, b0);
  a01 = _mm512_add_epi32(a01, b1);
  a02 = _mm512_add_epi32(a02, b2);
  const int r = g * 48;
  const __m512i m0 = _mm512_loadu_si512(p->mul + r), m1 = _mm512_loadu_si512(p->mul + r + GU),
                m2 = _mm512_loadu_si512(p->mul + r + 2 * GU);
  const __m512i c0 = _mm512_loadu_si512(p->bias + r), c1 = _mm512_loadu_si512(p->bias + r + GU),
                c2 = _mm512_loadu_si512(p->bias + r + 2 * GU);
#define ZN_STORE(s)                                                                          \
  if (S > s) {                                                                               \
    int32_t* o = out + (size_t)(s) * os;                                                     \
    _mm512_storeu_si512(o, _mm512_add_epi32(mulshr512(a##s##0, m0, 20), c0));              \
    _mm512_storeu_si512(o + ts, _mm512_add_epi32(mulshr512(a##s##1, m1, 20), c1));         \
    _mm512_storeu_si512(o + 2 * ts, _mm512_add_epi32(mulshr512(a##s##2, m2, 20), c2));     \
  }
  ZN_STORE(0) ZN_STORE(1) ZN_STORE(2) ZN_STORE(3) ZN_STORE(4) ZN_STORE(5) ZN_STORE(6) ZN_STORE(7)
#undef ZN_STORE
}

TARGET_AVX512 static void kernel_avx512(const packed* p, int g, const int8_t* x, int xs, int S, int32_t* out, int os,
                                        int ts) {
  switch (S) {
    case 1: vnni_n(1, p, g, x, xs, out, os, ts); break;
    case 2: vnni_n(2, p, g, x, xs, out, os, ts); break;
    case 3: vnni_n(3, p, g, x, xs, out, os, ts); break;
    case 4: vnni_n(4, p, g, x, xs, out, os, ts); break;
    case 5: vnni_n(5, p, g, x, xs, out, os, ts); break;
    case 6: vnni_n(6, p, g, x, xs, out, os, ts); break;
    case 7: vnni_n(7, p, g, x, xs, out, os, ts); break;
    default: vnni_n(8, p, g, x, xs, out, os, ts); break;
  }
}

// lut512 reads 16 entries of an int16 table (one spare entry at the end).
INLINE TARGET_AVX512 __m512i lut512(__m512i x, const int16_t* table) {
  x = _mm512_min_epi32(_mm512_max_epi32(x, _mm512_set1_epi32(-32768)), _mm512_set1_epi32(32767));
  const __m512i idx = _mm512_srai_epi32(_mm512_add_epi32(x, _mm512_set1_epi32(32768)), 3);
  const __m512i v = _mm512_i32gather_epi32(idx, (const void*)table, 2);
  return _mm512_srai_epi32(_mm512_slli_epi32(v, 16), 16);
}

// gates_avx512: every sum fits int32 (pre-activations are below 2^30 and
// z·(h − n) + 2^14 ≤ 32767·65534 + 2^14 < 2^31); r·gh_n goes through 64 bits.
TARGET_AVX512 static void gates_avx512(const zn_engine* e, const int32_t* gi, const int32_t* gh, int u0, int32_t* h,
                                       int8_t* h8) {
  const int Hp = e->Hp;
  const __m512i half15 = _mm512_set1_epi32(1 << 14);
#define LD(p) _mm512_loadu_si512((p) + u0)
  const __m512i r = lut512(_mm512_add_epi32(LD(gi), LD(gh)), e->sig);
  const __m512i z = lut512(_mm512_add_epi32(LD(gi + Hp), LD(gh + Hp)), e->sig);
  const __m512i n = lut512(_mm512_add_epi32(LD(gi + 2 * Hp), mulshr512(r, LD(gh + 2 * Hp), 15)), e->tanh_);
  const __m512i zd = _mm512_mullo_epi32(z, _mm512_sub_epi32(LD(h), n));
#undef LD
  const __m512i v = _mm512_add_epi32(n, _mm512_srai_epi32(_mm512_add_epi32(zd, half15), 15));
  _mm512_storeu_si512(h + u0, v);
  const __m512i v8 = _mm512_srai_epi32(_mm512_add_epi32(_mm512_mullo_epi32(v, _mm512_set1_epi32(127)), half15), 15);
  _mm_storeu_si128((__m128i*)(h8 + u0), _mm512_cvtepi32_epi8(v8));
}
#endif

// ---- Packing ----

// zalloc returns zeroed memory aligned to 64 bytes (a cache line, the
// alignment of the AVX-512 weight loads); zfree frees it.
static void* zalloc(size_t n) {
  n = n ? (n + 63) / 64 * 64 : 64;
#ifdef _WIN32
  void* p = _aligned_malloc(n, 64);
#else
  void* p = aligned_alloc(64, n);
#endif
  if (p) memset(p, 0, n);
  return p;
}

static void zfree(void* p) {
#ifdef _WIN32
  _aligned_free(p);
#else
  free(p);
#endif
}

static void packed_free(packed* p) {
  zfree(p->w);
  zfree(p->mul);
  zfree(p->bias);
  zfree(p->sum128);
}

// pack repacks w [rows][H]; row(g, t, u) of a gate matrix is t·H + 16g + u,
// of the head 16·(3g + t) + u; rows past the end stay zero.
static int pack(packed* p, const int8_t* w, const int32_t* mul, const int32_t* bias, int H, int Hp, int head) {
  p->groups = head ? HEADG : Hp / GU;
  p->kp = Hp;
  const int k4 = Hp / 4;
  p->w = zalloc((size_t)p->groups * k4 * 192);
  p->mul = zalloc((size_t)p->groups * 48 * 4);
  p->bias = zalloc((size_t)p->groups * 48 * 4);
  p->sum128 = zalloc((size_t)p->groups * 48 * 4);
  if (!p->w || !p->mul || !p->bias || !p->sum128) return 0;
  for (int g = 0; g < p->groups; g++) {
    for (int t = 0; t < 3; t++) {
      for (int u = 0; u < GU; u++) {
        int row;
        if (head) {
          row = GU * (3 * g + t) + u;
          if (row >= 256) continue;
        } else {
          if (GU * g + u >= H) continue;
          row = t * H + GU * g + u;
        }
        const int r = g * 48 + t * GU + u;
        p->mul[r] = mul[row];
        p->bias[r] = bias[row];
        int32_t sum = 0;
        for (int j = 0; j < H; j++) {
          const int8_t v = w[(size_t)row * H + j];
          p->w[((size_t)g * k4 + j / 4) * 192 + t * 64 + u * 4 + j % 4] = v;
          sum += v;
        }
        p->sum128[r] = 128 * sum;
      }
    }
  }
  return 1;
}

// ---- The step ----

static int8_t* h8_at(const zn_engine* e, int parity, int s, int l) {
  return e->h8 + (((size_t)parity * e->B + s) * e->L + l) * e->Hp;
}

// layer_group computes the products of group g of layer l for streams
// [s0, s1) and applies the gates to the group's units.
static void layer_group(zn_engine* e, int l, int g, int s0, int s1) {
  const int Hp = e->Hp, L = e->L, cur = e->parity, old = 1 - cur;
  for (int a = s0; a < s1; a += SB) {
    const int S = s1 - a < SB ? s1 - a : SB;
    e->kernel(&e->hh[l], g, h8_at(e, old, a, l), L * Hp, S, e->gh + (size_t)a * 3 * Hp + g * GU, 3 * Hp, Hp);
    if (l > 0) {
      e->kernel(&e->ih[l], g, h8_at(e, cur, a, l - 1), L * Hp, S, e->gi + (size_t)a * 3 * Hp + g * GU, 3 * Hp, Hp);
    }
    for (int s = a; s < a + S; s++) {
      const int32_t* gi = l == 0 ? e->t0 + (size_t)e->in[s] * 3 * Hp : e->gi + (size_t)s * 3 * Hp;
      e->gates(e, gi, e->gh + (size_t)s * 3 * Hp, g * GU, e->h + ((size_t)s * L + l) * Hp, h8_at(e, cur, s, l));
    }
  }
}

// head computes the logits of head groups [g0, g1) for streams [s0, s1).
static void head(zn_engine* e, int g0, int g1, int s0, int s1) {
  for (int g = g0; g < g1; g++) {
    for (int a = s0; a < s1; a += SB) {
      const int S = s1 - a < SB ? s1 - a : SB;
      e->kernel(&e->head, g, h8_at(e, e->parity, a, e->L - 1), e->L * e->Hp, S, e->logit + (size_t)a * HEADR + 48 * g,
                HEADR, GU);
    }
  }
}

// The threads share out a step as numbered items, claimed in order from a
// counter. With at least SB streams a thread, an item is a whole step for a
// share of the streams, and items are independent. With fewer, the step
// has phases: layer 0, layer 1, …, the head, the softmax; each phase's
// units (a layer's or the head's unit groups, the streams) are cut into as
// many runs as there are threads, one item each, and an item starts once
// every item of the phase before it is done. No thread waits for another
// to arrive: a thread descheduled on a busy machine delays the step by at
// most the item it holds, and one that wakes late finds the work done.
// Few items keep the claims (writes to a cache line that the other
// threads read) cheap beside the products: at one stream of the large
// model, one item a thread a layer steps 1.29 times as fast on 2 threads
// as one a unit group (docs/ENGINE.md).

// phase_units is the number of units of phase p in the unit-group mode.
static int phase_units(const zn_engine* e, int p) { return p < e->L ? e->Hp / GU : p == e->L ? HEADG : e->B; }

// plan_items numbers the items of the unit-group mode: for each item its
// phase, and for each phase its first item. 0 when out of memory.
static int plan_items(zn_engine* e) {
  const int phases = e->L + 2;
  e->phase_first = zalloc((size_t)(phases + 1) * sizeof(int));
  if (!e->phase_first) return 0;
  int n = 0;
  for (int p = 0; p < phases; p++) {
    e->phase_first[p] = n;
    const int u = phase_units(e, p);
    n += u < e->T ? u : e->T;
  }
  e->phase_first[phases] = n;
  e->items = n;
  e->item_phase = zalloc((size_t)n * sizeof(int));
  if (!e->item_phase) return 0;
  for (int p = 0; p < phases; p++) {
    for (int i = e->phase_first[p]; i < e->phase_first[p + 1]; i++) e->item_phase[i] = p;
  }
  return 1;
}

// phase_start is the first item of item i's phase in the unit-group mode.
static int phase_start(const zn_engine* e, int i) { return e->phase_first[e->item_phase[i]]; }

static void do_item(zn_engine* e, int i) {
  const int G = e->Hp / GU, B = e->B;
  if (e->by_streams) {
    const int s0 = B * i / e->T, s1 = B * (i + 1) / e->T;
    for (int l = 0; l < e->L; l++) {
      for (int g = 0; g < G; g++) layer_group(e, l, g, s0, s1);
    }
    head(e, 0, HEADG, s0, s1);
    for (int s = s0; s < s1; s++) softmax(e->logit + (size_t)s * HEADR, e->exp_, e->freqs + (size_t)s * 256);
    return;
  }
  // Item k of n in phase p covers units [k·u/n, (k+1)·u/n).
  const int p = e->item_phase[i], k = i - e->phase_first[p], n = e->phase_first[p + 1] - e->phase_first[p];
  const int u = phase_units(e, p), u0 = k * u / n, u1 = (k + 1) * u / n;
  if (p < e->L) {
    for (int g = u0; g < u1; g++) layer_group(e, p, g, 0, B);
  } else if (p == e->L) {
    head(e, u0, u1, 0, B);
  } else {
    for (int s = u0; s < u1; s++) softmax(e->logit + (size_t)s * HEADR, e->exp_, e->freqs + (size_t)s * 256);
  }
}

// wait_done waits until at least n items are done.
static void wait_done(zn_engine* e, int n) {
  for (int i = 0; atomic_load(&e->done) < n; i++) {
    if (i < SPIN) {
      relax();
    } else {
      sched_yield();
    }
  }
}

// work claims and runs items until none is left.
static void work(zn_engine* e) {
  for (;;) {
    const int i = atomic_fetch_add(&e->next, 1);
    if (i >= e->items) return;
    if (!e->by_streams) wait_done(e, phase_start(e, i));
    do_item(e, i);
    atomic_fetch_add(&e->done, 1);
  }
}

static void* worker(void* arg) {
  zn_engine* e = arg;
  unsigned seen = 0;
  for (;;) {
    for (int i = 0; atomic_load(&e->step_gen) == seen; i++) {
      if (i < SPIN) {
        relax();
        continue;
      }
      pthread_mutex_lock(&e->mu);
      while (atomic_load(&e->step_gen) == seen) pthread_cond_wait(&e->cv, &e->mu);
      pthread_mutex_unlock(&e->mu);
    }
    seen = atomic_load(&e->step_gen);
    if (atomic_load(&e->stop)) return NULL;
    work(e);
  }
}

void zn_step(zn_engine* e, const uint8_t* in, uint16_t* freqs) {
  e->in = in;
  e->freqs = freqs;
  atomic_store(&e->done, 0);
  atomic_store(&e->next, 0);  // publishes in, freqs and parity to the items' claimers
  if (e->T > 1) {
    pthread_mutex_lock(&e->mu);
    atomic_fetch_add(&e->step_gen, 1);
    pthread_mutex_unlock(&e->mu);
    pthread_cond_broadcast(&e->cv);
  }
  work(e);
  wait_done(e, e->items);
  e->parity = 1 - e->parity;
}

void zn_reset(zn_engine* e) {
  memset(e->h, 0, (size_t)e->B * e->L * e->Hp * sizeof(int32_t));
  memset(e->h8, 0, (size_t)2 * e->B * e->L * e->Hp);
}

void zn_free(zn_engine* e) {
  if (!e) return;
  if (e->started > 0) {
    pthread_mutex_lock(&e->mu);
    atomic_store(&e->stop, 1);
    atomic_fetch_add_explicit(&e->step_gen, 1, memory_order_release);
    pthread_mutex_unlock(&e->mu);
    pthread_cond_broadcast(&e->cv);
    for (int i = 0; i < e->started; i++) pthread_join(e->threads[i], NULL);
  }
  pthread_mutex_destroy(&e->mu);
  pthread_cond_destroy(&e->cv);
  zfree(e->threads);
  zfree(e->item_phase);
  zfree(e->phase_first);
  for (int l = 0; e->hh && l < e->L; l++) packed_free(&e->hh[l]);
  for (int l = 0; e->ih && l < e->L; l++) packed_free(&e->ih[l]);
  zfree(e->hh);
  zfree(e->ih);
  packed_free(&e->head);
  zfree(e->t0);
  zfree(e->h);
  zfree(e->h8);
  zfree(e->gi);
  zfree(e->gh);
  zfree(e->logit);
  zfree(e);
}

zn_engine* zn_new(const zn_model* m, int batch, int threads, int isa) {
  zn_engine* e = zalloc(sizeof(zn_engine));
  if (!e) return NULL;
  const int H = m->hidden, Hp = (H + GU - 1) / GU * GU, L = m->layers;
  e->L = L;
  e->Hp = Hp;
  e->B = batch;
  e->T = threads < 1 ? 1 : threads > Hp / GU ? Hp / GU : threads;
  e->by_streams = batch >= SB * e->T;
  e->items = e->T;
  pthread_mutex_init(&e->mu, NULL);
  pthread_cond_init(&e->cv, NULL);
  e->kernel = kernel_scalar;
  e->gates = gates_scalar;
#ifdef ZN_X86
  if (isa == ZN_AVX2) e->kernel = kernel_avx2;
  if (isa == ZN_AVXVNNI) e->kernel = kernel_avxvnni;
  if (isa == ZN_AVX512) {
    e->kernel = kernel_avx512;
    e->gates = gates_avx512;
  }
#endif
  memcpy(e->sig, m->sig, LUT * sizeof(int16_t));
  memcpy(e->tanh_, m->tanh_, LUT * sizeof(int16_t));
  memcpy(e->exp_, m->exp_, LUT * sizeof(int32_t));
  e->hh = zalloc(L * sizeof(packed));
  e->ih = zalloc(L * sizeof(packed));
  e->t0 = zalloc((size_t)256 * 3 * Hp * sizeof(int32_t));
  e->h = zalloc((size_t)batch * L * Hp * sizeof(int32_t));
  e->h8 = zalloc((size_t)2 * batch * L * Hp);
  e->gi = zalloc((size_t)batch * 3 * Hp * sizeof(int32_t));
  e->gh = zalloc((size_t)batch * 3 * Hp * sizeof(int32_t));
  e->logit = zalloc((size_t)batch * HEADR * sizeof(int32_t));
  e->threads = zalloc(e->T * sizeof(pthread_t));
  if (!e->hh || !e->ih || !e->t0 || !e->h || !e->h8 || !e->gi || !e->gh || !e->logit || !e->threads) goto fail;
  if (!e->by_streams && !plan_items(e)) goto fail;
  for (int v = 0; v < 256; v++) {
    for (int t = 0; t < 3; t++) memcpy(e->t0 + ((size_t)v * 3 + t) * Hp, m->t0 + ((size_t)v * 3 + t) * H, H * 4);
  }
  for (int l = 0; l < L; l++) {
    const zn_layer* ml = &m->layer[l];
    if (!pack(&e->hh[l], ml->whh, ml->mhh, ml->bhh, H, Hp, 0)) goto fail;
    if (l > 0 && !pack(&e->ih[l], ml->wih, ml->mih, ml->bih, H, Hp, 0)) goto fail;
  }
  if (!pack(&e->head, m->wout, m->mout, m->bout, H, Hp, 1)) goto fail;
  for (int i = 1; i < e->T; i++) {
    if (pthread_create(&e->threads[i - 1], NULL, worker, e) != 0) goto fail;
    e->started++;
  }
  return e;
fail:
  zn_free(e);
  return NULL;
}
