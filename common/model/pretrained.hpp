// Hugging Face checkpoints: config.json, safetensors (one file or shards with
// model.safetensors.index.json), and the model in Hugging Face weight names
// (model.embed_tokens.weight, model.layers.N.self_attn.q_proj.weight, ...,
// lm_head.weight). Errors are std::runtime_error naming the file, key or tensor.
#pragma once

#include <torch/torch.h>

#include <iosfwd>
#include <map>
#include <string>
#include <vector>

#include "common/model/llama.hpp"

namespace crescent::model {

// Parses config.json text (model_type llama, qwen2 or qwen3); `origin` names
// the file in error messages.
LlamaConfig ParseHfConfig(const std::string& json_text, const std::string& origin);
LlamaConfig ReadHfConfig(const std::string& path);
// config.json text that transformers loads (LlamaForCausalLM, Qwen2ForCausalLM, ...).
std::string HfConfigJson(const LlamaConfig& config);
void WriteHfConfig(const LlamaConfig& config, const std::string& path);

// Reads every tensor of one .safetensors file (F32, BF16, F16, kept in their
// dtype, on CPU).
std::map<std::string, torch::Tensor> ReadSafetensors(const std::string& path);
// Writes tensors (F32, BF16 or F16, contiguous copies) in safetensors layout.
void WriteSafetensors(const std::map<std::string, torch::Tensor>& tensors, const std::string& path);
// Reads DIR/model.safetensors, or the shards DIR/model.safetensors.index.json lists.
std::map<std::string, torch::Tensor> ReadCheckpointTensors(const std::string& dir);

// Loads DIR/config.json and the weights into a float32 model. Missing tensors,
// wrong shapes and unknown tensors are refused. The model's torch_dtype is the
// dtype the embedding is stored in, so SavePretrained writes the source's dtype.
Llama LoadPretrained(const std::string& dir);
// Writes DIR/config.json and DIR/model.safetensors (float32, or the dtype
// torch_dtype names: bfloat16/float16).
void SavePretrained(Llama& model, const std::string& dir);

}  // namespace crescent::model
