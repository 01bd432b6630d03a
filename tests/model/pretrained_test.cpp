// Hugging Face config.json, safetensors, the fixture's reference logits, and
// the architecture variants (QKV bias, q/k norm, rope scaling) against a naive
// forward written here independently of common/model.
#include "common/model/pretrained.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

using namespace crescent::model;
namespace fs = std::filesystem;
namespace tok = crescent::tok;
using nlohmann::json;

namespace {

const std::string kFixture = std::string(CRESCENT_SOURCE_DIR) + "/tests/fixtures/tiny-llama";

std::string TempDir(const std::string& name) {
  fs::path p = fs::temp_directory_path() /
               ("crescent-model-test-" + name + "-" + std::to_string(::getpid()));
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

LlamaConfig SmallConfig() {
  LlamaConfig c;
  c.vocab_size = 11;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_layers = 2;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.max_positions = 16;
  c.rope_theta = 10000.0;
  c.tie_embeddings = false;
  return c;
}

Llama RandomModel(const LlamaConfig& c, uint64_t seed) {
  torch::manual_seed(seed);
  Llama m(c);
  torch::NoGradGuard g;
  for (auto& p : m->parameters()) p.normal_(0, 0.5);
  return m;
}

// ---- an independent naive forward over Hugging Face tensors ---------------

std::vector<double> InvFreq(const LlamaConfig& c) {
  const int64_t hd = c.head_dim();
  std::vector<double> f;
  for (int64_t i = 0; i < hd / 2; ++i) {
    double x = 1.0 / std::pow(c.rope_theta, 2.0 * i / hd);
    const RopeScaling& s = c.rope_scaling;
    if (s.type == "linear") x /= s.factor;
    if (s.type == "llama3") {
      const double wavelen = 2 * 3.141592653589793 / x;
      const double low = s.original_max_positions / s.low_freq_factor;
      const double high = s.original_max_positions / s.high_freq_factor;
      if (wavelen > low) {
        x = x / s.factor;
      } else if (wavelen >= high) {
        const double smooth = (s.original_max_positions / wavelen - s.low_freq_factor) /
                              (s.high_freq_factor - s.low_freq_factor);
        x = (1 - smooth) * x / s.factor + smooth * x;
      }
    }
    f.push_back(x);
  }
  return f;
}

torch::Tensor Rms(torch::Tensor x, torch::Tensor w, double eps) {
  return x / torch::sqrt(x.pow(2).mean(-1, true) + eps) * w;
}

// One head vector [hd] at position p, rotate-half convention.
torch::Tensor Rotate(torch::Tensor v, int64_t p, const std::vector<double>& inv_freq) {
  const int64_t half = v.size(0) / 2;
  torch::Tensor out = v.clone();
  for (int64_t i = 0; i < half; ++i) {
    const double a = p * inv_freq[i];
    out[i] = v[i] * std::cos(a) - v[i + half] * std::sin(a);
    out[i + half] = v[i + half] * std::cos(a) + v[i] * std::sin(a);
  }
  return out;
}

torch::Tensor NaiveForward(const LlamaConfig& c, std::map<std::string, torch::Tensor> w,
                           const std::vector<tok::TokenId>& ids) {
  for (auto& [k, v] : w) v = v.to(torch::kFloat64);
  const int64_t T = ids.size(), H = c.num_heads, KV = c.num_kv_heads, hd = c.head_dim();
  const auto inv_freq = InvFreq(c);
  torch::Tensor x = w["model.embed_tokens.weight"].index_select(
      0, torch::tensor(ids).to(torch::kLong));  // [T, D]
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    auto lin = [&](const std::string& n, torch::Tensor in) {
      torch::Tensor y = torch::matmul(in, w[p + n + ".weight"].t());
      if (w.count(p + n + ".bias")) y = y + w[p + n + ".bias"];
      return y;
    };
    torch::Tensor h = Rms(x, w[p + "input_layernorm.weight"], c.rms_norm_eps);
    torch::Tensor q = lin("self_attn.q_proj", h).view({T, H, hd});
    torch::Tensor k = lin("self_attn.k_proj", h).view({T, KV, hd});
    torch::Tensor v = lin("self_attn.v_proj", h).view({T, KV, hd});
    torch::Tensor attn = torch::zeros({T, H * hd}, torch::kFloat64);
    for (int64_t head = 0; head < H; ++head) {
      const int64_t kvh = head / (H / KV);
      for (int64_t t = 0; t < T; ++t) {
        torch::Tensor qv = q[t][head];
        if (c.qk_norm) qv = Rms(qv, w[p + "self_attn.q_norm.weight"], c.rms_norm_eps);
        qv = Rotate(qv, t, inv_freq);
        std::vector<torch::Tensor> scores;
        for (int64_t s = 0; s <= t; ++s) {
          torch::Tensor kv = k[s][kvh];
          if (c.qk_norm) kv = Rms(kv, w[p + "self_attn.k_norm.weight"], c.rms_norm_eps);
          kv = Rotate(kv, s, inv_freq);
          scores.push_back((qv * kv).sum() / std::sqrt(double(hd)));
        }
        torch::Tensor prob = torch::softmax(torch::stack(scores), 0);
        torch::Tensor o = torch::zeros({hd}, torch::kFloat64);
        for (int64_t s = 0; s <= t; ++s) o = o + prob[s] * v[s][kvh];
        attn[t].narrow(0, head * hd, hd).copy_(o);
      }
    }
    x = x + lin("self_attn.o_proj", attn);
    h = Rms(x, w[p + "post_attention_layernorm.weight"], c.rms_norm_eps);
    torch::Tensor g = lin("mlp.gate_proj", h);
    x = x + lin("mlp.down_proj", g * torch::sigmoid(g) * lin("mlp.up_proj", h));
  }
  x = Rms(x, w["model.norm.weight"], c.rms_norm_eps);
  torch::Tensor head = c.tie_embeddings ? w["model.embed_tokens.weight"] : w["lm_head.weight"];
  return torch::matmul(x, head.t());
}

void CheckAgainstNaive(const LlamaConfig& c, const std::string& name) {
  torch::set_num_threads(1);
  Llama m = RandomModel(c, 5);
  const std::string dir = TempDir(name);
  SavePretrained(m, dir);
  auto tensors = ReadCheckpointTensors(dir);
  const std::vector<tok::TokenId> ids = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3};
  torch::NoGradGuard g;
  torch::Tensor got = m->forward(torch::tensor(ids).to(torch::kLong).view({1, -1}))[0];
  torch::Tensor want = NaiveForward(c, tensors, ids);
  INFO(name << ": max difference " << (got.to(torch::kFloat64) - want).abs().max().item<double>());
  CHECK(torch::allclose(got.to(torch::kFloat64), want, 1e-4, 1e-4));
  // And the reload gives the same model.
  Llama back = LoadPretrained(dir);
  CHECK(torch::equal(back->forward(torch::tensor(ids).to(torch::kLong).view({1, -1}))[0], got));
  fs::remove_all(dir);
}

}  // namespace

TEST_CASE("config.json of Llama, Qwen2 and Qwen3 is read and written back", "[model]") {
  LlamaConfig c = ReadHfConfig(kFixture + "/hf/config.json");
  CHECK(c.model_type == "llama");
  CHECK(c.hidden_size == 64);
  CHECK(c.intermediate_size == 176);
  CHECK(c.num_layers == 2);
  CHECK(c.num_heads == 4);
  CHECK(c.num_kv_heads == 2);
  CHECK(c.head_dim() == 16);
  CHECK(c.vocab_size == 97);
  CHECK(c.rms_norm_eps == 1e-5);
  CHECK(c.tie_embeddings);
  CHECK_FALSE(c.attention_bias);
  CHECK(c.bos_token_id == 1);
  CHECK(c.eos_token_ids == std::vector<tok::TokenId>{2});

  LlamaConfig q2 = ParseHfConfig(R"({"model_type":"qwen2","vocab_size":50,"hidden_size":32,
      "intermediate_size":40,"num_hidden_layers":1,"num_attention_heads":4,
      "num_key_value_heads":2,"rope_theta":1000000.0,"torch_dtype":"bfloat16",
      "eos_token_id":[7,8]})",
                                 "q2.json");
  CHECK(q2.attention_bias);
  CHECK_FALSE(q2.qk_norm);
  CHECK(q2.rope_theta == 1e6);
  CHECK(q2.torch_dtype == "bfloat16");
  CHECK(q2.eos_token_ids == std::vector<tok::TokenId>{7, 8});

  LlamaConfig q3 = ParseHfConfig(R"({"model_type":"qwen3","vocab_size":50,"hidden_size":32,
      "intermediate_size":40,"num_hidden_layers":1,"num_attention_heads":4,"head_dim":16,
      "num_key_value_heads":2,"tie_word_embeddings":true,
      "rope_scaling":{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,
      "high_freq_factor":4.0,"original_max_position_embeddings":64}})",
                                 "q3.json");
  CHECK(q3.qk_norm);
  CHECK(q3.head_dim() == 16);
  CHECK(q3.rope_scaling.type == "llama3");
  CHECK(q3.rope_scaling.original_max_positions == 64);

  // Written back, every field survives.
  for (const LlamaConfig& original : {c, q2, q3}) {
    LlamaConfig back = ParseHfConfig(HfConfigJson(original), "written");
    CHECK(HfConfigJson(back) == HfConfigJson(original));
    CHECK(back.attention_bias == original.attention_bias);
    CHECK(back.qk_norm == original.qk_norm);
  }

  std::string e = ErrorOf([] { ParseHfConfig(R"({"model_type":"gpt2"})", "gpt.json"); });
  CHECK_THAT(e, Catch::Contains("gpt.json") && Catch::Contains("gpt2") &&
                    Catch::Contains("not supported"));
  e = ErrorOf([] { ParseHfConfig(R"({"model_type":"llama","vocab_size":3})", "x.json"); });
  CHECK_THAT(e, Catch::Contains("x.json") && Catch::Contains("hidden_size"));
  e = ErrorOf([] {
    ParseHfConfig(R"({"model_type":"llama","vocab_size":3,"hidden_size":8,"intermediate_size":8,
        "num_hidden_layers":1,"num_attention_heads":2,"rope_scaling":{"type":"yarn","factor":2}})",
                  "y.json");
  });
  CHECK_THAT(e, Catch::Contains("y.json") && Catch::Contains("yarn"));
}

TEST_CASE("safetensors round-trip bit for bit, single file and shards", "[model]") {
  const std::string dir = TempDir("st");
  torch::manual_seed(1);
  std::map<std::string, torch::Tensor> t = {{"a.f32", torch::randn({3, 5})},
                                            {"b.bf16", torch::randn({7}).to(torch::kBFloat16)},
                                            {"c.f16", torch::randn({2, 2, 3}).to(torch::kFloat16)},
                                            {"d.empty", torch::zeros({0, 4})}};
  WriteSafetensors(t, dir + "/x.safetensors");
  auto back = ReadSafetensors(dir + "/x.safetensors");
  REQUIRE(back.size() == t.size());
  for (auto& [name, tensor] : t) {
    INFO(name);
    CHECK(back[name].scalar_type() == tensor.scalar_type());
    CHECK(torch::equal(back[name], tensor));
  }
  WriteSafetensors(back, dir + "/y.safetensors");
  CHECK(Slurp(dir + "/x.safetensors") == Slurp(dir + "/y.safetensors"));
  // The header length is 8-byte little-endian and the header JSON is padded.
  const std::string bytes = Slurp(dir + "/x.safetensors");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(bytes[i]);
  CHECK((8 + n) % 8 == 0);
  CHECK(json::parse(bytes.substr(8, n))["b.bf16"]["dtype"] == "BF16");

  // Shards.
  const std::string sharded = TempDir("shards");
  WriteSafetensors({{"a.f32", t["a.f32"]}}, sharded + "/model-00001-of-00002.safetensors");
  WriteSafetensors({{"b.bf16", t["b.bf16"]}}, sharded + "/model-00002-of-00002.safetensors");
  std::ofstream(sharded + "/model.safetensors.index.json")
      << R"({"metadata":{},"weight_map":{"a.f32":"model-00001-of-00002.safetensors",
             "b.bf16":"model-00002-of-00002.safetensors"}})";
  auto all = ReadCheckpointTensors(sharded);
  CHECK(all.size() == 2);
  CHECK(torch::equal(all["b.bf16"], t["b.bf16"]));

  // Truncated and corrupt files are refused, naming the file and the tensor.
  std::ofstream(dir + "/trunc.safetensors", std::ios::binary) << bytes.substr(0, bytes.size() - 3);
  std::string e = ErrorOf([&] { ReadSafetensors(dir + "/trunc.safetensors"); });
  CHECK_THAT(e, Catch::Contains("trunc.safetensors") && Catch::Contains("truncated"));
  std::ofstream(dir + "/short.safetensors", std::ios::binary) << bytes.substr(0, 20);
  e = ErrorOf([&] { ReadSafetensors(dir + "/short.safetensors"); });
  CHECK_THAT(e, Catch::Contains("short.safetensors"));
  e = ErrorOf([&] { ReadSafetensors(dir + "/absent.safetensors"); });
  CHECK_THAT(e, Catch::Contains("absent.safetensors"));
  fs::remove_all(dir);
  fs::remove_all(sharded);
}

TEST_CASE("tiny-llama fixture: logits match the reference within 1e-4", "[model]") {
  torch::set_num_threads(1);
  Llama m = LoadPretrained(kFixture + "/hf");
  json tokens = json::parse(Slurp(kFixture + "/tokens.json"));
  json expect = json::parse(Slurp(kFixture + "/logits.json"));
  std::vector<tok::TokenId> ids = tokens.get<std::vector<tok::TokenId>>();
  torch::NoGradGuard g;
  torch::Tensor logits = m->forward(torch::tensor(ids).to(torch::kLong).view({1, -1}))[0];
  REQUIRE(logits.size(0) == int64_t(expect.size()));
  double worst = 0;
  for (size_t t = 0; t < expect.size(); ++t) {
    for (size_t v = 0; v < expect[t].size(); ++v) {
      worst = std::max(worst, std::abs(logits[t][v].item<double>() - expect[t][v].get<double>()));
    }
  }
  INFO("max abs difference " << worst);
  CHECK(worst < 1e-4);
}

TEST_CASE("checkpoints with missing, misshapen or stray tensors are refused", "[model]") {
  const std::string dir = TempDir("bad");
  fs::copy_file(kFixture + "/hf/config.json", dir + "/config.json");
  auto t = ReadCheckpointTensors(kFixture + "/hf");
  auto missing = t;
  missing.erase("model.layers.1.mlp.up_proj.weight");
  WriteSafetensors(missing, dir + "/model.safetensors");
  std::string e = ErrorOf([&] { LoadPretrained(dir); });
  CHECK_THAT(e, Catch::Contains(dir) && Catch::Contains("model.layers.1.mlp.up_proj.weight") &&
                    Catch::Contains("missing"));
  auto misshapen = t;
  misshapen["model.norm.weight"] = torch::ones({63});
  WriteSafetensors(misshapen, dir + "/model.safetensors");
  e = ErrorOf([&] { LoadPretrained(dir); });
  CHECK_THAT(e, Catch::Contains("model.safetensors") && Catch::Contains("model.norm.weight") &&
                    Catch::Contains("shape"));
  auto stray = t;
  stray["model.layers.5.mlp.up_proj.weight"] = torch::ones({2});
  WriteSafetensors(stray, dir + "/model.safetensors");
  e = ErrorOf([&] { LoadPretrained(dir); });
  CHECK_THAT(e, Catch::Contains("model.layers.5.mlp.up_proj.weight"));
  fs::remove_all(dir);
}

TEST_CASE("SavePretrained writes what LoadPretrained reads, bit for bit", "[model]") {
  torch::set_num_threads(1);
  Llama m = LoadPretrained(kFixture + "/hf");
  const std::string dir = TempDir("save");
  SavePretrained(m, dir);
  auto a = ReadCheckpointTensors(kFixture + "/hf");
  auto b = ReadCheckpointTensors(dir);
  REQUIRE(a.size() == b.size());
  for (auto& [name, tensor] : a) {
    INFO(name);
    REQUIRE(b.count(name));
    CHECK(torch::equal(b[name], tensor));
  }
  CHECK(ReadHfConfig(dir + "/config.json").tie_embeddings);
  fs::remove_all(dir);
}

TEST_CASE("plain Llama matches an independent naive forward", "[model]") {
  CheckAgainstNaive(SmallConfig(), "plain");
}

TEST_CASE("QKV bias (Qwen2) matches an independent naive forward", "[model]") {
  LlamaConfig c = SmallConfig();
  c.model_type = "qwen2";
  c.attention_bias = true;
  CheckAgainstNaive(c, "bias");
}

TEST_CASE("q/k norm (Qwen3) with explicit head_dim matches a naive forward", "[model]") {
  LlamaConfig c = SmallConfig();
  c.model_type = "qwen3";
  c.qk_norm = true;
  c.explicit_head_dim = 8;  // heads * head_dim != hidden_size
  c.tie_embeddings = true;
  CheckAgainstNaive(c, "qknorm");
}

TEST_CASE("rope scaling, linear and llama3, matches a naive forward", "[model]") {
  LlamaConfig c = SmallConfig();
  c.rope_theta = 50.0;  // so that the llama3 bands all occur at head_dim 4
  c.rope_scaling.type = "linear";
  c.rope_scaling.factor = 4.0;
  CheckAgainstNaive(c, "linear");
  c.rope_scaling.type = "llama3";
  c.rope_scaling.factor = 8.0;
  c.rope_scaling.low_freq_factor = 1.0;
  c.rope_scaling.high_freq_factor = 4.0;
  c.rope_scaling.original_max_positions = 32;
  // Bands (high below wavelength 8, low above 32): at theta 50, head_dim 4 the
  // wavelengths are 6.3 (kept) and 44 (/ 8); at theta 30, head_dim 8 they are
  // 6.3 (kept), 14.7 (smoothed), 34 and 81 (/ 8).
  CheckAgainstNaive(c, "llama3");
  c.num_heads = 2;
  c.num_kv_heads = 1;
  c.rope_theta = 30.0;
  CheckAgainstNaive(c, "llama3-hd8");
  // The scaled frequencies really differ from the unscaled ones in each band.
  const auto f = InvFreq(c);
  LlamaConfig plain = c;
  plain.rope_scaling = RopeScaling{};
  const auto g = InvFreq(plain);
  CHECK(f[0] == g[0]);
  CHECK(f[3] == Approx(g[3] / 8));
  CHECK((f[1] != g[1] || f[2] != g[2]));
}

TEST_CASE("token log-probs with a padding mask equal the unpadded rows", "[model]") {
  torch::set_num_threads(1);
  Llama m = RandomModel(SmallConfig(), 9);
  torch::Tensor ids = torch::tensor({{1, 2, 3, 4, 5}, {6, 7, 8, 0, 0}}, torch::kLong);
  torch::Tensor mask = torch::tensor({{1, 1, 1, 1, 1}, {1, 1, 1, 0, 0}}, torch::kLong);
  torch::Tensor lp = TokenLogprobs(m, ids, mask);
  REQUIRE(lp.sizes() == torch::IntArrayRef({2, 4}));
  torch::Tensor alone = TokenLogprobs(m, torch::tensor({{6, 7, 8}}, torch::kLong));
  CHECK(torch::allclose(lp[1].narrow(0, 0, 2), alone[0], 1e-5, 1e-6));
  CHECK(lp[1][2].item<float>() == 0.0f);
  CHECK(lp[1][3].item<float>() == 0.0f);
  lp.sum().backward();
  CHECK(m->parameters()[0].grad().defined());
}

TEST_CASE("token log-probs at chosen positions equal the full ones there, with their gradients",
          "[model]") {
  torch::set_num_threads(1);
  // The small vocabulary fits one block; 20,000 entries at 234 positions
  // take three (VocabLogprob's blocks hold about 2M logits).
  for (const auto& [vocab, tied] :
       {std::pair<int64_t, bool>{11, true}, {11, false}, {20000, true}, {20000, false}}) {
    LlamaConfig c = SmallConfig();
    c.vocab_size = vocab;
    c.max_positions = 64;
    c.tie_embeddings = tied;
    Llama m = RandomModel(c, 11);
    torch::manual_seed(3);
    const int64_t B = 4, T = 61;
    torch::Tensor ids = torch::randint(vocab, {B, T}, torch::kLong);
    // Weighted, with gaps: the response tokens of a batch's rows.
    torch::Tensor where = torch::rand({B, T - 1});
    where.masked_fill_(where < 0.025, 0.0);
    where.index_put_({1, torch::indexing::Slice(40, torch::indexing::None)}, 0.0);
    auto run = [&](bool at) {
      m->zero_grad();
      torch::Tensor lp = at ? TokenLogprobsAt(m, ids, where) : TokenLogprobs(m, ids);
      (lp * where).sum().backward();
      std::vector<torch::Tensor> g;
      for (auto& p : m->parameters()) g.push_back(p.grad().clone());
      return std::make_pair(lp.detach(), g);
    };
    auto [full, full_grads] = run(false);
    auto [at, at_grads] = run(true);
    INFO("vocab " << vocab << " tied " << tied);
    CHECK(torch::allclose(at, full * (where != 0), 1e-4, 1e-5));
    CHECK((at.masked_select(where == 0) == 0).all().item<bool>());
    REQUIRE(at_grads.size() == full_grads.size());
    for (size_t i = 0; i < at_grads.size(); ++i) {
      INFO("parameter " << i);
      CHECK(torch::allclose(at_grads[i], full_grads[i], 1e-4, 1e-5));
    }
  }
}

TEST_CASE("a bfloat16 checkpoint is written as BF16 and loads as float32", "[model]") {
  LlamaConfig c = SmallConfig();
  c.torch_dtype = "bfloat16";
  Llama m = RandomModel(c, 13);
  const std::string dir = TempDir("bf16");
  SavePretrained(m, dir);
  auto t = ReadCheckpointTensors(dir);
  CHECK(t["model.norm.weight"].scalar_type() == torch::kBFloat16);
  Llama back = LoadPretrained(dir);
  CHECK(back->config().torch_dtype == "bfloat16");
  auto a = m->named_parameters();
  auto b = back->named_parameters();
  for (auto& item : a) {
    INFO(item.key());
    CHECK(b[item.key()].scalar_type() == torch::kFloat32);
    CHECK(torch::equal(b[item.key()], item.value().to(torch::kBFloat16).to(torch::kFloat32)));
  }
  fs::remove_all(dir);
}
