#include "common/tokenizer/bpe_tokenizer.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <queue>
#include <stdexcept>

#include "common/tokenizer/utf8.hpp"
#include "common/util/log.hpp"

namespace crescent::tok {
namespace {

// GPT-2's ByteLevel pre-tokenizer pattern (used when use_regex is true).
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr size_t kMaxCachedWordBytes = 64;
constexpr size_t kMaxCacheEntries = 1 << 18;

// GPT-2's bytes_to_unicode, inverted: code point -> byte, or -1.
const std::vector<int>& CharToByte() {
  static const std::vector<int> table = [] {
    std::vector<int> t(512, -1);
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      t[printable ? b : 256 + n++] = b;
    }
    return t;
  }();
  return table;
}

// Hugging Face's ByteLevel decoder for one token: its characters mapped back
// to bytes, or the token's own UTF-8 if one character is outside the map.
std::string ByteLevelToBytes(const std::string& token) {
  const auto& table = CharToByte();
  std::string bytes;
  size_t pos = 0;
  while (pos < token.size()) {
    int32_t cp = NextCodePoint(token, pos);
    if (cp < 0 || cp >= 512 || table[cp] < 0) return token;
    bytes.push_back(static_cast<char>(table[cp]));
  }
  return bytes;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error(StrCat("cannot open tokenizer file ", path));
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

bool IsAscii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

std::string Nfc(std::string_view s) {
  if (IsAscii(s)) return std::string(s);
  utf8proc_uint8_t* out = nullptr;
  utf8proc_ssize_t n = utf8proc_map(
      reinterpret_cast<const utf8proc_uint8_t*>(s.data()), static_cast<utf8proc_ssize_t>(s.size()),
      &out, static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (n < 0) throw std::invalid_argument(StrCat("NFC failed: ", utf8proc_errmsg(n)));
  std::string result(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  std::free(out);
  return result;
}

}  // namespace

struct BpeTokenizer::Regex {
  pcre2_code* code = nullptr;
  explicit Regex(const std::string& pattern) {
    int err = 0;
    PCRE2_SIZE offset = 0;
    code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                         PCRE2_UTF | PCRE2_UCP, &err, &offset, nullptr);
    if (!code) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof msg);
      throw std::runtime_error(StrCat("pre-tokenizer pattern does not compile at offset ", offset,
                                      ": ", reinterpret_cast<char*>(msg), ": ", pattern));
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter
  }
  ~Regex() { pcre2_code_free(code); }
};

BpeTokenizer::~BpeTokenizer() = default;

BpeTokenizer::BpeTokenizer(const std::string& json_path) : path_(json_path) {
  using nlohmann::json;
  json doc;
  try {
    doc = json::parse(ReadFile(json_path));
  } catch (const json::exception& e) {
    throw std::runtime_error(StrCat(json_path, ": not valid JSON: ", e.what()));
  }
  auto fail = [&](const std::string& what) {
    throw std::runtime_error(StrCat(json_path, ": ", what));
  };

  // Normaliser.
  const json& norm = doc.value("normalizer", json());
  if (!norm.is_null()) {
    std::string type = norm.value("type", "");
    if (type == "NFC") {
      nfc_ = true;
    } else if (type == "Sequence" && norm.value("normalizers", json::array()).empty()) {
    } else {
      fail(StrCat("normalizer ", norm.dump(), " is not supported (only NFC)"));
    }
  }

  // Pre-tokenizer: Sequence[Split(Regex, Isolated), ByteLevel(use_regex=false)]
  // or ByteLevel(use_regex=true).
  const json& pre = doc.value("pre_tokenizer", json());
  auto check_byte_level = [&](const json& bl, bool want_regex) {
    if (bl.value("add_prefix_space", false)) fail("ByteLevel add_prefix_space is not supported");
    if (bl.value("use_regex", true) != want_regex) fail("unsupported ByteLevel use_regex");
  };
  if (pre.is_object() && pre.value("type", "") == "ByteLevel") {
    check_byte_level(pre, true);
    split_ = std::make_unique<Regex>(kGpt2Pattern);
  } else if (pre.is_object() && pre.value("type", "") == "Sequence" &&
             pre["pretokenizers"].size() == 2 &&
             pre["pretokenizers"][0].value("type", "") == "Split" &&
             pre["pretokenizers"][1].value("type", "") == "ByteLevel") {
    const json& split = pre["pretokenizers"][0];
    if (!split.contains("pattern") || !split["pattern"].contains("Regex"))
      fail("Split pre-tokenizer without a Regex pattern is not supported");
    if (split.value("behavior", "") != "Isolated" || split.value("invert", false))
      fail("Split pre-tokenizer must be Isolated and not inverted");
    check_byte_level(pre["pretokenizers"][1], false);
    split_ = std::make_unique<Regex>(split["pattern"]["Regex"].get<std::string>());
  } else {
    fail(StrCat("pre_tokenizer ", pre.dump().substr(0, 300), " is not supported"));
  }

  const json& dec = doc.value("decoder", json());
  if (!dec.is_object() || dec.value("type", "") != "ByteLevel")
    fail("only the ByteLevel decoder is supported");

  // Model.
  const json& model = doc.at("model");
  if (model.value("type", "") != "BPE") fail("model type must be BPE");
  if (model.value("byte_fallback", false)) fail("BPE byte_fallback is not supported");
  if (!model.value("dropout", json()).is_null()) fail("BPE dropout is not supported");
  if (!model.value("continuing_subword_prefix", json()).is_null() &&
      !model["continuing_subword_prefix"].get<std::string>().empty())
    fail("BPE continuing_subword_prefix is not supported");
  if (!model.value("end_of_word_suffix", json()).is_null() &&
      !model["end_of_word_suffix"].get<std::string>().empty())
    fail("BPE end_of_word_suffix is not supported");
  ignore_merges_ = model.value("ignore_merges", false);

  TokenId max_id = -1;
  std::vector<std::pair<TokenId, std::string>> entries;
  const json& vocab = model.at("vocab");
  vocab_.reserve(vocab.size() * 2);
  token_ids_.reserve(vocab.size() * 2);
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    TokenId id = it.value().get<TokenId>();
    vocab_.emplace(ByteLevelToBytes(it.key()), id);
    token_ids_.emplace(it.key(), id);
    entries.emplace_back(id, it.key());
    max_id = std::max(max_id, id);
  }
  for (int b = 0; b < 256; ++b) {
    auto it = vocab_.find(std::string(1, static_cast<char>(b)));
    byte_id_[b] = it == vocab_.end() ? -1 : it->second;
  }

  const json& merges = model.at("merges");
  merges_.reserve(merges.size() * 2);
  int32_t rank = 0;
  for (const json& m : merges) {
    std::string left, right;
    if (m.is_string()) {
      const std::string& s = m.get_ref<const std::string&>();
      size_t space = s.find(' ', 1);
      if (space == std::string::npos) fail(StrCat("merge \"", s, "\" has no space"));
      left = s.substr(0, space);
      right = s.substr(space + 1);
    } else {
      left = m.at(0).get<std::string>();
      right = m.at(1).get<std::string>();
    }
    auto l = token_ids_.find(left), r = token_ids_.find(right),
         merged = token_ids_.find(left + right);
    if (l == token_ids_.end() || r == token_ids_.end() || merged == token_ids_.end())
      fail(StrCat("merge ", m.dump(), " names a token outside the vocabulary"));
    uint64_t key = (static_cast<uint64_t>(l->second) << 32) | static_cast<uint32_t>(r->second);
    merges_.emplace(key, std::make_pair(rank++, merged->second));
  }

  // Added tokens.
  for (const json& a : doc.value("added_tokens", json::array())) {
    AddedToken t{a.at("content").get<std::string>(), a.at("id").get<TokenId>(),
                 a.value("lstrip", false), a.value("rstrip", false)};
    if (t.content.empty()) continue;
    if (a.value("single_word", false))
      fail(StrCat("added token ", t.content, ": single_word is not supported"));
    token_ids_[t.content] = t.id;
    entries.emplace_back(t.id, t.content);
    max_id = std::max(max_id, t.id);
    added_.push_back(t);
  }
  std::stable_sort(added_.begin(), added_.end(), [](const AddedToken& a, const AddedToken& b) {
    return a.content.size() > b.content.size();
  });
  for (size_t i = 0; i < added_.size(); ++i)
    added_by_first_byte_[static_cast<unsigned char>(added_[i].content[0])].push_back(
        static_cast<int32_t>(i));

  decoded_.assign(static_cast<size_t>(max_id + 1), std::string());
  for (const auto& [id, text] : entries) decoded_[id] = ByteLevelToBytes(text);
}

std::optional<TokenId> BpeTokenizer::IdOf(std::string_view token) const {
  auto it = token_ids_.find(std::string(token));
  if (it == token_ids_.end()) return std::nullopt;
  return it->second;
}

std::vector<TokenId> BpeTokenizer::Encode(std::string_view text) const {
  size_t bad = FindInvalidUtf8(text);
  if (bad != std::string_view::npos)
    throw std::invalid_argument(StrCat("text to encode is not valid UTF-8 at byte ", bad));
  std::vector<TokenId> ids;
  ids.reserve(text.size() / 3 + 1);
  // Added tokens, leftmost-longest, as Hugging Face's AddedVocabulary does.
  size_t segment_start = 0, pos = 0;
  while (pos < text.size()) {
    const auto& candidates = added_by_first_byte_[static_cast<unsigned char>(text[pos])];
    const AddedToken* hit = nullptr;
    for (int32_t i : candidates) {
      const AddedToken& t = added_[i];
      if (text.compare(pos, t.content.size(), t.content) == 0) {
        hit = &t;
        break;
      }
    }
    if (!hit) {
      ++pos;
      continue;
    }
    size_t end = pos + hit->content.size();
    size_t start = pos;
    if (hit->lstrip)
      while (start > segment_start && IsAsciiSpace(text[start - 1])) --start;
    if (hit->rstrip)
      while (end < text.size() && IsAsciiSpace(text[end])) ++end;
    EncodeSegment(text.substr(segment_start, start - segment_start), ids);
    ids.push_back(hit->id);
    segment_start = pos = end;
  }
  EncodeSegment(text.substr(segment_start), ids);
  return ids;
}

void BpeTokenizer::EncodeSegment(std::string_view raw, std::vector<TokenId>& ids) const {
  if (raw.empty()) return;
  std::string normalised = nfc_ ? Nfc(raw) : std::string(raw);
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(split_->code, nullptr);
  auto subject = reinterpret_cast<PCRE2_SPTR>(normalised.data());
  size_t pos = 0, n = normalised.size();
  while (pos < n) {
    int rc = pcre2_match(split_->code, subject, n, pos, PCRE2_NO_UTF_CHECK, md, nullptr);
    if (rc < 0) break;
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    size_t start = ov[0], end = ov[1];
    if (start > pos) EncodeWord(std::string_view(normalised).substr(pos, start - pos), ids);
    if (end == start) {  // empty match: step over one character
      size_t next = start;
      NextCodePoint(normalised, next);
      EncodeWord(std::string_view(normalised).substr(start, next - start), ids);
      pos = next;
      continue;
    }
    EncodeWord(std::string_view(normalised).substr(start, end - start), ids);
    pos = end;
  }
  if (pos < n) EncodeWord(std::string_view(normalised).substr(pos), ids);
  pcre2_match_data_free(md);
}

void BpeTokenizer::EncodeWord(std::string_view word, std::vector<TokenId>& ids) const {
  if (word.empty()) return;
  std::string key(word);
  if (ignore_merges_) {
    auto it = vocab_.find(key);
    if (it != vocab_.end()) {
      ids.push_back(it->second);
      return;
    }
  }
  bool cacheable = word.size() <= kMaxCachedWordBytes;
  if (cacheable) {
    std::shared_lock<std::shared_mutex> lock(cache_mutex_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      ids.insert(ids.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<TokenId> symbols;
  symbols.reserve(word.size());
  for (unsigned char c : word) {
    if (byte_id_[c] < 0)
      throw std::runtime_error(StrCat(path_, ": byte ", int(c), " has no token"));
    symbols.push_back(byte_id_[c]);
  }
  MergeAll(symbols);
  ids.insert(ids.end(), symbols.begin(), symbols.end());
  if (cacheable) {
    std::unique_lock<std::shared_mutex> lock(cache_mutex_);
    if (cache_.size() < kMaxCacheEntries) cache_.emplace(std::move(key), std::move(symbols));
  }
}

// Hugging Face's Word::merge_all: a queue of candidate merges ordered by rank
// then position; stale entries are skipped when popped. O(n log n).
void BpeTokenizer::MergeAll(std::vector<TokenId>& symbols) const {
  const int n = static_cast<int>(symbols.size());
  if (n < 2) return;
  struct Candidate {
    int32_t rank, pos;
    TokenId new_id;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::vector<int> prev(n), next(n);
  std::vector<char> alive(n, 1);
  for (int i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1;
  }
  auto lookup = [&](TokenId a, TokenId b) -> const std::pair<int32_t, TokenId>* {
    auto it = merges_.find((static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b));
    return it == merges_.end() ? nullptr : &it->second;
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
  for (int i = 0; i + 1 < n; ++i)
    if (auto m = lookup(symbols[i], symbols[i + 1])) queue.push({m->first, i, m->second});
  while (!queue.empty()) {
    Candidate top = queue.top();
    queue.pop();
    if (!alive[top.pos] || next[top.pos] >= n) continue;
    int right = next[top.pos];
    auto m = lookup(symbols[top.pos], symbols[right]);
    if (!m || m->second != top.new_id) continue;
    symbols[top.pos] = top.new_id;
    alive[right] = 0;
    next[top.pos] = next[right];
    if (next[right] < n) prev[next[right]] = top.pos;
    if (prev[top.pos] >= 0) {
      int p = prev[top.pos];
      if (auto pm = lookup(symbols[p], symbols[top.pos])) queue.push({pm->first, p, pm->second});
    }
    if (next[top.pos] < n) {
      if (auto nm = lookup(symbols[top.pos], symbols[next[top.pos]]))
        queue.push({nm->first, top.pos, nm->second});
    }
  }
  int w = 0;
  for (int i = 0; i < n; ++i)
    if (alive[i]) symbols[w++] = symbols[i];
  symbols.resize(w);
}

std::string BpeTokenizer::Decode(const std::vector<TokenId>& ids) const {
  std::string bytes;
  for (TokenId id : ids) {
    if (id < 0 || id >= VocabSize() || decoded_[id].empty())
      throw std::out_of_range(StrCat("token id ", id, " is not in the vocabulary of ", path_));
    bytes += decoded_[id];
  }
  return ToValidUtf8Lossy(bytes);
}

}  // namespace crescent::tok
