#include "tests/common/tiny_checkpoint.hpp"

#include "common/model/pretrained.hpp"

namespace crescent::testing {

model::LlamaConfig TinyQwen3(const std::string& dtype) {
  model::LlamaConfig c;
  c.model_type = "qwen3";
  c.qk_norm = true;
  c.vocab_size = 151936;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_layers = 2;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.explicit_head_dim = 8;
  c.max_positions = 64;
  c.tie_embeddings = true;
  c.torch_dtype = dtype;
  c.eos_token_ids = {151645};
  return c;
}

model::LlamaConfig TinyLlama3() {
  model::LlamaConfig c;
  c.model_type = "llama";
  c.vocab_size = 128256;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_layers = 1;
  c.num_heads = 2;
  c.num_kv_heads = 1;
  c.max_positions = 32;
  c.tie_embeddings = false;
  c.bos_token_id = 128000;
  c.eos_token_ids = {128001, 128009};
  return c;
}

std::string WriteTinyCheckpoint(const std::string& dir, const model::LlamaConfig& config,
                                const std::string& fixture) {
  torch::manual_seed(7);
  model::Llama m(config);
  model::SavePretrained(m, dir);
  CopyTokenizerFiles(fixture, dir);
  return dir;
}

}  // namespace crescent::testing
