#include "common/model/pretrained.hpp"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>

#include "common/env/env.hpp"
#include "common/util/log.hpp"

namespace crescent::model {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

[[noreturn]] void Fail(const std::string& where, const std::string& what) {
  throw std::runtime_error(where + ": " + what);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail(path, "cannot open");
  std::ostringstream os;
  os << in.rdbuf();
  if (in.bad()) Fail(path, "read error");
  return os.str();
}

// ---- config.json ----------------------------------------------------------

template <class T>
T Get(const json& j, const char* key, const std::string& origin) {
  if (!j.contains(key) || j.at(key).is_null()) Fail(origin, StrCat("missing key \"", key, "\""));
  try {
    return j.at(key).get<T>();
  } catch (const std::exception& e) {
    Fail(origin, StrCat("key \"", key, "\": ", e.what()));
  }
}

template <class T>
T GetOr(const json& j, const char* key, T fallback, const std::string& origin) {
  if (!j.contains(key) || j.at(key).is_null()) return fallback;
  return Get<T>(j, key, origin);
}

// ---- safetensors ----------------------------------------------------------

struct DtypeInfo {
  const char* name;
  torch::Dtype dtype;
};
const DtypeInfo kDtypes[] = {
    {"F32", torch::kFloat32}, {"BF16", torch::kBFloat16}, {"F16", torch::kFloat16}};

torch::Dtype DtypeFromName(const std::string& name, const std::string& where) {
  for (const auto& d : kDtypes) {
    if (name == d.name) return d.dtype;
  }
  Fail(where, "unsupported dtype \"" + name + "\" (supported: F32, BF16, F16)");
}

std::string DtypeName(torch::Dtype dtype, const std::string& where) {
  for (const auto& d : kDtypes) {
    if (dtype == d.dtype) return d.name;
  }
  Fail(where, StrCat("cannot store dtype ", dtype, " (supported: F32, BF16, F16)"));
}

// Tensors of a checkpoint directory with the file each came from.
struct Checkpoint {
  std::map<std::string, torch::Tensor> tensors;
  std::map<std::string, std::string> file_of;
};

Checkpoint ReadCheckpoint(const std::string& dir) {
  Checkpoint ck;
  const std::string single = dir + "/model.safetensors";
  const std::string index = dir + "/model.safetensors.index.json";
  std::vector<std::string> files;
  if (fs::exists(index)) {
    json j;
    try {
      j = json::parse(ReadFile(index));
    } catch (const json::exception& e) {
      Fail(index, e.what());
    }
    if (!j.contains("weight_map") || !j["weight_map"].is_object()) {
      Fail(index, "missing object \"weight_map\"");
    }
    std::set<std::string> unique;
    std::map<std::string, std::string> expected;
    for (auto& [name, file] : j["weight_map"].items()) {
      if (!file.is_string()) Fail(index, "weight_map entry \"" + name + "\" is not a file name");
      expected[name] = file.get<std::string>();
      unique.insert(file.get<std::string>());
    }
    for (const auto& f : unique) {
      const std::string path = dir + "/" + f;
      for (auto& [name, t] : ReadSafetensors(path)) {
        ck.file_of[name] = path;
        ck.tensors[name] = t;
      }
    }
    for (const auto& [name, file] : expected) {
      auto it = ck.file_of.find(name);
      if (it == ck.file_of.end() || it->second != dir + "/" + file) {
        Fail(dir + "/" + file, "tensor " + name + " listed in " + index + " is missing");
      }
    }
  } else if (fs::exists(single)) {
    ck.tensors = ReadSafetensors(single);
    for (auto& [name, t] : ck.tensors) ck.file_of[name] = single;
  } else {
    Fail(dir, "no model.safetensors or model.safetensors.index.json");
  }
  return ck;
}

// ---- Hugging Face weight names ---------------------------------------------

// Module parameter name ("layers.3.q_proj.weight") -> Hugging Face name.
std::string HfName(const std::string& name) {
  if (name == "embed_tokens.weight") return "model.embed_tokens.weight";
  if (name == "norm") return "model.norm.weight";
  if (name == "lm_head.weight") return name;
  std::vector<std::string> parts;
  std::stringstream ss(name);
  for (std::string p; std::getline(ss, p, '.');) parts.push_back(p);
  if (parts.size() >= 3 && parts[0] == "layers") {
    const std::string prefix = "model.layers." + parts[1] + ".";
    const std::string& m = parts[2];
    if (parts.size() == 3) {  // a bare parameter: a norm weight
      if (m == "q_norm" || m == "k_norm") return prefix + "self_attn." + m + ".weight";
      return prefix + m + ".weight";
    }
    const std::string rest = m + "." + parts[3];
    if (m == "q_proj" || m == "k_proj" || m == "v_proj" || m == "o_proj") {
      return prefix + "self_attn." + rest;
    }
    return prefix + "mlp." + rest;
  }
  throw std::logic_error("no Hugging Face name for parameter " + name);
}

bool EndsWith(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// config.json's torch_dtype for a stored dtype.
std::string DtypeConfigName(torch::Dtype dtype) {
  if (dtype == torch::kBFloat16) return "bfloat16";
  if (dtype == torch::kFloat16) return "float16";
  return "float32";
}

torch::Dtype StorageDtype(const LlamaConfig& c) {
  if (c.torch_dtype == "bfloat16") return torch::kBFloat16;
  if (c.torch_dtype == "float16") return torch::kFloat16;
  return torch::kFloat32;
}

}  // namespace

LlamaConfig ParseHfConfig(const std::string& text, const std::string& origin) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    Fail(origin, e.what());
  }
  if (!j.is_object()) Fail(origin, "not a JSON object");
  LlamaConfig c;
  c.model_type = Get<std::string>(j, "model_type", origin);
  if (c.model_type != "llama" && c.model_type != "qwen2" && c.model_type != "qwen3") {
    Fail(origin,
         "model_type \"" + c.model_type + "\" is not supported (supported: llama, qwen2, qwen3)");
  }
  c.vocab_size = Get<int64_t>(j, "vocab_size", origin);
  c.hidden_size = Get<int64_t>(j, "hidden_size", origin);
  c.intermediate_size = Get<int64_t>(j, "intermediate_size", origin);
  c.num_layers = Get<int64_t>(j, "num_hidden_layers", origin);
  c.num_heads = Get<int64_t>(j, "num_attention_heads", origin);
  c.num_kv_heads = GetOr<int64_t>(j, "num_key_value_heads", c.num_heads, origin);
  c.explicit_head_dim = GetOr<int64_t>(j, "head_dim", 0, origin);
  c.max_positions = GetOr<int64_t>(j, "max_position_embeddings", 2048, origin);
  c.rms_norm_eps = GetOr<double>(j, "rms_norm_eps", 1e-6, origin);
  c.rope_theta = GetOr<double>(j, "rope_theta", 10000.0, origin);
  c.tie_embeddings = GetOr<bool>(j, "tie_word_embeddings", false, origin);
  c.attention_bias = c.model_type == "qwen2" || GetOr<bool>(j, "attention_bias", false, origin);
  c.qk_norm = c.model_type == "qwen3";
  c.torch_dtype = GetOr<std::string>(j, "torch_dtype", "float32", origin);
  c.bos_token_id = GetOr<tok::TokenId>(j, "bos_token_id", -1, origin);
  if (j.contains("eos_token_id") && !j["eos_token_id"].is_null()) {
    if (j["eos_token_id"].is_array()) {
      c.eos_token_ids = Get<std::vector<tok::TokenId>>(j, "eos_token_id", origin);
    } else {
      c.eos_token_ids = {Get<tok::TokenId>(j, "eos_token_id", origin)};
    }
  }
  const std::string hidden_act = GetOr<std::string>(j, "hidden_act", "silu", origin);
  if (hidden_act != "silu")
    Fail(origin, "hidden_act \"" + hidden_act + "\" is not supported (silu only)");
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
    const json& rs = j["rope_scaling"];
    const std::string where = origin + " rope_scaling";
    std::string type = GetOr<std::string>(rs, "rope_type", "", where);
    if (type.empty()) type = GetOr<std::string>(rs, "type", "", where);
    if (type == "linear" || type == "llama3") {
      c.rope_scaling.type = type;
      c.rope_scaling.factor = Get<double>(rs, "factor", where);
      if (type == "llama3") {
        c.rope_scaling.low_freq_factor = Get<double>(rs, "low_freq_factor", where);
        c.rope_scaling.high_freq_factor = Get<double>(rs, "high_freq_factor", where);
        c.rope_scaling.original_max_positions =
            Get<int64_t>(rs, "original_max_position_embeddings", where);
      }
    } else if (type != "default" && !type.empty()) {
      Fail(where, "type \"" + type + "\" is not supported (supported: linear, llama3)");
    }
  }
  auto positive = [&](int64_t v, const char* key) {
    if (v <= 0) Fail(origin, StrCat("key \"", key, "\" must be positive, got ", v));
  };
  positive(c.vocab_size, "vocab_size");
  positive(c.hidden_size, "hidden_size");
  positive(c.intermediate_size, "intermediate_size");
  positive(c.num_layers, "num_hidden_layers");
  positive(c.num_heads, "num_attention_heads");
  positive(c.num_kv_heads, "num_key_value_heads");
  positive(c.max_positions, "max_position_embeddings");
  if (c.num_heads % c.num_kv_heads != 0) {
    Fail(origin, "num_attention_heads must be a multiple of num_key_value_heads");
  }
  if (c.explicit_head_dim == 0 && c.hidden_size % c.num_heads != 0) {
    Fail(origin, "hidden_size must be a multiple of num_attention_heads (or give head_dim)");
  }
  return c;
}

LlamaConfig ReadHfConfig(const std::string& path) { return ParseHfConfig(ReadFile(path), path); }

std::string HfConfigJson(const LlamaConfig& c) {
  static const std::map<std::string, std::string> kArch = {
      {"llama", "LlamaForCausalLM"}, {"qwen2", "Qwen2ForCausalLM"}, {"qwen3", "Qwen3ForCausalLM"}};
  auto arch = kArch.find(c.model_type);
  if (arch == kArch.end()) {
    throw std::runtime_error("config: model_type \"" + c.model_type + "\" is not supported");
  }
  json j = {{"architectures", {arch->second}},
            {"model_type", c.model_type},
            {"vocab_size", c.vocab_size},
            {"hidden_size", c.hidden_size},
            {"intermediate_size", c.intermediate_size},
            {"num_hidden_layers", c.num_layers},
            {"num_attention_heads", c.num_heads},
            {"num_key_value_heads", c.num_kv_heads},
            {"head_dim", c.head_dim()},
            {"max_position_embeddings", c.max_positions},
            {"rms_norm_eps", c.rms_norm_eps},
            {"rope_theta", c.rope_theta},
            {"hidden_act", "silu"},
            {"tie_word_embeddings", c.tie_embeddings},
            {"attention_bias", c.attention_bias},
            {"torch_dtype", c.torch_dtype}};
  if (c.bos_token_id >= 0) j["bos_token_id"] = c.bos_token_id;
  if (c.eos_token_ids.size() == 1) j["eos_token_id"] = c.eos_token_ids[0];
  if (c.eos_token_ids.size() > 1) j["eos_token_id"] = c.eos_token_ids;
  if (!c.rope_scaling.type.empty()) {
    json rs = {{"rope_type", c.rope_scaling.type},
               {"type", c.rope_scaling.type},
               {"factor", c.rope_scaling.factor}};
    if (c.rope_scaling.type == "llama3") {
      rs["low_freq_factor"] = c.rope_scaling.low_freq_factor;
      rs["high_freq_factor"] = c.rope_scaling.high_freq_factor;
      rs["original_max_position_embeddings"] = c.rope_scaling.original_max_positions;
    }
    j["rope_scaling"] = rs;
  } else {
    j["rope_scaling"] = nullptr;
  }
  return j.dump(2) + "\n";
}

void WriteHfConfig(const LlamaConfig& config, const std::string& path) {
  env::WriteFileAtomically(env::Env::Posix(), path, HfConfigJson(config));
}

std::map<std::string, torch::Tensor> ReadSafetensors(const std::string& path) {
  const std::string bytes = ReadFile(path);
  if (bytes.size() < 8) Fail(path, "truncated: shorter than the 8-byte header length");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<uint8_t>(bytes[i]);
  if (header_len > bytes.size() - 8) {
    Fail(path, StrCat("truncated: header of ", header_len, " bytes in a file of ", bytes.size()));
  }
  json header;
  try {
    header = json::parse(bytes.substr(8, header_len));
  } catch (const json::exception& e) {
    Fail(path, std::string("bad JSON header: ") + e.what());
  }
  if (!header.is_object()) Fail(path, "JSON header is not an object");
  const uint64_t data_start = 8 + header_len;
  const uint64_t data_len = bytes.size() - data_start;
  std::map<std::string, torch::Tensor> out;
  for (auto& [name, info] : header.items()) {
    if (name == "__metadata__") continue;
    const std::string where = path + ": tensor " + name;
    std::vector<int64_t> shape;
    std::vector<uint64_t> offsets;
    std::string dtype_name;
    try {
      dtype_name = info.at("dtype").get<std::string>();
      shape = info.at("shape").get<std::vector<int64_t>>();
      offsets = info.at("data_offsets").get<std::vector<uint64_t>>();
    } catch (const json::exception& e) {
      throw std::runtime_error(where + ": bad header entry: " + e.what());
    }
    const torch::Dtype dtype = DtypeFromName(dtype_name, where);
    if (offsets.size() != 2 || offsets[0] > offsets[1]) {
      throw std::runtime_error(where + ": bad data_offsets");
    }
    if (offsets[1] > data_len) {
      throw std::runtime_error(StrCat(where, ": truncated: data ends at ", offsets[1],
                                      " but the file holds ", data_len, " data bytes"));
    }
    int64_t numel = 1;
    for (int64_t d : shape) {
      if (d < 0) throw std::runtime_error(where + ": negative dimension");
      numel *= d;
    }
    torch::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(dtype));
    const uint64_t nbytes = static_cast<uint64_t>(numel) * t.element_size();
    if (offsets[1] - offsets[0] != nbytes) {
      throw std::runtime_error(StrCat(where, ": ", offsets[1] - offsets[0],
                                      " data bytes for shape ", t.sizes(), " ", dtype_name,
                                      " (expected ", nbytes, ")"));
    }
    if (nbytes) std::memcpy(t.data_ptr(), bytes.data() + data_start + offsets[0], nbytes);
    out[name] = t;
  }
  return out;
}

void WriteSafetensors(const std::map<std::string, torch::Tensor>& tensors,
                      const std::string& path) {
  json header = json::object();
  std::vector<torch::Tensor> blobs;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
    const uint64_t nbytes = static_cast<uint64_t>(t.numel()) * t.element_size();
    header[name] = {{"dtype", DtypeName(t.scalar_type(), path + ": tensor " + name)},
                    {"shape", t.sizes().vec()},
                    {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    blobs.push_back(t);
  }
  std::string head = header.dump();
  while ((8 + head.size()) % 8 != 0) head.push_back(' ');
  std::string bytes(8, '\0');
  uint64_t len = head.size();
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  bytes += head;
  for (const auto& t : blobs) {
    bytes.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  }
  env::WriteFileAtomically(env::Env::Posix(), path, bytes);
}

std::map<std::string, torch::Tensor> ReadCheckpointTensors(const std::string& dir) {
  return ReadCheckpoint(dir).tensors;
}

Llama LoadPretrained(const std::string& dir) {
  LlamaConfig config = ReadHfConfig(dir + "/config.json");
  Checkpoint ck = ReadCheckpoint(dir);
  // Saved again in the dtype the weights are stored in, whatever config.json
  // says (newer transformers write "dtype", not "torch_dtype").
  auto embed = ck.tensors.find("model.embed_tokens.weight");
  if (embed != ck.tensors.end()) config.torch_dtype = DtypeConfigName(embed->second.scalar_type());
  Llama model(config);
  std::set<std::string> used;
  torch::NoGradGuard no_grad;
  for (auto& item : model->named_parameters()) {
    const std::string name = HfName(item.key());
    auto it = ck.tensors.find(name);
    if (it == ck.tensors.end()) Fail(dir, "tensor " + name + " is missing from the checkpoint");
    const torch::Tensor& src = it->second;
    if (src.sizes() != item.value().sizes()) {
      Fail(ck.file_of[name], StrCat("tensor ", name, " has shape ", src.sizes(), ", expected ",
                                    item.value().sizes()));
    }
    item.value().copy_(src.to(torch::kFloat32));
    used.insert(name);
  }
  for (const auto& [name, t] : ck.tensors) {
    if (used.count(name)) continue;
    if (EndsWith(name, "rotary_emb.inv_freq")) continue;
    if (name == "lm_head.weight" && config.tie_embeddings) continue;
    Fail(ck.file_of[name], "unexpected tensor " + name + " (not part of a " + config.model_type +
                               " model with this config)");
  }
  LogInfo("loaded ", config.model_type, " model from ", dir, ": ", config.num_layers,
          " layers, hidden ", config.hidden_size, ", vocab ", config.vocab_size);
  return model;
}

void SavePretrained(Llama& model, const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) Fail(dir, "cannot create: " + ec.message());
  const torch::Dtype dtype = StorageDtype(model->config());
  std::map<std::string, torch::Tensor> tensors;
  for (auto& item : model->named_parameters()) {
    tensors[HfName(item.key())] = item.value().detach().to(dtype);
  }
  WriteSafetensors(tensors, dir + "/model.safetensors");
  WriteHfConfig(model->config(), dir + "/config.json");
}

}  // namespace crescent::model
