// native.h: the fused integer GRU step of docs/ENGINE.md in C11 with SIMD,
// one call per step for every stream, on a pool of threads.
#ifndef ZPNG_NATIVE_H
#define ZPNG_NATIVE_H

#include <stdint.h>

// Instruction-set paths. Each computes every integer exactly, so all give
// the same tables; they differ in speed only.
enum { ZN_SCALAR = 0, ZN_AVX2 = 1, ZN_AVX512 = 2, ZN_AVXVNNI = 3 };

// zn_supported reports whether this CPU runs the given path.
int zn_supported(int isa);

// zn_layer points at one layer of a quant.Model (wih, mih, bih are NULL for
// layer 0, whose input side is the table t0).
typedef struct {
  const int8_t *wih, *whh;
  const int32_t *mih, *bih, *mhh, *bhh;
} zn_layer;

// zn_model points at a quant.Model and the lookup tables; zn_new copies
// everything it needs, so the memory may be freed after it returns.
typedef struct {
  int layers, hidden;
  const int32_t* t0;  // [256][3H]
  const zn_layer* layer;
  const int8_t* wout;  // [256][H]
  const int32_t *mout, *bout;
  const int16_t *sig, *tanh_;  // [8192]
  const int32_t* exp_;         // [8192]
} zn_model;

typedef struct zn_engine zn_engine;

// zn_new repacks the model for the path isa and starts threads-1 helper
// threads; NULL when out of memory or threads cannot start.
zn_engine* zn_new(const zn_model* m, int batch, int threads, int isa);
// zn_step consumes in[b] for every stream and writes the 256-entry table
// of each stream's next byte to freqs[b*256 ...].
void zn_step(zn_engine* e, const uint8_t* in, uint16_t* freqs);
// zn_reset returns every stream to the zero state.
void zn_reset(zn_engine* e);
// zn_free stops the threads and frees the engine.
void zn_free(zn_engine* e);

#endif
