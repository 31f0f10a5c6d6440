// binding.cpp: the libtorch side of package torch, built with kernel.cpp
// into libzpng-torch.so (build.sh). It is the only file that
// includes <torch/torch.h> (slow to compile), and uses only C++ API that
// libtorch 1.13 and 2.x share. Exceptions never cross into Go: every entry
// point catches them and returns the message.

#include "binding.h"
#include "kernel.h"

#include <torch/torch.h>
#ifdef ZT_CUDA
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/cuda.h>
#endif

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

char* error_copy(const char* msg) {
  size_t n = std::strlen(msg);
  char* s = static_cast<char*>(std::malloc(n + 1));
  if (s != nullptr) std::memcpy(s, msg, n + 1);
  return s;
}

// guard runs f and turns any exception into an error message.
template <typename F>
char* guard(F&& f) {
  try {
    f();
    return nullptr;
  } catch (const c10::Error& e) {
    return error_copy(e.what_without_backtrace());
  } catch (const std::exception& e) {
    return error_copy(e.what());
  } catch (...) {
    return error_copy("unknown C++ exception");
  }
}

void check(bool ok, const std::string& msg) {
  if (!ok) throw std::runtime_error(msg);
}

torch::Device device_for(int cuda) {
  if (cuda) {
    check(torch::cuda::is_available(), "CUDA is not available");
    return torch::Device(torch::kCUDA, 0);
  }
  return torch::Device(torch::kCPU);
}

// The integer engine's float32 products must be exact: no TF32 on the GPU.
// (TF32 would still multiply int8 values exactly and accumulate in float32,
// but the contract is plain float32.) Training may use TF32, which is faster;
// the engine sets this again before every step, so the two can alternate in
// one process.
void tf32(bool on) {
  at::globalContext().setAllowTF32CuBLAS(on);
  at::globalContext().setAllowTF32CuDNN(on);
}

torch::Tensor bytes_to_long(const uint8_t* p, int64_t rows, int64_t cols, torch::Device dev) {
  auto t = torch::from_blob(const_cast<uint8_t*>(p), {rows, cols}, torch::kUInt8);
  return t.to(torch::kLong).to(dev);
}

}  // namespace

// ---------------------------------------------------------------- settings --

extern "C" int zt_abi(void) { return ZT_ABI; }

extern "C" int zt_cuda_available(void) {
  try {
    return torch::cuda::is_available() ? 1 : 0;
  } catch (...) {
    return 0;
  }
}

extern "C" void zt_set_threads(int torch_threads, int blas_threads) {
  if (torch_threads >= 1) at::set_num_threads(torch_threads);
  // Debian's libtorch calls the system BLAS, whose OpenBLAS thread pool
  // ignores torch's setting.
  using setter = void (*)(int);
  if (blas_threads >= 1) {
    if (auto f = reinterpret_cast<setter>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) f(blas_threads);
  }
}

extern "C" int zt_threads(void) { return at::get_num_threads(); }

extern "C" void zt_version(char* buf, int len) {
  if (len <= 0) return;
  std::snprintf(buf, len, "%d.%d.%d", TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, TORCH_VERSION_PATCH);
}

// ------------------------------------------------------------- float model --

struct LMImpl : torch::nn::Module {
  torch::nn::Embedding embed{nullptr};
  torch::nn::GRU gru{nullptr};
  torch::nn::Linear head{nullptr};

  LMImpl(int layers, int hidden) {
    embed = register_module("embed", torch::nn::Embedding(256, hidden));
    gru = register_module(
        "gru", torch::nn::GRU(torch::nn::GRUOptions(hidden, hidden).num_layers(layers).batch_first(true)));
    head = register_module("head", torch::nn::Linear(hidden, 256));
  }

  // forward maps bytes [B, T] (int64) to logits [B, T, 256].
  torch::Tensor forward(const torch::Tensor& x) {
    auto out = std::get<0>(gru->forward(embed->forward(x)));
    return head->forward(out);
  }
};
TORCH_MODULE(LM);

struct AdamState {
  torch::Tensor m, v;
};

struct zt_model {
  LM lm{nullptr};
  torch::Device dev{torch::kCPU};
  std::vector<std::string> names;
  std::map<std::string, torch::Tensor> params;
  std::map<std::string, AdamState> adam;
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  int64_t steps = 0;

  torch::Tensor& param(const char* name) {
    auto it = params.find(name);
    check(it != params.end(), std::string("no parameter named ") + name);
    return it->second;
  }
  AdamState& state(const std::string& name) {
    auto& s = adam[name];
    if (!s.m.defined()) {
      s.m = torch::zeros_like(params.at(name));
      s.v = torch::zeros_like(params.at(name));
    }
    return s;
  }
};

extern "C" char* zt_model_new(int layers, int hidden, int cuda, uint64_t seed, zt_model** out) {
  *out = nullptr;
  return guard([&] {
    check(layers >= 1 && hidden >= 1, "bad model shape");
    auto m = std::make_unique<zt_model>();
    m->dev = device_for(cuda);
    if (cuda) tf32(true);
    torch::manual_seed(seed);  // initialise on the CPU so every device starts alike
    m->lm = LM(layers, hidden);
    m->lm->to(m->dev);
    for (auto& p : m->lm->named_parameters(true)) {
      m->names.push_back(p.key());
      m->params[p.key()] = p.value();
    }
    *out = m.release();
  });
}

extern "C" void zt_model_free(zt_model* m) { delete m; }

extern "C" int zt_model_param_count(zt_model* m) { return static_cast<int>(m->names.size()); }

extern "C" int64_t zt_model_param_name(zt_model* m, int i, char* buf, int len) {
  if (i < 0 || i >= static_cast<int>(m->names.size()) || len <= 0) return -1;
  const auto& n = m->names[i];
  std::snprintf(buf, len, "%s", n.c_str());
  return m->params[n].numel();
}

extern "C" char* zt_model_get(zt_model* m, const char* name, float* dst, int64_t n) {
  return guard([&] {
    auto& p = m->param(name);
    check(p.numel() == n, std::string("size mismatch for ") + name);
    auto c = p.detach().to(torch::kCPU).contiguous();
    std::memcpy(dst, c.data_ptr<float>(), n * sizeof(float));
  });
}

extern "C" char* zt_model_set(zt_model* m, const char* name, const float* src, int64_t n) {
  return guard([&] {
    auto& p = m->param(name);
    check(p.numel() == n, std::string("size mismatch for ") + name);
    torch::NoGradGuard no_grad;
    auto t = torch::from_blob(const_cast<float*>(src), p.sizes(), torch::kFloat32);
    p.copy_(t);  // in place: cuDNN's flattened GRU weights stay views
  });
}

extern "C" char* zt_model_set_trainable(zt_model* m, const char* name, int on) {
  return guard([&] {
    auto& p = m->param(name);
    p.set_requires_grad(on != 0);
    if (!on) p.mutable_grad() = torch::Tensor();
  });
}

extern "C" char* zt_model_loss(zt_model* m, const uint8_t* inputs, const uint8_t* targets, int batch,
                               int steps, int backward, double* loss) {
  return guard([&] {
    check(batch >= 1 && steps >= 1, "empty batch");
    auto x = bytes_to_long(inputs, batch, steps, m->dev);
    auto y = bytes_to_long(targets, batch, steps, m->dev).reshape({-1});
    if (backward) {
      m->lm->train();
      auto logits = m->lm->forward(x).reshape({-1, 256});
      auto l = torch::nn::functional::cross_entropy(logits, y);
      l.backward();
      *loss = l.item<double>();
    } else {
      torch::NoGradGuard no_grad;
      m->lm->eval();
      auto logits = m->lm->forward(x).reshape({-1, 256});
      *loss = torch::nn::functional::cross_entropy(logits, y).item<double>();
    }
  });
}

extern "C" void zt_model_set_adam(zt_model* m, double lr, double beta1, double beta2, double eps) {
  m->lr = lr;
  m->beta1 = beta1;
  m->beta2 = beta2;
  m->eps = eps;
}

extern "C" void zt_model_set_lr(zt_model* m, double lr) { m->lr = lr; }

extern "C" char* zt_model_step(zt_model* m, double clip, double* grad_norm) {
  return guard([&] {
    torch::NoGradGuard no_grad;
    std::vector<std::string> live;
    std::vector<torch::Tensor> sq;
    for (const auto& n : m->names) {
      auto& p = m->params[n];
      if (p.requires_grad() && p.grad().defined()) {
        live.push_back(n);
        sq.push_back(p.grad().pow(2).sum());
      }
    }
    check(!live.empty(), "no gradients: call loss with backward first");
    double norm = std::sqrt(torch::stack(sq).sum().item<double>());
    *grad_norm = norm;
    auto clear = [&] {
      for (const auto& n : live) m->params[n].mutable_grad() = torch::Tensor();
    };
    if (!std::isfinite(norm)) {
      clear();
      throw std::runtime_error("gradient is not finite; step skipped");
    }
    double scale = (clip > 0 && norm > clip) ? clip / (norm + 1e-6) : 1.0;
    m->steps++;
    double bc1 = 1 - std::pow(m->beta1, static_cast<double>(m->steps));
    double bc2 = 1 - std::pow(m->beta2, static_cast<double>(m->steps));
    for (const auto& n : live) {
      auto& p = m->params[n];
      auto g = p.grad();
      if (scale != 1.0) g = g * scale;
      auto& s = m->state(n);
      s.m.mul_(m->beta1).add_(g, 1 - m->beta1);
      s.v.mul_(m->beta2).addcmul_(g, g, 1 - m->beta2);
      auto denom = (s.v.sqrt() / std::sqrt(bc2)).add_(m->eps);
      p.addcdiv_(s.m, denom, -m->lr / bc1);
    }
    clear();
  });
}

extern "C" char* zt_model_get_adam(zt_model* m, const char* name, float* mom, float* vel, int64_t n) {
  return guard([&] {
    auto& p = m->param(name);
    check(p.numel() == n, std::string("size mismatch for ") + name);
    auto& s = m->state(name);
    auto a = s.m.to(torch::kCPU).contiguous();
    auto b = s.v.to(torch::kCPU).contiguous();
    std::memcpy(mom, a.data_ptr<float>(), n * sizeof(float));
    std::memcpy(vel, b.data_ptr<float>(), n * sizeof(float));
  });
}

extern "C" char* zt_model_set_adam_state(zt_model* m, const char* name, const float* mom, const float* vel,
                                         int64_t n) {
  return guard([&] {
    auto& p = m->param(name);
    check(p.numel() == n, std::string("size mismatch for ") + name);
    auto& s = m->state(name);
    s.m.copy_(torch::from_blob(const_cast<float*>(mom), p.sizes(), torch::kFloat32));
    s.v.copy_(torch::from_blob(const_cast<float*>(vel), p.sizes(), torch::kFloat32));
  });
}

extern "C" int64_t zt_model_adam_steps(zt_model* m) { return m->steps; }
extern "C" void zt_model_set_adam_steps(zt_model* m, int64_t steps) { m->steps = steps; }

// ---------------------------------------------------------- integer engine --
//
// docs/ENGINE.md, fixed-point step. On the GPU everything runs as torch ops:
// the matrix products as float32 products of int8-valued tensors (exact while
// K·127² < 2^24), the rest as integer ops. On the CPU the products are either
// such float32 products in torch (ZT_GEMM_FLOAT) or exact int8 GEMMs of
// kernel.cpp, and the rest is one C++ loop per layer.

namespace {

constexpr int64_t kHalf15 = int64_t{1} << 14;

struct Layer {
  std::vector<double> m_ih, m_hh;      // multipliers for zk::rescale_rows
  std::vector<int32_t> b_ih, b_hh;     // Q12 biases
  torch::Tensor w_ih, w_hh;            // float32 [3H, H] on the device (GPU, CPU float path)
  zk::PackedInt8 p_ih, p_hh;           // CPU int8 paths
  torch::Tensor dm_ih, db_ih, dm_hh, db_hh;  // int64 [3H] on the GPU
  bool loaded = false;
};

}  // namespace

struct zt_engine {
  int L, H, B;
  bool cuda;
  bool ops;  // the step runs as torch ops on dev: on CUDA, or ZT_GEMM_OPS on the CPU
  torch::Device dev{torch::kCPU};
  std::vector<Layer> layers;
  std::vector<int32_t> t0, sig, tanh_, exp_, b_head;
  std::vector<double> m_head;
  torch::Tensor w_head;
  zk::PackedInt8 p_head;
  bool t0_loaded = false, head_loaded = false, tables_loaded = false;
  int gemm = ZT_GEMM_FLOAT;  // CPU: how the products are computed

  // GPU state: h8 is the float32 input of the products, per layer [B, H].
  std::vector<torch::Tensor> h8;
  // CPU state per layer: Q15 h [B*H] and its int8 copy h8c [B*hs], rows
  // padded to hs (H rounded up to 4, as the int8 GEMM reads them) with zeros.
  std::vector<std::vector<int32_t>> h;
  std::vector<std::vector<int8_t>> h8c;
  int hs = 0;
  // CPU float path: the products' float32 inputs (h8c converted) and outputs.
  torch::Tensor x_ih, x_hh, prod_ih, prod_hh, prod_head;
  std::unique_ptr<zk::Pool> pool;
  int chunks = 1;
  bool split_products = false;  // each chunk computes its own products
  std::vector<std::vector<int32_t>> scratch;  // per chunk: gi, gh [3H] and logits [256]
  std::vector<std::vector<int32_t>> iprod;    // int8 paths, per chunk: products of kRows streams
  // Ops path: Q15 state per layer (int64 [B, H]) and the integer tables.
  std::vector<torch::Tensor> hq;
  torch::Tensor d_t0, d_sig, d_tanh, d_exp, d_m_head, d_b_head, d_arange;
  // Ops path: a step reads its bytes from d_in and leaves its frequencies
  // in d_out; h_in and h_out are their host copies, pinned on CUDA when
  // the library is built with it (ZT_CUDA), so the copies run asynchronously.
  torch::Tensor d_in, d_out, h_in, h_out;
  bool pinned = false;
#ifdef ZT_CUDA
  // Each engine steps on a stream of its own, so that engines of parallel
  // stream groups overlap on the GPU, and from its third step replays the
  // step's kernels as one CUDA graph (ZPNG_CUDA_GRAPH=0: never).
  std::optional<c10::cuda::CUDAStream> stream;
  std::unique_ptr<at::cuda::CUDAGraph> graph;
  enum { kGraphWarming, kGraphReady, kGraphOff } graph_state = kGraphWarming;
  int eager_steps = 0;
  void run_graphed();
#endif

  void check_ready() const {
    check(t0_loaded && head_loaded && tables_loaded, "integer model not fully loaded");
    for (const auto& l : layers) check(l.loaded, "integer model layer not loaded");
  }

  void reset() {
    torch::NoGradGuard no_grad;
#ifdef ZT_CUDA
    std::optional<c10::cuda::CUDAStreamGuard> on;
    if (stream) on.emplace(*stream);
#endif
    for (auto& t : h8) t.zero_();
    for (auto& v : h) std::fill(v.begin(), v.end(), 0);
    for (auto& v : h8c) std::fill(v.begin(), v.end(), 0);
    for (auto& t : hq) t.zero_();
  }

  void step_cpu(const uint8_t* in, uint16_t* freqs);
  void step_ops(const uint8_t* in, uint16_t* freqs);
  void step_ops_body();
  void layer_cpu(int l, const uint8_t* in, int c, bool split);
  void head_cpu(uint16_t* freqs, int c, bool split);
  void float_input(torch::Tensor& x, int l, int b0, int b1);
  void step_int(const uint8_t* in, uint16_t* freqs, int c);
};

namespace {

torch::Tensor int8_matrix(const int8_t* p, int64_t rows, int64_t cols, torch::Device dev) {
  auto t = torch::from_blob(const_cast<int8_t*>(p), {rows, cols}, torch::kInt8);
  return t.to(torch::kFloat32).to(dev).contiguous();
}

torch::Tensor int_vector(const int32_t* p, int64_t n, torch::Device dev) {
  auto t = torch::from_blob(const_cast<int32_t*>(p), {n}, torch::kInt32);
  return t.to(torch::kLong).to(dev);
}

std::vector<double> doubles(const int32_t* p, int64_t n) { return std::vector<double>(p, p + n); }

}  // namespace

// chunk_range gives the streams [b0, b1) of chunk c.
static void chunk_range(const zt_engine* e, int c, int* b0, int* b1) {
  *b0 = static_cast<int>(static_cast<int64_t>(e->B) * c / e->chunks);
  *b1 = static_cast<int>(static_cast<int64_t>(e->B) * (c + 1) / e->chunks);
}

// layer_cpu runs GRU layer l of the fixed-point step for the streams of
// chunk c; with split, it first computes the chunk's own products.
void zt_engine::layer_cpu(int l, const uint8_t* in, int c, bool split) {
  const int G = 3 * H;
  const Layer& ly = layers[l];
  int b0, b1;
  chunk_range(this, c, &b0, &b1);
  if (split) {
    float_input(x_hh, l, b0, b1);
    auto out_hh = prod_hh.narrow(0, b0, b1 - b0);
    at::mm_out(out_hh, x_hh.narrow(0, b0, b1 - b0), ly.w_hh.t());
    if (l > 0) {
      float_input(x_ih, l - 1, b0, b1);
      auto out_ih = prod_ih.narrow(0, b0, b1 - b0);
      at::mm_out(out_ih, x_ih.narrow(0, b0, b1 - b0), ly.w_ih.t());
    }
  }
  int32_t* gi_buf = scratch[c].data();
  int32_t* gh = gi_buf + G;
  const float* ph = prod_hh.data_ptr<float>();
  const float* pi = l > 0 ? prod_ih.data_ptr<float>() : nullptr;
  int8_t* h8p = h8c[l].data();
  for (int b = b0; b < b1; b++) {
    const int32_t* gi = t0.data() + static_cast<int64_t>(in[b]) * G;
    if (pi) {
      zk::rescale_rows(pi + static_cast<int64_t>(b) * G, ly.m_ih.data(), ly.b_ih.data(), gi_buf, G);
      gi = gi_buf;
    }
    zk::rescale_rows(ph + static_cast<int64_t>(b) * G, ly.m_hh.data(), ly.b_hh.data(), gh, G);
    zk::gates(zk::Isa::kPortable, gi, gh, sig.data(), tanh_.data(), h[l].data() + static_cast<int64_t>(b) * H,
              h8p + static_cast<int64_t>(b) * hs, H);
  }
}

// head_cpu turns the head products of chunk c's streams into frequency tables.
void zt_engine::head_cpu(uint16_t* freqs, int c, bool split) {
  int b0, b1;
  chunk_range(this, c, &b0, &b1);
  if (split) {
    float_input(x_hh, L - 1, b0, b1);
    auto out = prod_head.narrow(0, b0, b1 - b0);
    at::mm_out(out, x_hh.narrow(0, b0, b1 - b0), w_head.t());
  }
  int32_t* logit = scratch[c].data() + 6 * H;
  const float* ph = prod_head.data_ptr<float>();
  for (int b = b0; b < b1; b++) {
    zk::rescale_rows(ph + static_cast<int64_t>(b) * 256, m_head.data(), b_head.data(), logit, 256);
    zk::softmax(logit, exp_.data(), freqs + static_cast<int64_t>(b) * 256);
  }
}

// float_input copies streams [b0, b1) of layer l's int8 state into x.
void zt_engine::float_input(torch::Tensor& x, int l, int b0, int b1) {
  float* dst = x.data_ptr<float>();
  const int8_t* src = h8c[l].data();
  for (int64_t b = b0; b < b1; b++) {
    for (int j = 0; j < H; j++) dst[b * H + j] = src[b * hs + j];
  }
}

namespace {
constexpr int kRows = 48;  // streams per int8 GEMM call: a multiple of the kernel's 6
}

// step_int runs a whole step for the streams of chunk c with the int8 GEMM,
// kRows streams at a time: small enough that their products stay in cache.
// Chunks start at multiples of 6 streams, the rows of the VNNI kernel, which
// computes a partial block of rows at the cost of a full one.
void zt_engine::step_int(const uint8_t* in, uint16_t* freqs, int c) {
  const int G = 3 * H;
  const zk::Isa isa = gemm == ZT_GEMM_VNNI ? zk::Isa::kAvx512Vnni : zk::Isa::kPortable;
  int b0, b1;
  chunk_range(this, c, &b0, &b1);
  if (c > 0) b0 = b0 / 6 * 6;
  if (c < chunks - 1) b1 = b1 / 6 * 6;
  int32_t* gi_buf = scratch[c].data();
  int32_t* gh = gi_buf + G;
  int32_t* logit = gh + G;
  int32_t* pi = iprod[c].data();   // [kRows][G]
  int32_t* ph = pi + kRows * G;    // [kRows][G], and [kRows][256] for the head
  for (int r0 = b0; r0 < b1; r0 += kRows) {
    const int n = std::min(kRows, b1 - r0);
    for (int l = 0; l < L; l++) {
      const Layer& ly = layers[l];
      int8_t* x = h8c[l].data() + static_cast<int64_t>(r0) * hs;
      zk::gemm_i8(isa, x, hs, n, ly.p_hh, ph, G);
      if (l > 0) zk::gemm_i8(isa, h8c[l - 1].data() + static_cast<int64_t>(r0) * hs, hs, n, ly.p_ih, pi, G);
      for (int i = 0; i < n; i++) {
        const int b = r0 + i;
        const int32_t* gi = t0.data() + static_cast<int64_t>(in[b]) * G;
        if (l > 0) {
          zk::rescale_rows(isa, pi + static_cast<int64_t>(i) * G, ly.m_ih.data(), ly.b_ih.data(), gi_buf, G);
          gi = gi_buf;
        }
        zk::rescale_rows(isa, ph + static_cast<int64_t>(i) * G, ly.m_hh.data(), ly.b_hh.data(), gh, G);
        zk::gates(isa, gi, gh, sig.data(), tanh_.data(), h[l].data() + static_cast<int64_t>(b) * H,
                  x + static_cast<int64_t>(i) * hs, H);
      }
    }
    zk::gemm_i8(isa, h8c[L - 1].data() + static_cast<int64_t>(r0) * hs, hs, n, p_head, ph, 256);
    for (int i = 0; i < n; i++) {
      zk::rescale_rows(isa, ph + static_cast<int64_t>(i) * 256, m_head.data(), b_head.data(), logit, 256);
      zk::softmax(logit, exp_.data(), freqs + static_cast<int64_t>(r0 + i) * 256);
    }
  }
}

namespace {

// OpenBLAS, when torch calls it (Debian's libtorch), keeps its own thread
// pool; these reach it without linking it.
using blas_set = void (*)(int);
using blas_get = int (*)(void);
blas_set openblas_set() { return reinterpret_cast<blas_set>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")); }
blas_get openblas_get() { return reinterpret_cast<blas_get>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads")); }

// SingleThreadedBlas makes OpenBLAS single-threaded for its lifetime.
struct SingleThreadedBlas {
  blas_set set = openblas_set();
  int saved = 0;
  SingleThreadedBlas() {
    blas_get get = openblas_get();
    if (set && get) {
      saved = get();
      set(1);
    }
  }
  ~SingleThreadedBlas() {
    if (saved > 0) set(saved);
  }
};

// run_chunks runs f over the engine's chunks and rethrows the first failure
// in the calling thread: exceptions must not escape a pool thread.
template <typename F>
void run_chunks(zt_engine* e, F f) {
  std::mutex mu;
  std::string err;
  e->pool->run(e->chunks, [&](int c) {
    try {
      f(c);
    } catch (const c10::Error& x) {
      std::lock_guard<std::mutex> lock(mu);
      if (err.empty()) err = x.what_without_backtrace();
    } catch (const std::exception& x) {
      std::lock_guard<std::mutex> lock(mu);
      if (err.empty()) err = x.what();
    }
  });
  if (!err.empty()) throw std::runtime_error(err);
}

}  // namespace

// step_cpu: with OpenBLAS, every thread runs the whole step for its own
// streams, products included, with single-threaded BLAS: one hand-off per
// step and no BLAS threads spinning while the integer part runs. That holds
// for a single chunk too: OpenBLAS's own threads, waking for products of a
// few streams, made a 2-stream decode 30 times slower on a busy CPU. Otherwise
// torch runs each product over all streams with its own threads, and the pool
// runs the integer part.
void zt_engine::step_cpu(const uint8_t* in, uint16_t* freqs) {
  if (gemm != ZT_GEMM_FLOAT) {
    run_chunks(this, [&](int c) { step_int(in, freqs, c); });
    return;
  }
  if (split_products) {
    SingleThreadedBlas one;
    run_chunks(this, [&](int c) {
      for (int l = 0; l < L; l++) layer_cpu(l, in, c, true);
      head_cpu(freqs, c, true);
    });
    return;
  }
  for (int l = 0; l < L; l++) {
    float_input(x_hh, l, 0, B);
    at::mm_out(prod_hh, x_hh, layers[l].w_hh.t());
    if (l > 0) {
      float_input(x_ih, l - 1, 0, B);
      at::mm_out(prod_ih, x_ih, layers[l].w_ih.t());
    }
    run_chunks(this, [&](int c) { layer_cpu(l, in, c, false); });
  }
  float_input(x_hh, L - 1, 0, B);
  at::mm_out(prod_head, x_hh, w_head.t());
  run_chunks(this, [&](int c) { head_cpu(freqs, c, false); });
}

// step_ops_body runs one step from d_in into d_out and updates the state in
// place, so that on CUDA its kernels can be captured once and replayed.
void zt_engine::step_ops_body() {
  using torch::Tensor;
  auto x = d_in.to(torch::kLong);
  auto shr = [](const Tensor& t, int s) { return at::bitwise_right_shift(t, s); };
  auto resc = [&](const Tensor& prod, const Tensor& m, const Tensor& bias) {
    return shr(prod.to(torch::kLong) * m + (int64_t{1} << 19), 20) + bias;
  };
  auto act_d = [&](const Tensor& lut, const Tensor& v) {
    return lut.take(shr(v.clamp(-32768, 32767) + 32768, 3));
  };
  const int H_ = H;
  for (int l = 0; l < L; l++) {
    const Layer& ly = layers[l];
    Tensor gi = l == 0 ? d_t0.index_select(0, x) : resc(torch::mm(h8[l - 1], ly.w_ih.t()), ly.dm_ih, ly.db_ih);
    Tensor gh = resc(torch::mm(h8[l], ly.w_hh.t()), ly.dm_hh, ly.db_hh);
    auto r = act_d(d_sig, gi.narrow(1, 0, H_) + gh.narrow(1, 0, H_));
    auto z = act_d(d_sig, gi.narrow(1, H_, H_) + gh.narrow(1, H_, H_));
    auto n = act_d(d_tanh, gi.narrow(1, 2 * H_, H_) + shr(r * gh.narrow(1, 2 * H_, H_) + kHalf15, 15));
    hq[l].copy_(n + shr(z * (hq[l] - n) + kHalf15, 15));
    h8[l].copy_(shr(hq[l] * 127 + kHalf15, 15));
  }
  auto logit = resc(torch::mm(h8[L - 1], w_head.t()), d_m_head, d_b_head);  // [B, 256]
  auto mx = std::get<0>(logit.max(1, true));
  // The first index of the maximum: non-maximal entries are pushed past 255.
  auto a = (d_arange + (logit != mx).to(torch::kLong) * 256).amin(1, true);
  auto ev = d_exp.take(shr(mx - logit, 3).clamp_max(8191));
  auto s = ev.sum(1, true);
  auto f = (ev * 65280).div(s, "floor") + 1;
  auto deficit = 65536 - f.sum(1, true);
  f.scatter_add_(1, a, deficit);
  d_out.copy_(f);
}

#ifdef ZT_CUDA
// run_graphed runs the step eagerly twice (which also warms cuBLAS on this
// stream), captures it on the third and replays the graph from then on. A
// capture that fails leaves the engine stepping eagerly.
void zt_engine::run_graphed() {
  if (graph_state == kGraphReady) {
    graph->replay();
    return;
  }
  if (graph_state == kGraphOff || eager_steps < 2) {
    step_ops_body();
    eager_steps++;
    return;
  }
  try {
    graph = std::make_unique<at::cuda::CUDAGraph>();
    graph->capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
    step_ops_body();
    graph->capture_end();
    graph_state = kGraphReady;
  } catch (const std::exception& err) {
    std::fprintf(stderr, "zpng: CUDA graph capture failed; stepping without it: %s\n", err.what());
    graph_state = kGraphOff;
    (void)graph.release();  // a graph whose capture broke is not safe to destroy
    step_ops_body();
    return;
  }
  graph->replay();
}
#endif

void zt_engine::step_ops(const uint8_t* in, uint16_t* freqs) {
#ifdef ZT_CUDA
  std::optional<c10::cuda::CUDAStreamGuard> on;
  if (stream) {
    if (eager_steps == 0) torch::cuda::synchronize();  // the loads and zeros on the default stream
    on.emplace(*stream);
  }
#endif
  std::memcpy(h_in.data_ptr<uint8_t>(), in, B);
  d_in.copy_(h_in, pinned);
#ifdef ZT_CUDA
  if (stream) {
    run_graphed();
  } else {
    step_ops_body();
  }
#else
  step_ops_body();
#endif
  h_out.copy_(d_out, pinned);
#ifdef ZT_CUDA
  if (stream) stream->synchronize();
#endif
  const int32_t* hp = h_out.data_ptr<int32_t>();
  for (int64_t i = 0; i < static_cast<int64_t>(B) * 256; i++) freqs[i] = static_cast<uint16_t>(hp[i]);
}

extern "C" int zt_vnni_supported(void) { return zk::vnni_supported() ? 1 : 0; }

extern "C" char* zt_engine_new(int layers, int hidden, int batch, int cuda, int threads, int gemm, zt_engine** out) {
  *out = nullptr;
  return guard([&] {
    check(layers >= 1 && hidden >= 1 && batch >= 1, "bad engine shape");
    check(gemm == ZT_GEMM_FLOAT || gemm == ZT_GEMM_INT8 || gemm == ZT_GEMM_VNNI || gemm == ZT_GEMM_OPS,
          "unknown GEMM path");
    check(gemm != ZT_GEMM_VNNI || zk::vnni_supported(), "this CPU lacks AVX-512 VNNI");
    check(hidden <= 1024, "hidden size above 1024 breaks exact float32 products");
    auto e = std::make_unique<zt_engine>();
    e->L = layers;
    e->H = hidden;
    e->B = batch;
    e->cuda = cuda != 0;
    e->dev = device_for(cuda);
    e->gemm = e->cuda ? ZT_GEMM_FLOAT : gemm;
    e->ops = e->cuda || gemm == ZT_GEMM_OPS;
    if (cuda) tf32(false);
    e->layers.resize(layers);
    auto fopt = torch::TensorOptions().dtype(torch::kFloat32).device(e->dev);
    if (e->ops) {
      for (int l = 0; l < layers; l++) e->h8.push_back(torch::zeros({batch, hidden}, fopt));
      auto lopt = torch::TensorOptions().dtype(torch::kLong).device(e->dev);
      for (int l = 0; l < layers; l++) e->hq.push_back(torch::zeros({batch, hidden}, lopt));
      e->d_arange = torch::arange(256, lopt).unsqueeze(0);
#ifdef ZT_CUDA
      e->pinned = e->cuda;
      if (e->cuda) {
        e->stream = c10::cuda::getStreamFromPool(false, e->dev.index());
        const char* g = std::getenv("ZPNG_CUDA_GRAPH");
        if (g != nullptr && std::strcmp(g, "0") == 0) e->graph_state = zt_engine::kGraphOff;
      }
#endif
      auto hopt = torch::TensorOptions().pinned_memory(e->pinned);
      e->h_in = torch::empty({batch}, hopt.dtype(torch::kUInt8));
      e->h_out = torch::empty({batch, 256}, hopt.dtype(torch::kInt32));
      e->d_in = torch::zeros({batch}, torch::TensorOptions().dtype(torch::kUInt8).device(e->dev));
      e->d_out = torch::zeros({batch, 256}, torch::TensorOptions().dtype(torch::kInt32).device(e->dev));
    } else {
      e->h.assign(layers, std::vector<int32_t>(static_cast<size_t>(batch) * hidden, 0));
      e->hs = (hidden + 3) / 4 * 4;
      e->h8c.assign(layers, std::vector<int8_t>(static_cast<size_t>(batch) * e->hs, 0));
      // Chunks of at least 8 streams, one per thread at most: below that the
      // hand-off costs more than it saves.
      e->chunks = std::max(1, std::min(threads, batch / 8));
      e->pool = std::make_unique<zk::Pool>(e->chunks);
      e->split_products = openblas_set() != nullptr && openblas_get() != nullptr;
      e->scratch.assign(e->chunks, std::vector<int32_t>(6 * static_cast<size_t>(hidden) + 256));
      if (e->gemm == ZT_GEMM_FLOAT) {
        e->x_hh = torch::zeros({batch, hidden}, fopt);
        e->x_ih = torch::zeros({batch, hidden}, fopt);
        e->prod_hh = torch::zeros({batch, 3 * hidden}, fopt);
        e->prod_ih = torch::zeros({batch, 3 * hidden}, fopt);
        e->prod_head = torch::zeros({batch, 256}, fopt);
      } else {
        const size_t G = 3 * static_cast<size_t>(hidden);
        e->iprod.assign(e->chunks, std::vector<int32_t>(kRows * (G + std::max<size_t>(G, 256))));
      }
    }
    *out = e.release();
  });
}

extern "C" void zt_engine_free(zt_engine* e) { delete e; }

extern "C" char* zt_engine_set_t0(zt_engine* e, const int32_t* t0) {
  return guard([&] {
    int64_t n = 256 * 3 * static_cast<int64_t>(e->H);
    e->t0.assign(t0, t0 + n);
    if (e->ops) e->d_t0 = int_vector(t0, n, e->dev).view({256, 3 * e->H});
    e->t0_loaded = true;
  });
}

extern "C" char* zt_engine_set_layer(zt_engine* e, int k, const int8_t* w_ih, const int32_t* m_ih,
                                     const int32_t* b_ih, const int8_t* w_hh, const int32_t* m_hh,
                                     const int32_t* b_hh) {
  return guard([&] {
    check(k >= 0 && k < e->L, "layer index out of range");
    const int64_t G = 3 * static_cast<int64_t>(e->H);
    Layer& ly = e->layers[k];
    const bool packed = e->gemm == ZT_GEMM_INT8 || e->gemm == ZT_GEMM_VNNI;
    if (k > 0) {
      if (packed) {
        ly.p_ih = zk::PackedInt8(w_ih, static_cast<int>(G), e->H);
      } else {
        ly.w_ih = int8_matrix(w_ih, G, e->H, e->dev);
      }
      ly.m_ih = doubles(m_ih, G);
      ly.b_ih.assign(b_ih, b_ih + G);
      if (e->ops) {
        ly.dm_ih = int_vector(m_ih, G, e->dev);
        ly.db_ih = int_vector(b_ih, G, e->dev);
      }
    }
    if (packed) {
      ly.p_hh = zk::PackedInt8(w_hh, static_cast<int>(G), e->H);
    } else {
      ly.w_hh = int8_matrix(w_hh, G, e->H, e->dev);
    }
    ly.m_hh = doubles(m_hh, G);
    ly.b_hh.assign(b_hh, b_hh + G);
    if (e->ops) {
      ly.dm_hh = int_vector(m_hh, G, e->dev);
      ly.db_hh = int_vector(b_hh, G, e->dev);
    }
    ly.loaded = true;
  });
}

extern "C" char* zt_engine_set_head(zt_engine* e, const int8_t* w, const int32_t* m, const int32_t* b) {
  return guard([&] {
    if (e->gemm == ZT_GEMM_INT8 || e->gemm == ZT_GEMM_VNNI) {
      e->p_head = zk::PackedInt8(w, 256, e->H);
    } else {
      e->w_head = int8_matrix(w, 256, e->H, e->dev);
    }
    e->m_head = doubles(m, 256);
    e->b_head.assign(b, b + 256);
    if (e->ops) {
      e->d_m_head = int_vector(m, 256, e->dev);
      e->d_b_head = int_vector(b, 256, e->dev);
    }
    e->head_loaded = true;
  });
}

extern "C" char* zt_engine_set_tables(zt_engine* e, const int32_t* sig, const int32_t* tanh_,
                                      const int32_t* exp_) {
  return guard([&] {
    e->sig.assign(sig, sig + 8192);
    e->tanh_.assign(tanh_, tanh_ + 8192);
    e->exp_.assign(exp_, exp_ + 8192);
    if (e->ops) {
      e->d_sig = int_vector(sig, 8192, e->dev);
      e->d_tanh = int_vector(tanh_, 8192, e->dev);
      e->d_exp = int_vector(exp_, 8192, e->dev);
    }
    e->tables_loaded = true;
  });
}

extern "C" char* zt_engine_step(zt_engine* e, const uint8_t* in, uint16_t* freqs) {
  return guard([&] {
    e->check_ready();
    torch::NoGradGuard no_grad;
    if (e->ops) {
      if (e->cuda) tf32(false);
      e->step_ops(in, freqs);
    } else {
      e->step_cpu(in, freqs);
    }
  });
}

extern "C" void zt_engine_split_products(zt_engine* e, int on) {
  e->split_products = on != 0 && openblas_set() != nullptr && openblas_get() != nullptr;
}

extern "C" int zt_engine_gemm(zt_engine* e) { return e->gemm; }

extern "C" char* zt_gemm_i8(int path, const int8_t* x, int rows, int k, const int8_t* w, int n, int32_t* out) {
  return guard([&] {
    check(path == ZT_GEMM_INT8 || (path == ZT_GEMM_VNNI && zk::vnni_supported()), "GEMM path not available");
    check(rows >= 1 && k >= 1 && n >= 1, "bad GEMM shape");
    zk::PackedInt8 p(w, n, k);
    // Rows padded to kp, as the engine's state is; the padding must not matter.
    std::vector<int8_t> xp(static_cast<size_t>(rows) * p.kp(), 99);
    for (int r = 0; r < rows; r++) std::memcpy(&xp[static_cast<size_t>(r) * p.kp()], x + static_cast<size_t>(r) * k, k);
    zk::gemm_i8(path == ZT_GEMM_VNNI ? zk::Isa::kAvx512Vnni : zk::Isa::kPortable, xp.data(), p.kp(), rows, p, out, n);
  });
}

extern "C" char* zt_engine_reset(zt_engine* e) {
  return guard([&] { e->reset(); });
}
