// Policy directories: tiny random Qwen3 and Llama checkpoints with the real
// tokenizer files load through LoadPolicy, and SavePolicy writes them back as
// complete Hugging Face directories (names, dtypes, shapes, bytes kept).
// LibTorch before Catch2: glog's CHECK must not replace Catch2's.
// clang-format off
#include "common/model/policy.hpp"
#include <catch2/catch.hpp>
// clang-format on
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "common/model/pretrained.hpp"
#include "tests/common/tiny_checkpoint.hpp"

using namespace crescent;
using model::LlamaConfig;
using testing::TinyLlama3;
using testing::TinyQwen3;
namespace fs = std::filesystem;

namespace {

std::string TempDir(const std::string& name) {
  fs::path p = fs::temp_directory_path() /
               ("crescent-policy-test-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// A random model of `config` in a fresh directory with the fixture's tokenizer files.
std::string MakeCheckpoint(const std::string& name, const LlamaConfig& config,
                           const std::string& tokenizer) {
  return testing::WriteTinyCheckpoint(TempDir(name), config, tokenizer);
}

// Every tensor of `to` has the name, dtype, shape and bits of `from`.
void CheckSameTensors(const std::string& from, const std::string& to) {
  auto a = model::ReadSafetensors(from + "/model.safetensors");
  auto b = model::ReadSafetensors(to + "/model.safetensors");
  REQUIRE(a.size() == b.size());
  for (auto& [name, t] : a) {
    INFO(name);
    REQUIRE(b.count(name));
    CHECK(b[name].scalar_type() == t.scalar_type());
    CHECK(b[name].sizes() == t.sizes());
    CHECK(torch::equal(b[name], t));
  }
}

void CheckSameParameters(model::Policy& a, model::Policy& b) {
  auto pa = a.model->named_parameters();
  auto pb = b.model->named_parameters();
  REQUIRE(pa.size() == pb.size());
  for (auto& item : pa) {
    INFO(item.key());
    CHECK(torch::equal(pb[item.key()], item.value()));
  }
}

}  // namespace

TEST_CASE("a bf16 Qwen3 checkpoint loads with its tokenizer and saves back complete", "[model]") {
  torch::set_num_threads(1);
  const std::string src = MakeCheckpoint("qwen3", TinyQwen3("bfloat16"), "qwen3");
  std::ofstream(src + "/generation_config.json") << R"({"eos_token_id": [151645, 151643]})";
  model::Policy policy = model::LoadPolicy(src);
  CHECK(policy.tokenizer.VocabSize() == 151669);
  CHECK(policy.model->config().vocab_size == 151936);
  REQUIRE(policy.tokenizer.chat_template());
  CHECK(policy.tokenizer.chat_template()->format() == tok::ChatFormat::kQwen3);
  CHECK(policy.tokenizer.stop_ids() == std::vector<tok::TokenId>{151645, 151643});
  CHECK(policy.model->config().torch_dtype == "bfloat16");

  const std::string out = TempDir("qwen3-saved");
  fs::remove_all(src + "-gone");
  model::SavePolicy(policy, out);
  // The source may be gone by the time the policy is saved again.
  fs::rename(src, src + "-gone");
  model::SavePolicy(policy, out + "-again");
  fs::rename(src + "-gone", src);
  CheckSameTensors(src, out);
  CHECK(model::ReadSafetensors(out + "/model.safetensors")["model.norm.weight"].scalar_type() ==
        torch::kBFloat16);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "generation_config.json"}) {
    INFO(f);
    CHECK(Slurp(out + "/" + f) == Slurp(src + "/" + f));
    CHECK(Slurp(out + "-again/" + f) == Slurp(src + "/" + f));
  }
  CHECK_FALSE(fs::exists(out + "/alphabet.txt"));
  model::Policy back = model::LoadPolicy(out + "-again");
  CheckSameParameters(policy, back);
  CHECK(back.tokenizer.stop_ids() == policy.tokenizer.stop_ids());
  CHECK(back.tokenizer.VocabSize() == 151669);
  for (const auto& d : {src, out, out + "-again"}) fs::remove_all(d);
}

TEST_CASE("a Llama 3 checkpoint (float32, untied) round-trips through SavePolicy", "[model]") {
  torch::set_num_threads(1);
  const std::string src = MakeCheckpoint("llama3", TinyLlama3(), "llama3");
  model::Policy policy = model::LoadPolicy(src);
  CHECK(policy.tokenizer.VocabSize() == 128256);
  REQUIRE(policy.tokenizer.chat_template());
  CHECK(policy.tokenizer.chat_template()->format() == tok::ChatFormat::kLlama3);
  CHECK(policy.tokenizer.stop_ids() == std::vector<tok::TokenId>{128001, 128009});
  const std::string out = TempDir("llama3-saved");
  model::SavePolicy(policy, out);
  CheckSameTensors(src, out);
  CHECK(model::ReadSafetensors(out + "/model.safetensors").count("lm_head.weight") == 1);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) {
    INFO(f);
    CHECK(Slurp(out + "/" + f) == Slurp(src + "/" + f));
  }
  CHECK_FALSE(fs::exists(out + "/generation_config.json"));
  model::Policy back = model::LoadPolicy(out);
  CheckSameParameters(policy, back);
  for (const auto& d : {src, out}) fs::remove_all(d);
}

TEST_CASE("the built-in policy saves alphabet.txt and loads back the same", "[model]") {
  config::Config c = config::ParseConfig("", "<test>",
                                         {"model.hidden_size=16", "model.intermediate_size=24",
                                          "model.layers=1", "model.heads=2", "model.kv_heads=1"});
  model::Policy policy = model::NewBuiltinPolicy(c);
  const std::string dir = TempDir("builtin");
  model::SavePolicy(policy, dir);
  CHECK(Slurp(dir + "/alphabet.txt") == "0123456789+-*=\n");
  model::Policy back = model::LoadPolicy(dir);
  CheckSameParameters(policy, back);
  CHECK(back.tokenizer.VocabSize() == policy.tokenizer.VocabSize());
  CHECK(back.tokenizer.stop_ids() == std::vector<tok::TokenId>{1});
  CHECK(back.tokenizer.EncodePrompt("1+1=") == policy.tokenizer.EncodePrompt("1+1="));
  fs::remove_all(dir);
}

TEST_CASE("policy checkpoints LoadPolicy refuses name the file", "[model]") {
  torch::set_num_threads(1);
  SECTION("no tokenizer") {
    LlamaConfig c = TinyLlama3();
    c.vocab_size = 300;
    const std::string dir = TempDir("no-tokenizer");
    model::Llama m(c);
    model::SavePretrained(m, dir);
    CHECK_THAT(ErrorOf([&] { model::LoadPolicy(dir); }),
               Catch::Contains(dir) && Catch::Contains("neither tokenizer.json nor alphabet.txt"));
    fs::remove_all(dir);
  }
  SECTION("a tokenizer bigger than the embedding") {
    LlamaConfig c = TinyQwen3("float32");
    c.vocab_size = 1000;
    const std::string dir = MakeCheckpoint("too-big", c, "qwen3");
    CHECK_THAT(ErrorOf([&] { model::LoadPolicy(dir); }), Catch::Contains(dir + "/tokenizer.json") &&
                                                             Catch::Contains("151669 entries") &&
                                                             Catch::Contains("1000 rows"));
    fs::remove_all(dir);
  }
  SECTION("an unsupported architecture") {
    const std::string dir = TempDir("mistral");
    std::ofstream(dir + "/config.json") << R"({"model_type": "mistral", "vocab_size": 16})";
    std::ofstream(dir + "/alphabet.txt") << "0123456789+-*=\n";
    CHECK_THAT(ErrorOf([&] { model::LoadPolicy(dir); }),
               Catch::Contains(dir + "/config.json") && Catch::Contains("mistral"));
    fs::remove_all(dir);
  }
}
