#include "common/model/llama.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace crescent::model {
namespace {

using torch::indexing::Slice;

torch::Tensor RmsNorm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  torch::Tensor variance = x.pow(2).mean(-1, /*keepdim=*/true);
  return x * torch::rsqrt(variance + eps) * weight;
}

torch::Tensor RotateHalf(const torch::Tensor& x) {
  int64_t half = x.size(-1) / 2;
  return torch::cat(
      {-x.index({"...", Slice(half, torch::indexing::None)}), x.index({"...", Slice(0, half)})},
      -1);
}

// x: [B, heads, T, hd]; cos/sin: [B or 1, 1, T, hd]
torch::Tensor Rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  return x * cos + RotateHalf(x) * sin;
}

// What the layers of one cached forward (a prefill or a decode step) share.
struct CacheStep {
  torch::Tensor slots;      // [B] cache row of each batch row; undefined: rows 0..B-1
  torch::Tensor rows;       // [B, T] the cache row of each new key/value
  torch::Tensor positions;  // [B, T] the position of each
  int64_t span = 0;         // attention covers cache positions 0..span-1
  torch::Tensor mask;       // [B, 1, T, span] additive: -inf past each query's position
};

CacheStep MakeCacheStep(const torch::Tensor& slots, const torch::Tensor& positions,
                        torch::TensorOptions options) {
  const int64_t B = positions.size(0), T = positions.size(1);
  CacheStep step;
  step.slots = slots;
  step.rows =
      (slots.defined() ? slots : torch::arange(B, positions.options())).view({B, 1}).expand({B, T});
  step.positions = positions;
  step.span = positions.max().item<int64_t>() + 1;
  torch::Tensor key_pos = torch::arange(step.span, positions.options()).view({1, 1, 1, step.span});
  step.mask = torch::zeros({B, 1, T, step.span}, options)
                  .masked_fill(key_pos > positions.view({B, 1, T, 1}), -INFINITY);
  return step;
}

}  // namespace

class DecoderLayerImpl : public torch::nn::Module {
 public:
  explicit DecoderLayerImpl(const LlamaConfig& c) : c_(c) {
    const int64_t hd = c.head_dim();
    auto linear = [](int64_t in, int64_t out, bool bias = false) {
      return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias));
    };
    q_ = register_module("q_proj", linear(c.hidden_size, c.num_heads * hd, c.attention_bias));
    k_ = register_module("k_proj", linear(c.hidden_size, c.num_kv_heads * hd, c.attention_bias));
    v_ = register_module("v_proj", linear(c.hidden_size, c.num_kv_heads * hd, c.attention_bias));
    o_ = register_module("o_proj", linear(c.num_heads * hd, c.hidden_size));
    gate_ = register_module("gate_proj", linear(c.hidden_size, c.intermediate_size));
    up_ = register_module("up_proj", linear(c.hidden_size, c.intermediate_size));
    down_ = register_module("down_proj", linear(c.intermediate_size, c.hidden_size));
    input_norm_ = register_parameter("input_layernorm", torch::ones({c.hidden_size}));
    post_norm_ = register_parameter("post_attention_layernorm", torch::ones({c.hidden_size}));
    if (c.qk_norm) {
      q_norm_ = register_parameter("q_norm", torch::ones({hd}));
      k_norm_ = register_parameter("k_norm", torch::ones({hd}));
    }
  }

  // x: [B, T, H]. With a cache step, keys/values of these T positions are
  // written to the layer's cache (`cache_k`, `cache_v`: [slots, kv_heads,
  // max_positions, head_dim]) and attention spans the cache up to each row's
  // position; without, plain causal attention.
  torch::Tensor Forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const CacheStep* step = nullptr, torch::Tensor* cache_k = nullptr,
                        torch::Tensor* cache_v = nullptr) {
    const int64_t B = x.size(0), T = x.size(1), hd = c_.head_dim();
    const int64_t groups = c_.num_heads / c_.num_kv_heads;
    torch::Tensor h = RmsNorm(x, input_norm_, c_.rms_norm_eps);
    torch::Tensor q = q_(h).view({B, T, c_.num_heads, hd}).transpose(1, 2);
    torch::Tensor k = k_(h).view({B, T, c_.num_kv_heads, hd}).transpose(1, 2);
    torch::Tensor v = v_(h).view({B, T, c_.num_kv_heads, hd}).transpose(1, 2);
    if (c_.qk_norm) {
      q = RmsNorm(q, q_norm_, c_.rms_norm_eps);
      k = RmsNorm(k, k_norm_, c_.rms_norm_eps);
    }
    q = Rope(q, cos, sin);
    k = Rope(k, cos, sin);
    torch::Tensor mask;  // additive, broadcast to [B, heads, T, S]
    if (step) {
      // Write this step's keys/values (all T positions of every row in one
      // indexed write: [B, T, kv_heads, hd]), then attend over the positions
      // in use (rows 0..B-1 are read in place, others gathered).
      cache_k->index_put_({step->rows, Slice(), step->positions}, k.transpose(1, 2));
      cache_v->index_put_({step->rows, Slice(), step->positions}, v.transpose(1, 2));
      k = cache_k->narrow(2, 0, step->span);
      v = cache_v->narrow(2, 0, step->span);
      if (step->slots.defined()) {
        k = k.index_select(0, step->slots);
        v = v.index_select(0, step->slots);
      } else {
        k = k.narrow(0, 0, B);
        v = v.narrow(0, 0, B);
      }
      mask = step->mask;
    } else {
      mask = torch::full({T, T}, -INFINITY, x.options()).triu(1).view({1, 1, T, T});
    }
    torch::Tensor attn;
    if (T == 1 && !x.is_cuda()) {
      // One new token per row (a decode step) on the CPU: LibTorch's CPU
      // batched matmul runs one tiny product per (row, head) and is bound
      // by dispatch (40% of a decode step); multiply and sum instead, with
      // each query head group against its key/value head (no copies).
      const int64_t S = k.size(2);
      torch::Tensor qg = q.reshape({B, c_.num_kv_heads, groups, 1, hd});
      torch::Tensor scores = (qg * k.unsqueeze(2)).sum(-1) / std::sqrt(double(hd)) +
                             mask.view({B, 1, 1, S});  // [B, kv_heads, groups, S]
      torch::Tensor p = torch::softmax(scores, -1).unsqueeze(-1);
      attn = (p * v.unsqueeze(2)).sum(-2).reshape({B, 1, c_.num_heads * hd});
    } else {
      if (groups > 1) {
        k = k.repeat_interleave(groups, 1);
        v = v.repeat_interleave(groups, 1);
      }
      torch::Tensor scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(hd)) + mask;
      attn = torch::matmul(torch::softmax(scores, -1), v);
      attn = attn.transpose(1, 2).reshape({B, T, c_.num_heads * hd});
    }
    torch::Tensor out = x + o_(attn);
    h = RmsNorm(out, post_norm_, c_.rms_norm_eps);
    return out + down_(torch::silu(gate_(h)) * up_(h));
  }

 private:
  LlamaConfig c_;
  torch::nn::Linear q_{nullptr}, k_{nullptr}, v_{nullptr}, o_{nullptr};
  torch::nn::Linear gate_{nullptr}, up_{nullptr}, down_{nullptr};
  torch::Tensor input_norm_, post_norm_, q_norm_, k_norm_;
};

namespace {

// A decoder layer whose activations are recomputed in backward: forward runs
// without recording and keeps only the layer's input; backward runs the layer
// again with recording on and backpropagates through it (parameter gradients
// accumulate directly into the parameters, as in PyTorch's reentrant
// checkpoint).
struct CheckpointedLayer : public torch::autograd::Function<CheckpointedLayer> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor x,
                               torch::Tensor cos, torch::Tensor sin, int64_t layer) {
    ctx->save_for_backward({x});
    ctx->saved_data["cos"] = cos;
    ctx->saved_data["sin"] = sin;
    ctx->saved_data["layer"] = layer;
    torch::NoGradGuard no_grad;
    return Layer(layer)->Forward(x, cos, sin);
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    torch::Tensor x = ctx->get_saved_variables()[0].detach().requires_grad_(true);
    torch::Tensor out;
    {
      torch::AutoGradMode enable(true);
      out = Layer(ctx->saved_data["layer"].toInt())
                ->Forward(x, ctx->saved_data["cos"].toTensor(), ctx->saved_data["sin"].toTensor());
    }
    torch::autograd::backward({out}, {grads[0]});
    return {x.grad(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
  static DecoderLayerImpl* Layer(int64_t address) {
    return reinterpret_cast<DecoderLayerImpl*>(static_cast<intptr_t>(address));
  }
};

// Columns of the vocabulary per block, so that a block of logits for `rows`
// positions holds about 2M floats (8 MB): it stays in cache while it is used.
int64_t VocabBlock(int64_t rows, int64_t vocab) {
  return std::min(vocab, std::max<int64_t>(256, (int64_t{1} << 21) / std::max<int64_t>(rows, 1)));
}

// log softmax(h W^T)[n, targets[n]] for h [N, H], W [V, H], without the
// [N, V] logits: forward takes the log-sum-exp block by block of vocabulary
// columns and the target's logit from its row of W; backward recomputes each
// block's logits, and from the softmax (exp(logit - lse)) its part of both
// gradients. Same values and gradients as the whole logits' log-softmax, up
// to float rounding.
struct VocabLogprob : public torch::autograd::Function<VocabLogprob> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor h,
                               torch::Tensor w, torch::Tensor targets) {
    torch::NoGradGuard no_grad;
    const int64_t N = h.size(0), V = w.size(0), block = VocabBlock(N, V);
    torch::Tensor lse = torch::full({N}, -std::numeric_limits<float>::infinity(), h.options());
    for (int64_t from = 0; from < V; from += block) {
      const torch::Tensor logits = torch::mm(h, w.narrow(0, from, std::min(block, V - from)).t());
      lse = torch::logaddexp(lse, torch::logsumexp(logits, 1));
    }
    const torch::Tensor target_logit = (h * w.index_select(0, targets)).sum(1);
    ctx->save_for_backward({h, w, targets, lse});
    return target_logit - lse;
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    torch::NoGradGuard no_grad;
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &h = saved[0], &w = saved[1], &targets = saved[2], &lse = saved[3];
    const torch::Tensor g = grads[0].contiguous();
    const int64_t N = h.size(0), V = w.size(0), block = VocabBlock(N, V);
    // d lp[n] / d logit[n, v] = [v = target] - softmax[n, v]: the target's
    // part first, then the softmax's, block by block.
    const torch::Tensor gh = g.unsqueeze(1) * h;
    torch::Tensor grad_h = g.unsqueeze(1) * w.index_select(0, targets);
    torch::Tensor grad_w = torch::zeros_like(w).index_add_(0, targets, gh);
    for (int64_t from = 0; from < V; from += block) {
      const int64_t n = std::min(block, V - from);
      const torch::Tensor wb = w.narrow(0, from, n);
      const torch::Tensor d =
          torch::exp(torch::mm(h, wb.t()) - lse.unsqueeze(1)).mul_(g.unsqueeze(1));
      grad_h.sub_(torch::mm(d, wb));
      grad_w.narrow(0, from, n).sub_(torch::mm(d.t(), h));
    }
    return {grad_h, grad_w, torch::Tensor()};
  }
};

}  // namespace

LlamaImpl::LlamaImpl(const LlamaConfig& c) : config_(c) {
  TORCH_CHECK((c.explicit_head_dim > 0 || c.hidden_size % c.num_heads == 0) && c.num_kv_heads > 0 &&
                  c.num_heads % c.num_kv_heads == 0 && c.head_dim() % 2 == 0,
              "Llama config: hidden_size must divide into heads, heads into kv heads, and the head "
              "size must be even");
  embed_ = register_module("embed_tokens", torch::nn::Embedding(c.vocab_size, c.hidden_size));
  torch::nn::init::normal_(embed_->weight, 0.0, 0.02);
  auto list = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_layers; ++i) {
    layers_.push_back(DecoderLayer(c));
    list->push_back(layers_.back());
  }
  final_norm_ = register_parameter("norm", torch::ones({c.hidden_size}));
  if (!c.tie_embeddings) {
    lm_head_ = register_module(
        "lm_head",
        torch::nn::Linear(torch::nn::LinearOptions(c.hidden_size, c.vocab_size).bias(false)));
  }
  const int64_t hd = c.head_dim();
  torch::Tensor inv_freq =
      1.0 / torch::pow(c.rope_theta, torch::arange(0, hd, 2, torch::kFloat64) / double(hd));
  const RopeScaling& rs = c.rope_scaling;
  if (rs.type == "linear") {
    inv_freq = inv_freq / rs.factor;
  } else if (rs.type == "llama3") {
    // Hugging Face's _compute_llama3_parameters.
    const double old_len = double(rs.original_max_positions);
    const double low_wavelen = old_len / rs.low_freq_factor;
    const double high_wavelen = old_len / rs.high_freq_factor;
    torch::Tensor wavelen = 6.283185307179586 / inv_freq;
    torch::Tensor scaled = torch::where(wavelen > low_wavelen, inv_freq / rs.factor, inv_freq);
    torch::Tensor smooth =
        (old_len / wavelen - rs.low_freq_factor) / (rs.high_freq_factor - rs.low_freq_factor);
    torch::Tensor smoothed = (1 - smooth) * scaled / rs.factor + smooth * scaled;
    torch::Tensor medium = (wavelen >= high_wavelen).logical_and(wavelen <= low_wavelen);
    inv_freq = torch::where(medium, smoothed, scaled);
  } else {
    TORCH_CHECK(rs.type.empty(), "unsupported rope_scaling type \"", rs.type,
                "\" (supported: linear, llama3)");
  }
  torch::Tensor freqs = torch::outer(torch::arange(c.max_positions, torch::kFloat64), inv_freq);
  torch::Tensor emb = torch::cat({freqs, freqs}, -1);
  cos_ = register_buffer("rope_cos", emb.cos().to(torch::kFloat32));
  sin_ = register_buffer("rope_sin", emb.sin().to(torch::kFloat32));
}

torch::Tensor LlamaImpl::FinalNorm(const torch::Tensor& hidden) {
  return RmsNorm(hidden, final_norm_, config_.rms_norm_eps);
}

const torch::Tensor& LlamaImpl::OutputWeight() const {
  return lm_head_ ? lm_head_->weight : embed_->weight;
}

torch::Tensor LlamaImpl::Logits(const torch::Tensor& hidden) {
  return torch::matmul(FinalNorm(hidden), OutputWeight().t());
}

torch::Tensor LlamaImpl::forward(const torch::Tensor& ids) { return Logits(Hidden(ids)); }

torch::Tensor LlamaImpl::Hidden(const torch::Tensor& ids) {
  const int64_t T = ids.size(1);
  TORCH_CHECK(T <= config_.max_positions, "sequence of ", T, " tokens exceeds the model's ",
              config_.max_positions, " positions");
  torch::Tensor cos = cos_.index({Slice(0, T)}).view({1, 1, T, -1});
  torch::Tensor sin = sin_.index({Slice(0, T)}).view({1, 1, T, -1});
  torch::Tensor x = embed_(ids);
  const bool recompute = checkpointing_ && torch::GradMode::is_enabled();
  for (auto& layer : layers_) {
    x = recompute ? CheckpointedLayer::apply(
                        x, cos, sin, static_cast<int64_t>(reinterpret_cast<intptr_t>(layer.get())))
                  : layer->Forward(x, cos, sin);
  }
  return x;
}

KvCache LlamaImpl::NewCache(int64_t slots, int64_t positions) const {
  KvCache cache;
  auto options = cos_.options();
  const int64_t length =
      positions > 0 ? std::min(positions, config_.max_positions) : config_.max_positions;
  for (int64_t i = 0; i < config_.num_layers; ++i) {
    cache.keys.push_back(
        torch::zeros({slots, config_.num_kv_heads, length, config_.head_dim()}, options));
    cache.values.push_back(torch::zeros_like(cache.keys.back()));
  }
  return cache;
}

torch::Tensor LlamaImpl::Prefill(KvCache& cache, const torch::Tensor& slots,
                                 const torch::Tensor& ids, const torch::Tensor& lengths,
                                 int64_t chunk) {
  const int64_t B = ids.size(0), T = ids.size(1);
  TORCH_CHECK(T <= cache.keys[0].size(2), "prompt of ", T, " tokens exceeds the cache's ",
              cache.keys[0].size(2), " positions");
  TORCH_CHECK(chunk > 0, "Prefill: chunk must be positive");
  // Each row's hidden state at its last token, filled in by the chunk that holds it.
  torch::Tensor last = torch::zeros({B, config_.hidden_size}, cos_.options());
  const torch::Tensor last_index = lengths.to(last.device()) - 1;
  for (int64_t from = 0; from < T; from += chunk) {
    const int64_t n = std::min(chunk, T - from);
    torch::Tensor positions =
        torch::arange(from, from + n, torch::kLong).view({1, n}).expand({B, n});
    torch::Tensor cos = cos_.narrow(0, from, n).view({1, 1, n, -1});
    torch::Tensor sin = sin_.narrow(0, from, n).view({1, 1, n, -1});
    torch::Tensor x = embed_(ids.narrow(1, from, n));
    const CacheStep step = MakeCacheStep(slots, positions, x.options());
    for (size_t i = 0; i < layers_.size(); ++i) {
      x = layers_[i]->Forward(x, cos, sin, &step, &cache.keys[i], &cache.values[i]);
    }
    const torch::Tensor here =
        (last_index >= from).logical_and(last_index < from + n).nonzero().squeeze(1);
    if (here.numel() > 0) {
      last.index_copy_(0, here, x.index({here, last_index.index_select(0, here) - from}));
    }
  }
  return Logits(last);
}

torch::Tensor LlamaImpl::DecodeStep(KvCache& cache, const torch::Tensor& tokens,
                                    const torch::Tensor& slots, const torch::Tensor& positions) {
  const int64_t A = tokens.size(0);
  torch::Tensor cos = cos_.index_select(0, positions).view({A, 1, 1, -1});
  torch::Tensor sin = sin_.index_select(0, positions).view({A, 1, 1, -1});
  torch::Tensor x = embed_(tokens.view({A, 1}));
  // Rows 0..A-1 in order (as the generator keeps them) are read in place.
  bool in_order = slots.device().is_cpu();
  if (in_order) {
    auto s = slots.accessor<int64_t, 1>();
    for (int64_t i = 0; i < A && in_order; ++i) in_order = s[i] == i;
  }
  const CacheStep step =
      MakeCacheStep(in_order ? torch::Tensor() : slots, positions.view({A, 1}), x.options());
  for (size_t i = 0; i < layers_.size(); ++i) {
    x = layers_[i]->Forward(x, cos, sin, &step, &cache.keys[i], &cache.values[i]);
  }
  return Logits(x.index({Slice(), 0}));
}

torch::Tensor TokenLogprobs(Llama& model, const torch::Tensor& ids) {
  torch::Tensor logits = model->forward(ids.index({Slice(), Slice(0, -1)}));
  torch::Tensor logp = torch::log_softmax(logits, -1);
  return logp.gather(-1, ids.index({Slice(), Slice(1, torch::indexing::None)}).unsqueeze(-1))
      .squeeze(-1);
}

torch::Tensor TokenLogprobs(Llama& model, const torch::Tensor& ids,
                            const torch::Tensor& attention_mask) {
  torch::Tensor lp = TokenLogprobs(model, ids);
  torch::Tensor keep =
      attention_mask.index({Slice(), Slice(1, torch::indexing::None)}).to(torch::kBool);
  return lp.masked_fill(keep.logical_not(), 0.0);
}

torch::Tensor TokenLogprobsAt(Llama& model, const torch::Tensor& ids, const torch::Tensor& where) {
  const int64_t B = ids.size(0), T = ids.size(1) - 1;
  TORCH_CHECK(where.dim() == 2 && where.size(0) == B && where.size(1) == T,
              "TokenLogprobsAt: `where` must be [B, T-1]");
  torch::Tensor hidden = model->Hidden(ids.index({Slice(), Slice(0, -1)}));
  const torch::Tensor at = where.reshape({-1}).nonzero().squeeze(1);
  torch::Tensor h = hidden.reshape({B * T, -1}).index_select(0, at);
  torch::Tensor targets =
      ids.index({Slice(), Slice(1, torch::indexing::None)}).reshape({-1}).index_select(0, at);
  torch::Tensor lp = VocabLogprob::apply(model->FinalNorm(h), model->OutputWeight(), targets);
  return torch::zeros({B * T}, lp.options()).index_put({at}, lp).view({B, T});
}

}  // namespace crescent::model
