#include "common/tokenizer/policy_tokenizer.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "common/env/env.hpp"
#include "common/util/log.hpp"

namespace crescent::tok {
namespace {

using nlohmann::json;

constexpr const char* kAlphabetFile = "alphabet.txt";

[[noreturn]] void Fail(const std::string& where, const std::string& what) {
  throw std::runtime_error(where + ": " + what);
}

json ParseJson(const std::string& text, const std::string& path) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    Fail(path, StrCat("not valid JSON: ", e.what()));
  }
}

// A special token as tokenizer_config.json writes it: "text" or {"content": "text"}.
std::optional<std::string> TokenText(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("content") && j["content"].is_string())
    return j["content"].get<std::string>();
  return std::nullopt;
}

// eos_token_id as generation_config.json and config.json write it: an int or
// a list of ints; nullopt when absent or null.
std::optional<std::vector<TokenId>> EosIds(const json& j, const std::string& path) {
  if (!j.is_object() || !j.contains("eos_token_id") || j["eos_token_id"].is_null())
    return std::nullopt;
  const json& e = j["eos_token_id"];
  try {
    if (e.is_array()) return e.get<std::vector<TokenId>>();
    return std::vector<TokenId>{e.get<TokenId>()};
  } catch (const json::exception&) {
    Fail(path, StrCat("eos_token_id is ", e.dump(), "; expected an int or a list of ints"));
  }
}

// The special token a TemplateProcessing post-processor writes first for a
// single sequence (Llama 3's <|begin_of_text|>), if any.
std::optional<std::string> PostProcessorBos(const json& p) {
  if (!p.is_object()) return std::nullopt;
  const std::string type = p.value("type", "");
  if (type == "Sequence" && p.contains("processors") && p["processors"].is_array()) {
    for (const json& q : p["processors"])
      if (auto bos = PostProcessorBos(q)) return bos;
    return std::nullopt;
  }
  if (type != "TemplateProcessing" || !p.contains("single") || !p["single"].is_array() ||
      p["single"].empty())
    return std::nullopt;
  const json& first = p["single"][0];
  if (first.is_object() && first.contains("SpecialToken") && first["SpecialToken"].is_object() &&
      first["SpecialToken"].contains("id") && first["SpecialToken"]["id"].is_string())
    return first["SpecialToken"]["id"].get<std::string>();
  return std::nullopt;
}

// tokenizer.json's post_processor, read without building the vocabulary.
json PostProcessor(const std::string& text, const std::string& path) {
  json j;
  try {
    j = json::parse(text, [](int depth, json::parse_event_t event, json& parsed) {
      // Skip the large "model" (vocab, merges) and "added_tokens" values.
      if (depth == 1 && event == json::parse_event_t::key)
        return parsed != "model" && parsed != "added_tokens";
      return true;
    });
  } catch (const json::exception& e) {
    Fail(path, StrCat("not valid JSON: ", e.what()));
  }
  return j.is_object() && j.contains("post_processor") ? j["post_processor"] : json();
}

TokenId IdOrFail(const Tokenizer& t, const std::string& token, const std::string& where,
                 const char* what) {
  auto id = t.IdOf(token);
  if (!id) Fail(where, StrCat(what, " \"", token, "\" is not a token of the tokenizer"));
  return *id;
}

}  // namespace

PolicyTokenizer::PolicyTokenizer(std::shared_ptr<const Tokenizer> tokenizer,
                                 std::optional<ChatTemplate> chat_template,
                                 std::vector<TokenId> stop_ids, std::vector<TokenId> prompt_prefix,
                                 std::vector<PolicyFile> files)
    : tokenizer_(std::move(tokenizer)),
      chat_template_(std::move(chat_template)),
      stop_ids_(std::move(stop_ids)),
      prompt_prefix_(std::move(prompt_prefix)),
      files_(std::move(files)) {
  if (!tokenizer_) throw std::invalid_argument("PolicyTokenizer: no tokenizer");
}

std::vector<TokenId> PolicyTokenizer::Encode(std::string_view text) const {
  return tokenizer_->Encode(text);
}
std::string PolicyTokenizer::Decode(const std::vector<TokenId>& ids) const {
  return tokenizer_->Decode(ids);
}
TokenId PolicyTokenizer::VocabSize() const { return tokenizer_->VocabSize(); }
std::optional<TokenId> PolicyTokenizer::IdOf(std::string_view token) const {
  return tokenizer_->IdOf(token);
}

std::vector<TokenId> PolicyTokenizer::EncodePrompt(std::string_view text) const {
  std::vector<TokenId> ids = prompt_prefix_;
  for (TokenId id : tokenizer_->Encode(text)) ids.push_back(id);
  return ids;
}

std::string PolicyTokenizer::DecodeResponse(const std::vector<TokenId>& ids) const {
  if (!ids.empty()) {
    for (TokenId stop : stop_ids_) {
      if (ids.back() == stop)
        return tokenizer_->Decode(std::vector<TokenId>(ids.begin(), ids.end() - 1));
    }
  }
  return tokenizer_->Decode(ids);
}

bool UsesChatTemplate(const PolicyTokenizer& tokenizer, bool requested) {
  return requested && tokenizer.chat_template().has_value();
}

std::string WhyNoChat(const PolicyTokenizer& tokenizer) {
  return tokenizer.chat_template() ? "task.chat_template is false"
                                   : "the policy has no chat template (tokenizer_config.json)";
}

const std::vector<std::string>& PolicyTokenizerFileNames() {
  static const std::vector<std::string> names = {"tokenizer.json", "tokenizer_config.json",
                                                 "generation_config.json",
                                                 "special_tokens_map.json", kAlphabetFile};
  return names;
}

PolicyTokenizer LoadPolicyTokenizer(const std::string& dir) {
  env::Env* env = env::Env::Posix();
  const std::string config_path = dir + "/config.json";
  if (!env->FileExists(config_path)) {
    Fail(dir,
         "no policy checkpoint here: config.json is missing (run `crescent sft CONFIG` first, "
         "or set model.path to a Hugging Face model directory)");
  }
  const json config = ParseJson(env->ReadFile(config_path), config_path);
  if (!config.is_object() || !config.contains("vocab_size") ||
      !config["vocab_size"].is_number_integer())
    Fail(config_path, "no integer \"vocab_size\"");
  const int64_t rows = config["vocab_size"].get<int64_t>();

  std::vector<PolicyFile> files;
  auto find = [&](const std::string& name) -> const std::string* {
    for (const PolicyFile& f : files)
      if (f.name == name) return &f.bytes;
    return nullptr;
  };
  for (const std::string& name : PolicyTokenizerFileNames()) {
    const std::string path = dir + "/" + name;
    if (env->FileExists(path)) files.push_back({name, env->ReadFile(path)});
  }

  std::shared_ptr<const Tokenizer> tokenizer;
  std::optional<ChatTemplate> chat;
  std::vector<TokenId> stops, prefix;
  std::string tokenizer_path;
  if (const std::string* text = find("tokenizer.json")) {
    tokenizer_path = dir + "/tokenizer.json";
    tokenizer = LoadTokenizer(tokenizer_path);
    json tokenizer_config;
    const std::string tc_path = dir + "/tokenizer_config.json";
    if (const std::string* tc = find("tokenizer_config.json")) {
      tokenizer_config = ParseJson(*tc, tc_path);
      if (tokenizer_config.contains("chat_template") &&
          !tokenizer_config["chat_template"].is_null())
        chat = ChatTemplate::Load(tc_path);
    }
    std::optional<std::string> bos;
    if (tokenizer_config.is_object() && tokenizer_config.value("add_bos_token", false) &&
        tokenizer_config.contains("bos_token"))
      bos = TokenText(tokenizer_config["bos_token"]);
    if (!bos) bos = PostProcessorBos(PostProcessor(*text, tokenizer_path));
    if (bos) prefix = {IdOrFail(*tokenizer, *bos, tokenizer_path, "the BOS token")};

    const std::string gc_path = dir + "/generation_config.json";
    std::optional<std::vector<TokenId>> eos;
    if (const std::string* gc = find("generation_config.json"))
      eos = EosIds(ParseJson(*gc, gc_path), gc_path);
    std::string stop_origin = gc_path;
    if (!eos) {
      eos = EosIds(config, config_path);
      stop_origin = config_path;
    }
    if (!eos && tokenizer_config.is_object() && tokenizer_config.contains("eos_token")) {
      stop_origin = tc_path;
      if (auto token = TokenText(tokenizer_config["eos_token"]))
        eos = std::vector<TokenId>{IdOrFail(*tokenizer, *token, tc_path, "eos_token")};
    }
    if (eos) stops = *eos;
    for (TokenId id : stops) {
      if (id < 0 || id >= tokenizer->VocabSize())
        Fail(stop_origin, StrCat("stop id ", id, " is outside the tokenizer's ",
                                 tokenizer->VocabSize(), " entries (", tokenizer_path, ")"));
    }
    if (stops.empty()) LogWarn(dir, ": no stop token (eos_token_id); generation stops at length");
  } else if (const std::string* alphabet = find(kAlphabetFile)) {
    tokenizer_path = dir + "/" + kAlphabetFile;
    std::string line = alphabet->substr(0, alphabet->find('\n'));
    if (line.empty()) Fail(tokenizer_path, "empty alphabet");
    try {
      PolicyTokenizer builtin = BuiltinPolicyTokenizer(line);
      tokenizer = builtin.tokenizer();
      stops = builtin.stop_ids();
      prefix = builtin.prompt_prefix();
    } catch (const std::invalid_argument& e) {
      Fail(tokenizer_path, e.what());
    }
  } else {
    Fail(dir, "no tokenizer: neither tokenizer.json nor alphabet.txt is here");
  }
  if (tokenizer->VocabSize() > rows) {
    Fail(tokenizer_path,
         StrCat("the tokenizer has ", tokenizer->VocabSize(), " entries, more than the ", rows,
                " rows of the embedding (", config_path, " vocab_size)"));
  }
  return PolicyTokenizer(std::move(tokenizer), std::move(chat), std::move(stops), std::move(prefix),
                         std::move(files));
}

PolicyTokenizer BuiltinPolicyTokenizer(const std::string& alphabet) {
  std::shared_ptr<const Tokenizer> t = MakeCharTokenizer(alphabet, {"<bos>", "<eos>"});
  return PolicyTokenizer(t, std::nullopt, {*t->IdOf("<eos>")}, {*t->IdOf("<bos>")},
                         {{kAlphabetFile, alphabet + "\n"}});
}

void WritePolicyTokenizerFiles(const PolicyTokenizer& tokenizer, const std::string& dir) {
  env::Env* env = env::Env::Posix();
  for (const PolicyFile& f : tokenizer.files())
    env::WriteFileAtomically(env, dir + "/" + f.name, f.bytes);
}

}  // namespace crescent::tok
