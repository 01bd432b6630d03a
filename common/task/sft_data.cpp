#include "common/task/sft_data.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "common/task/chat_json.hpp"
#include "common/util/log.hpp"

namespace crescent::task {
namespace {

Conversation ReadLine(const std::string& line) {
  const nlohmann::json j = nlohmann::json::parse(line);
  if (!j.is_object()) throw std::runtime_error("not a JSON object");
  const bool pair = j.contains("prompt") || j.contains("response");
  const bool chat = j.contains("messages");
  if (pair && chat)
    throw std::runtime_error("both a \"prompt\"/\"response\" pair and \"messages\"; give one");
  if (!pair && !chat)
    throw std::runtime_error(
        "neither a \"prompt\"/\"response\" pair nor \"messages\" (an SFT line is one of them)");
  Conversation c;
  if (chat) {
    c.messages = internal::ReadChat(j["messages"], internal::ChatUse::kSft);
    return c;
  }
  for (const char* key : {"prompt", "response"}) {
    if (!j.contains(key)) throw std::runtime_error(StrCat("a pair without \"", key, "\""));
    if (!j[key].is_string()) throw std::runtime_error(StrCat("\"", key, "\" is not a string"));
  }
  c.prompt = j["prompt"].get<std::string>();
  c.response = j["response"].get<std::string>();
  return c;
}

// FNV-1a over the seed and the document's parts, each with its length, so
// that no two different documents are the same byte string.
uint64_t DocumentHash(const Conversation& c, uint64_t seed) {
  uint64_t h = 1469598103934665603ull;
  auto bytes = [&](const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  };
  auto part = [&](const std::string& s) {
    const uint64_t n = s.size();
    bytes(&n, sizeof n);
    bytes(s.data(), s.size());
  };
  bytes(&seed, sizeof seed);
  part(c.prompt);
  part(c.response);
  for (const Message& m : c.messages) {
    part(m.role);
    part(m.content);
  }
  return h;
}

// The document's content as a key (for telling copies apart from collisions).
std::string DocumentKey(const Conversation& c) {
  nlohmann::json j = nlohmann::json::array({c.prompt, c.response});
  for (const Message& m : c.messages) j.push_back({m.role, m.content});
  return j.dump();
}

}  // namespace

std::vector<Conversation> ReadSftData(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(StrCat(path, ": cannot open SFT data file"));
  std::vector<Conversation> conversations;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      conversations.push_back(ReadLine(line));
    } catch (const std::exception& e) {
      throw std::runtime_error(StrCat(path, ":", number, ": ", e.what()));
    }
    conversations.back().line = number;
  }
  if (in.bad()) throw std::runtime_error(StrCat(path, ": read error"));
  if (conversations.empty()) throw std::runtime_error(StrCat(path, ": no SFT conversations"));
  return conversations;
}

SftSplit SplitHeldout(const std::vector<Conversation>& conversations, double fraction,
                      uint64_t seed) {
  if (!(fraction >= 0 && fraction < 1))
    throw std::invalid_argument(StrCat("SFT held-out fraction ", fraction, " is not in [0, 1)"));
  SftSplit split;
  if (fraction == 0) {
    split.training = conversations;
    return split;
  }
  // Distinct documents, ordered by (hash, content): the first `count` are held out.
  std::map<std::pair<uint64_t, std::string>, bool> documents;
  for (const Conversation& c : conversations)
    documents.emplace(std::make_pair(DocumentHash(c, seed), DocumentKey(c)), false);
  if (documents.size() < 2)
    throw std::invalid_argument(StrCat("SFT held-out fraction ", fraction, ": ", documents.size(),
                                       " distinct document(s), too few to hold any out"));
  size_t count = static_cast<size_t>(std::llround(fraction * documents.size()));
  count = std::clamp<size_t>(count, 1, documents.size() - 1);
  for (auto it = documents.begin(); count > 0; ++it, --count) it->second = true;
  for (const Conversation& c : conversations) {
    const bool heldout = documents.at({DocumentHash(c, seed), DocumentKey(c)});
    (heldout ? split.heldout : split.training).push_back(c);
  }
  return split;
}

}  // namespace crescent::task
