// loader.c: the functions of csrc/binding.h, each a call through a pointer
// that zt_load resolves in libzpng-torch.so.

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csrc/binding.h"
#include "loader.h"

// Every function of binding.h but zt_abi: F(return type, name, parameters,
// arguments) for those that return a value, V(name, parameters, arguments)
// for the others.
#define ZT_FUNCTIONS(F, V)                                                                                \
	F(int, zt_cuda_available, (void), ())                                                                 \
	V(zt_set_threads, (int a, int b), (a, b))                                                             \
	F(int, zt_threads, (void), ())                                                                        \
	V(zt_version, (char* buf, int len), (buf, len))                                                       \
	F(char*, zt_model_new, (int l, int h, int cuda, uint64_t seed, zt_model** out), (l, h, cuda, seed, out)) \
	V(zt_model_free, (zt_model * m), (m))                                                                 \
	F(int, zt_model_param_count, (zt_model * m), (m))                                                     \
	F(int64_t, zt_model_param_name, (zt_model * m, int i, char* buf, int len), (m, i, buf, len))          \
	F(char*, zt_model_get, (zt_model * m, const char* name, float* dst, int64_t n), (m, name, dst, n))    \
	F(char*, zt_model_set, (zt_model * m, const char* name, const float* src, int64_t n), (m, name, src, n)) \
	F(char*, zt_model_set_trainable, (zt_model * m, const char* name, int on), (m, name, on))             \
	F(char*, zt_model_loss,                                                                               \
	  (zt_model * m, const uint8_t* in, const uint8_t* tgt, int batch, int steps, int backward, double* loss), \
	  (m, in, tgt, batch, steps, backward, loss))                                                         \
	V(zt_model_set_adam, (zt_model * m, double lr, double b1, double b2, double eps), (m, lr, b1, b2, eps)) \
	V(zt_model_set_lr, (zt_model * m, double lr), (m, lr))                                                \
	F(char*, zt_model_step, (zt_model * m, double clip, double* norm), (m, clip, norm))                    \
	F(char*, zt_model_get_adam, (zt_model * m, const char* name, float* mom, float* vel, int64_t n),       \
	  (m, name, mom, vel, n))                                                                             \
	F(char*, zt_model_set_adam_state, (zt_model * m, const char* name, const float* mom, const float* vel, int64_t n), \
	  (m, name, mom, vel, n))                                                                             \
	F(int64_t, zt_model_adam_steps, (zt_model * m), (m))                                                  \
	V(zt_model_set_adam_steps, (zt_model * m, int64_t steps), (m, steps))                                 \
	F(int, zt_vnni_supported, (void), ())                                                                 \
	F(char*, zt_engine_new, (int l, int h, int batch, int cuda, int threads, int gemm, zt_engine** out),  \
	  (l, h, batch, cuda, threads, gemm, out))                                                            \
	V(zt_engine_free, (zt_engine * e), (e))                                                               \
	F(char*, zt_engine_set_t0, (zt_engine * e, const int32_t* t0), (e, t0))                               \
	F(char*, zt_engine_set_layer,                                                                         \
	  (zt_engine * e, int k, const int8_t* wih, const int32_t* mih, const int32_t* bih, const int8_t* whh, \
	   const int32_t* mhh, const int32_t* bhh),                                                           \
	  (e, k, wih, mih, bih, whh, mhh, bhh))                                                               \
	F(char*, zt_engine_set_head, (zt_engine * e, const int8_t* w, const int32_t* m, const int32_t* b), (e, w, m, b)) \
	F(char*, zt_engine_set_tables, (zt_engine * e, const int32_t* sig, const int32_t* tanh_, const int32_t* exp_), \
	  (e, sig, tanh_, exp_))                                                                              \
	F(char*, zt_engine_step, (zt_engine * e, const uint8_t* in, uint16_t* freqs), (e, in, freqs))          \
	F(char*, zt_engine_reset, (zt_engine * e), (e))                                                       \
	V(zt_engine_split_products, (zt_engine * e, int on), (e, on))                                         \
	F(int, zt_engine_gemm, (zt_engine * e), (e))                                                          \
	F(char*, zt_gemm_i8, (int path, const int8_t* x, int rows, int k, const int8_t* w, int n, int32_t* out), \
	  (path, x, rows, k, w, n, out))

#define POINTER(ret, name, params, args) static ret(*p_##name) params;
#define VPOINTER(name, params, args) static void(*p_##name) params;
ZT_FUNCTIONS(POINTER, VPOINTER)

#define CALL(ret, name, params, args) \
	ret name params { return p_##name args; }
#define VCALL(name, params, args) \
	void name params { p_##name args; }
ZT_FUNCTIONS(CALL, VCALL)

static char* message(const char* format, const char* a) {
	size_t n = strlen(format) + strlen(a) + 1;
	char* s = malloc(n);
	if (s != NULL) snprintf(s, n, format, a);
	return s;
}

char* zt_load(const char* path) {
	// RTLD_GLOBAL: binding.cpp finds OpenBLAS's thread settings with
	// dlsym(RTLD_DEFAULT), in the global scope.
	void* h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	if (h == NULL) return message("%s", dlerror());
	int (*abi)(void) = (int (*)(void))dlsym(h, "zt_abi");
	if (abi == NULL || abi() != ZT_ABI) {
		dlclose(h);
		return message("%s is from another version of zpng (interface differs); rebuild it with make", path);
	}
	const char* missing = NULL;
#define RESOLVE(name)                                    \
	if (missing == NULL) {                                \
		*(void**)(&p_##name) = dlsym(h, #name);          \
		if (p_##name == NULL) missing = #name;            \
	}
#define FRESOLVE(ret, name, params, args) RESOLVE(name)
#define VRESOLVE(name, params, args) RESOLVE(name)
	ZT_FUNCTIONS(FRESOLVE, VRESOLVE)
	if (missing != NULL) {
		dlclose(h);
		return message("the library lacks %s", missing);
	}
	return NULL;
}
