#include "common/model/policy.hpp"

#include <dlfcn.h>

#include "common/model/pretrained.hpp"
#include "common/task/arithmetic.hpp"
#include "common/util/blas_kernels.hpp"
#include "common/util/log.hpp"

namespace crescent::model {

Policy NewBuiltinPolicy(const config::Config& c) {
  torch::manual_seed(static_cast<uint64_t>(c.sft.seed));
  tok::PolicyTokenizer tokenizer = tok::BuiltinPolicyTokenizer(task::ArithmeticTask::Alphabet());
  LlamaConfig lc;
  lc.vocab_size = tokenizer.VocabSize();
  lc.hidden_size = c.model.hidden_size;
  lc.intermediate_size = c.model.intermediate_size;
  lc.num_layers = c.model.layers;
  lc.num_heads = c.model.heads;
  lc.num_kv_heads = c.model.kv_heads;
  lc.max_positions = c.model.max_sequence;
  return {Llama(lc), std::move(tokenizer)};
}

Policy LoadPolicy(const std::string& dir) {
  tok::PolicyTokenizer tokenizer = tok::LoadPolicyTokenizer(dir);
  return {LoadPretrained(dir), std::move(tokenizer)};
}

void SavePolicy(Policy& policy, const std::string& dir) {
  SavePretrained(policy.model, dir);
  tok::WritePolicyTokenizerFiles(policy.tokenizer, dir);
}

void SetComputeThreads(int threads) {
  torch::set_num_threads(threads);
  // OpenBLAS keeps its own pool; LibTorch does not size it.
  using SetThreads = void (*)(int);
  if (auto f = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    f(threads);
  }
  if (const std::string kernels = util::BlasKernels(); !kernels.empty()) {
    LogInfo(threads, " compute thread(s); OpenBLAS kernels ", kernels);
  }
}

}  // namespace crescent::model
