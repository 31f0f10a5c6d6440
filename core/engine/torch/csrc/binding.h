// binding.h: the C face of binding.cpp, the only file that includes libtorch.
// binding.cpp and kernel.cpp build into libzpng-torch.so (build.sh), which
// package torch loads at run time (loader.c). Every function that can fail returns NULL on success or an error message
// allocated with malloc (the caller frees it). Objects are opaque handles that
// the caller frees with the matching *_free function.
#ifndef ZPNG_TORCH_BINDING_H
#define ZPNG_TORCH_BINDING_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// ZT_ABI numbers this interface: a change to any declaration below changes
// it, so that a library built from other sources is refused on load.
#define ZT_ABI 2
int zt_abi(void);

// ---- process-wide settings ----

int zt_cuda_available(void);
// zt_set_threads sets torch's intra-op threads and OpenBLAS's (when torch
// uses it); a value below 1 leaves that setting alone.
void zt_set_threads(int torch_threads, int blas_threads);
int zt_threads(void);
// zt_version writes libtorch's version ("1.13.1") into buf.
void zt_version(char* buf, int len);

// ---- float model: embedding, GRU, head (docs/ENGINE.md layout) ----

typedef struct zt_model zt_model;

char* zt_model_new(int layers, int hidden, int cuda, uint64_t seed, zt_model** out);
void zt_model_free(zt_model* m);
// Parameters, by name, in torch's registration order.
int zt_model_param_count(zt_model* m);
// zt_model_param_name copies the name of parameter i into buf and returns its numel.
int64_t zt_model_param_name(zt_model* m, int i, char* buf, int len);
char* zt_model_get(zt_model* m, const char* name, float* dst, int64_t n);
char* zt_model_set(zt_model* m, const char* name, const float* src, int64_t n);
char* zt_model_set_trainable(zt_model* m, const char* name, int on);

// zt_model_loss computes the mean cross-entropy (nats per byte) of predicting
// targets from inputs, both [batch][steps] bytes, each row starting from a
// zero state. With backward != 0 it also accumulates gradients.
char* zt_model_loss(zt_model* m, const uint8_t* inputs, const uint8_t* targets,
                    int batch, int steps, int backward, double* loss);

// Adam with decoupled settings; zt_model_step clips the global gradient norm
// to clip (when clip > 0), applies one Adam step to every trainable parameter
// that has a gradient, and clears the gradients. It reports the norm before clipping.
void zt_model_set_adam(zt_model* m, double lr, double beta1, double beta2, double eps);
void zt_model_set_lr(zt_model* m, double lr);
char* zt_model_step(zt_model* m, double clip, double* grad_norm);
// Adam state of one parameter (moments m and v, numel each); the step count is shared.
char* zt_model_get_adam(zt_model* m, const char* name, float* mom, float* vel, int64_t n);
char* zt_model_set_adam_state(zt_model* m, const char* name, const float* mom, const float* vel, int64_t n);
int64_t zt_model_adam_steps(zt_model* m);
void zt_model_set_adam_steps(zt_model* m, int64_t steps);

// ---- integer engine (docs/ENGINE.md fixed-point step) ----

typedef struct zt_engine zt_engine;

// How a CPU engine computes its matrix products (all exact, so all give the
// same tables): float32 GEMMs in torch, the portable int8 GEMM, the
// AVX-512 VNNI int8 GEMM (only where zt_vnni_supported()), or the whole
// step as the CUDA engine's torch ops run on the CPU (so that machines
// without a GPU test that code).
enum { ZT_GEMM_FLOAT = 0, ZT_GEMM_INT8 = 1, ZT_GEMM_VNNI = 2, ZT_GEMM_OPS = 3 };
int zt_vnni_supported(void);

// threads is the number of CPU threads the CPU step may use; gemm is one of
// ZT_GEMM_* (ignored on CUDA, which uses float32 products).
char* zt_engine_new(int layers, int hidden, int batch, int cuda, int threads, int gemm, zt_engine** out);
void zt_engine_free(zt_engine* e);
// Loading the integers: T0 [256][3H]; per layer k the int8 matrices [3H][H]
// (w_ih is ignored for k = 0), multipliers and Q12 biases [3H]; the head
// [256][H], [256], [256]; the three 8192-entry tables.
char* zt_engine_set_t0(zt_engine* e, const int32_t* t0);
char* zt_engine_set_layer(zt_engine* e, int k, const int8_t* w_ih, const int32_t* m_ih,
                          const int32_t* b_ih, const int8_t* w_hh, const int32_t* m_hh,
                          const int32_t* b_hh);
char* zt_engine_set_head(zt_engine* e, const int8_t* w, const int32_t* m, const int32_t* b);
char* zt_engine_set_tables(zt_engine* e, const int32_t* sig, const int32_t* tanh_, const int32_t* exp_);
// zt_engine_step consumes in[b] for each stream and writes freqs[b*256 .. b*256+255].
char* zt_engine_step(zt_engine* e, const uint8_t* in, uint16_t* freqs);
char* zt_engine_reset(zt_engine* e);
// zt_engine_split_products chooses, for the CPU float path with OpenBLAS, between each
// thread computing its own streams' products (on, the default) and torch
// computing them for all streams at once (off, the path without OpenBLAS).
void zt_engine_split_products(zt_engine* e, int on);
// zt_engine_gemm reports the engine's ZT_GEMM_* path.
int zt_engine_gemm(zt_engine* e);
// zt_gemm_i8 sets out [rows][n] to x [rows][k] times w [n][k] transposed
// with the int8 GEMM of path ZT_GEMM_INT8 or ZT_GEMM_VNNI; for tests.
char* zt_gemm_i8(int path, const int8_t* x, int rows, int k, const int8_t* w, int n, int32_t* out);

#ifdef __cplusplus
}
#endif

#endif
