// The policy model: a decoder of the Llama architecture (RMSNorm, rotary
// embeddings in the Hugging Face rotate-half convention, grouped-query
// attention, SwiGLU, tied or untied embeddings) in LibTorch, and batched
// generation with a KV cache allocated once per batch and continuous batching.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/tokenizer/token_id.hpp"

namespace crescent::model {

// Rotary scaling as in config.json's "rope_scaling": none, "linear" (positions
// divided by factor) or "llama3" (Llama 3.1's frequency-dependent scaling).
struct RopeScaling {
  std::string type;  // "" (none), "linear", "llama3"
  double factor = 1.0;
  double low_freq_factor = 1.0;           // llama3 only
  double high_freq_factor = 4.0;          // llama3 only
  int64_t original_max_positions = 8192;  // llama3 only
};

// The architecture (a Llama, Qwen2 or Qwen3 decoder). Read from / written to a
// Hugging Face config.json by ReadHfConfig / WriteHfConfig (pretrained.hpp).
struct LlamaConfig {
  std::string model_type = "llama";  // "llama", "qwen2", "qwen3"
  int64_t vocab_size = 32;
  int64_t hidden_size = 128;
  int64_t intermediate_size = 352;
  int64_t num_layers = 3;
  int64_t num_heads = 4;
  int64_t num_kv_heads = 2;
  int64_t max_positions = 64;
  double rope_theta = 10000.0;
  double rms_norm_eps = 1e-5;
  bool tie_embeddings = true;
  int64_t explicit_head_dim = 0;  // config.json "head_dim"; 0: hidden_size / num_heads
  bool attention_bias = false;    // bias on q/k/v projections (Qwen2)
  bool qk_norm = false;           // RMSNorm of each head's q and k before rotary (Qwen3)
  RopeScaling rope_scaling;
  std::string torch_dtype = "float32";  // storage dtype written to config.json
  tok::TokenId bos_token_id = -1;       // -1: none
  std::vector<tok::TokenId> eos_token_ids;
  int64_t head_dim() const {
    return explicit_head_dim > 0 ? explicit_head_dim : hidden_size / num_heads;
  }
};
using ModelConfig = LlamaConfig;

class DecoderLayerImpl;
TORCH_MODULE(DecoderLayer);

// Per-batch key/value storage: [slots, kv_heads, max_positions, head_dim] per
// layer, allocated once.
struct KvCache {
  std::vector<torch::Tensor> keys, values;
};

class LlamaImpl : public torch::nn::Module {
 public:
  explicit LlamaImpl(const LlamaConfig& config);
  const LlamaConfig& config() const { return config_; }

  // Training / scoring: ids [B, T] from position 0, causal. Returns logits [B, T, V].
  // It is Logits(Hidden(ids)).
  torch::Tensor forward(const torch::Tensor& ids);
  // The last decoder layer's output [B, T, H], before the final norm.
  torch::Tensor Hidden(const torch::Tensor& ids);
  // The final norm and the projection onto the vocabulary: [..., H] -> [..., V].
  torch::Tensor Logits(const torch::Tensor& hidden);
  // The final norm alone, and the projection's weight [V, H] (the embedding's
  // when they are tied).
  torch::Tensor FinalNorm(const torch::Tensor& hidden);
  const torch::Tensor& OutputWeight() const;

  // Activation checkpointing: while on (and gradients are being recorded),
  // forward keeps only each decoder layer's input and recomputes the layer's
  // activations during backward. Same gradients, less peak memory on long
  // sequences, one extra forward of the layers.
  void set_activation_checkpointing(bool on) { checkpointing_ = on; }
  bool activation_checkpointing() const { return checkpointing_; }

  // A cache of `slots` sequences of `positions` tokens (0: max_positions).
  KvCache NewCache(int64_t slots, int64_t positions = 0) const;
  // Runs `ids` [B, T] (row b: lengths[b] tokens, right-padded) from position
  // 0 into cache slots `slots` [B], `chunk` positions at a time (each chunk
  // attends to the cache up to it: attention scores of B x chunk x T, not
  // B x T x T); returns the logits at each row's last token [B, V]. Cache
  // entries past a row's length hold padding until the decode steps
  // overwrite them (a step attends only up to its position).
  torch::Tensor Prefill(KvCache& cache, const torch::Tensor& slots, const torch::Tensor& ids,
                        const torch::Tensor& lengths, int64_t chunk = 512);
  // One token per active slot: tokens [A], slots [A], positions [A] (where each
  // token goes). Returns logits [A, V].
  torch::Tensor DecodeStep(KvCache& cache, const torch::Tensor& tokens, const torch::Tensor& slots,
                           const torch::Tensor& positions);

 private:
  LlamaConfig config_;
  torch::nn::Embedding embed_{nullptr};
  std::vector<DecoderLayer> layers_;
  torch::Tensor final_norm_;
  torch::nn::Linear lm_head_{nullptr};
  torch::Tensor cos_, sin_;  // [max_positions, head_dim]
  bool checkpointing_ = false;
};
TORCH_MODULE(Llama);
using CausalLM = Llama;

// Log-probs of `ids[:, t+1]` given `ids[:, :t+1]`: [B, T-1], with gradient.
torch::Tensor TokenLogprobs(Llama& model, const torch::Tensor& ids);
// The same for right-padded batches: `attention_mask` [B, T] is 1 on real
// tokens and 0 on padding; entries whose target is padding are 0.
torch::Tensor TokenLogprobs(Llama& model, const torch::Tensor& ids,
                            const torch::Tensor& attention_mask);
// Log-probs of `ids[:, t+1]` given `ids[:, :t+1]` where `where` [B, T-1] is
// nonzero, and 0 elsewhere, with gradient: the projection onto the
// vocabulary (with a large vocabulary, most of a small model's work) runs on
// those positions only, block by block of the vocabulary, never holding the
// [positions, V] logits (backward recomputes each block). Equal, up to float
// rounding, to TokenLogprobs(model, ids) at those positions.
torch::Tensor TokenLogprobsAt(Llama& model, const torch::Tensor& ids, const torch::Tensor& where);

}  // namespace crescent::model
