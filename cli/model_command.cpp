// `crescent model logits --model DIR`: a checkpoint's logits, to compare with
// other tools. `crescent model init`: a random model around a tokenizer.
#include <torch/torch.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/flags.hpp"
#include "common/env/env.hpp"
#include "common/model/pretrained.hpp"
#include "common/tokenizer/policy_tokenizer.hpp"
#include "common/util/log.hpp"

namespace crescent::cli {

namespace fs = std::filesystem;
using json = nlohmann::json;
using model::Llama;
using model::LlamaConfig;
using model::LoadPretrained;

int ModelLogitsCommand(const std::vector<std::string>& args, std::istream& in, std::ostream& out) {
  std::string dir;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--model" && i + 1 < args.size()) {
      dir = args[++i];
    } else if (args[i].rfind("--model=", 0) == 0) {
      dir = args[i].substr(8);
    } else if (args[i] != "logits") {
      std::cerr << "crescent model logits: unknown argument \"" << args[i] << "\"\n";
      return 2;
    }
  }
  if (dir.empty()) {
    std::cerr << "usage: crescent model logits --model DIR < ids.json\n";
    return 2;
  }
  try {
    // Read wider than tok::TokenId: an id past its range is refused below, not wrapped.
    std::vector<int64_t> ids;
    try {
      json j;
      in >> j;
      ids = j.get<std::vector<int64_t>>();
    } catch (const json::exception& e) {
      throw std::runtime_error(std::string("stdin: expected a JSON array of token ids: ") +
                               e.what());
    }
    if (ids.empty()) throw std::runtime_error("stdin: no token ids");
    Llama model = LoadPretrained(dir);
    model->eval();
    for (int64_t id : ids) {
      if (id < 0 || id >= model->config().vocab_size) {
        throw std::runtime_error(StrCat("stdin: token id ", id, " is outside the vocabulary of ",
                                        model->config().vocab_size));
      }
    }
    torch::NoGradGuard no_grad;
    torch::Tensor logits =
        model->forward(torch::tensor(ids, torch::kLong).view({1, -1}))[0].contiguous();
    const int64_t T = logits.size(0), V = logits.size(1);
    const float* p = logits.data_ptr<float>();
    for (int64_t t = 0; t < T; ++t) {
      json row(std::vector<float>(p + t * V, p + (t + 1) * V));
      out << row.dump() << "\n";
    }
    out.flush();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "crescent model logits: " << e.what() << "\n";
    return 1;
  }
}

namespace {

constexpr const char* kInitUsage =
    "usage: crescent model init --tokenizer DIR --out DIR [--arch qwen3|qwen2|llama] "
    "[--vocab N] [--hidden N] [--intermediate N] [--layers N] [--heads N] [--kv-heads N] "
    "[--head-dim N] [--max-positions N] [--rope-theta X] [--tie-embeddings true|false] "
    "[--dtype float32|bfloat16] [--eos TOKEN]... [--seed N]";

}  // namespace

int ModelInitCommand(const std::vector<std::string>& args, std::ostream& out) {
  const Flags flags(
      args,
      {"tokenizer", "out", "arch", "vocab", "hidden", "intermediate", "layers", "heads", "kv-heads",
       "head-dim", "max-positions", "rope-theta", "tie-embeddings", "dtype", "eos", "seed"},
      kInitUsage);
  auto at_least = [&](const std::string& name, int64_t fallback, int64_t min) {
    const int64_t v = flags.Int(name, fallback);
    if (v < min) throw std::runtime_error(StrCat("--", name, ": ", v, " is below ", min));
    return v;
  };
  if (!flags.positional().empty() || !flags.overrides().empty())
    throw std::runtime_error(kInitUsage);
  const std::string tokenizer_dir = flags.String("tokenizer"), out_arg = flags.String("out");
  const std::string arch = flags.String("arch", "qwen3");
  LlamaConfig c;
  c.hidden_size = at_least("hidden", 64, 2);
  c.intermediate_size = at_least("intermediate", 192, 1);
  c.num_layers = at_least("layers", 2, 1);
  c.num_heads = at_least("heads", 4, 1);
  c.num_kv_heads = at_least("kv-heads", 2, 1);
  c.explicit_head_dim = at_least("head-dim", 0, 0);
  c.max_positions = at_least("max-positions", 512, 2);
  c.rope_theta = flags.Number("rope-theta", 1000000.0);
  c.rms_norm_eps = 1e-6;
  c.tie_embeddings = flags.Bool("tie-embeddings", true);
  c.torch_dtype = flags.String("dtype", "float32");
  const std::vector<std::string> eos_tokens = flags.All("eos");
  const int64_t seed = at_least("seed", 1, 0);
  if (tokenizer_dir.empty() || out_arg.empty()) throw std::runtime_error(kInitUsage);
  if (arch != "qwen3" && arch != "qwen2" && arch != "llama")
    throw std::runtime_error(StrCat("--arch: \"", arch, "\" is not qwen3, qwen2 or llama"));
  if (c.torch_dtype != "float32" && c.torch_dtype != "bfloat16")
    throw std::runtime_error(StrCat("--dtype: \"", c.torch_dtype, "\" is not float32 or bfloat16"));
  c.model_type = arch;
  c.qk_norm = arch == "qwen3";
  c.attention_bias = arch == "qwen2";
  if (c.explicit_head_dim == 0 && c.hidden_size % c.num_heads != 0)
    throw std::runtime_error(StrCat("--heads: ", c.num_heads, " does not divide --hidden ",
                                    c.hidden_size, " (or give --head-dim)"));
  if (c.num_heads % c.num_kv_heads != 0 || c.head_dim() % 2 != 0)
    throw std::runtime_error(StrCat("--kv-heads ", c.num_kv_heads, " must divide --heads ",
                                    c.num_heads, " and the head size (", c.head_dim(),
                                    ") must be even"));

  const std::string tokenizer_json = tokenizer_dir + "/tokenizer.json";
  const std::unique_ptr<tok::Tokenizer> tokenizer = tok::LoadTokenizer(tokenizer_json);
  // Qwen's and Llama's embeddings are padded past their tokenizers; by
  // default the rows are the tokenizer's entries rounded up to 128.
  c.vocab_size = at_least("vocab", (tokenizer->VocabSize() + 127) / 128 * 128, 1);
  if (c.vocab_size < tokenizer->VocabSize())
    throw std::runtime_error(StrCat("--vocab ", c.vocab_size, " is smaller than the ",
                                    tokenizer->VocabSize(), " entries of ", tokenizer_json));
  std::vector<tok::TokenId> eos_ids;
  for (const std::string& t : eos_tokens) {
    std::optional<tok::TokenId> id = tokenizer->IdOf(t);
    if (!id)
      throw std::runtime_error(StrCat("--eos: \"", t, "\" is not a token of ", tokenizer_json));
    eos_ids.push_back(*id);
  }

  fs::path out_path = fs::path(out_arg).lexically_normal();
  if (out_path.filename().empty()) out_path = out_path.parent_path();
  const std::string out_dir = out_path.string();
  std::error_code ec;
  if (fs::exists(out_dir, ec) && (!fs::is_directory(out_dir) || !fs::is_empty(out_dir)))
    throw std::runtime_error(StrCat(out_dir, " exists and is not an empty directory"));
  env::Env* const env = env::Env::Posix();
  const std::string staged = out_dir + ".init-tmp";
  env->RemoveTree(staged);
  if (out_path.has_parent_path()) fs::create_directories(out_path.parent_path());
  env->CreateDir(staged);
  for (const std::string& name : tok::PolicyTokenizerFileNames()) {
    if (!fs::exists(tokenizer_dir + "/" + name)) continue;
    if (name == "generation_config.json" && !eos_ids.empty()) continue;
    fs::copy_file(tokenizer_dir + "/" + name, staged + "/" + name, ec);
    if (ec) throw std::runtime_error(StrCat("copy ", tokenizer_dir, "/", name, ": ", ec.message()));
  }
  if (!eos_ids.empty()) {
    env::WriteFileAtomically(env, staged + "/generation_config.json",
                             json({{"eos_token_id", eos_ids}}).dump(2) + "\n");
  }
  torch::manual_seed(static_cast<uint64_t>(seed));
  Llama model(c);
  model::SavePretrained(model, staged);
  // The tokenizer as a run will load it: its checks, stop ids and BOS go
  // into config.json too.
  const tok::PolicyTokenizer policy_tokenizer = tok::LoadPolicyTokenizer(staged);
  c.eos_token_ids = policy_tokenizer.stop_ids();
  if (!policy_tokenizer.prompt_prefix().empty())
    c.bos_token_id = policy_tokenizer.prompt_prefix()[0];
  model::WriteHfConfig(c, staged + "/config.json");
  for (const std::string& name : env->ListDir(staged)) env->SyncFile(staged + "/" + name);
  env->SyncDir(staged);
  env->Rename(staged, out_dir);
  env->SyncDir(env::Dirname(out_dir));
  int64_t parameters = 0;
  for (const torch::Tensor& p : model->parameters()) parameters += p.numel();
  out << "wrote a random " << arch << " model to " << out_dir << ": " << parameters
      << " parameters, " << c.num_layers << " layers, hidden " << c.hidden_size << ", vocab "
      << c.vocab_size << " (tokenizer " << tokenizer->VocabSize() << " entries), stop ids";
  for (tok::TokenId id : c.eos_token_ids) out << " " << id;
  out << "\n";
  return 0;
}

}  // namespace crescent::cli
