#include "common/task/prompt_source.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "common/task/arithmetic.hpp"
#include "common/task/chat_json.hpp"
#include "common/util/log.hpp"

namespace crescent::task {
namespace {

class FixedSource : public PromptSource {
 public:
  FixedSource(std::vector<Prompt> training, std::vector<Prompt> heldout)
      : training_(std::move(training)), heldout_(std::move(heldout)) {}
  const std::vector<Prompt>& Training() const override { return training_; }
  const std::vector<Prompt>& Heldout() const override { return heldout_; }

 private:
  std::vector<Prompt> training_;
  std::vector<Prompt> heldout_;
};

}  // namespace

std::unique_ptr<PromptSource> MakeArithmeticSource(const ArithmeticSourceOptions& o) {
  ArithmeticTask task(o.seed, o.min_level, o.max_level, o.heldout_size);
  std::vector<Prompt> training, heldout;
  for (const Problem& p : task.TrainingSet(o.seed, o.training_size))
    training.push_back(AsPrompt(p));
  for (const Problem& p : task.Heldout()) heldout.push_back(AsPrompt(p));
  if (training.empty()) throw std::invalid_argument("arithmetic task: empty training set");
  return std::make_unique<FixedSource>(std::move(training), std::move(heldout));
}

Prompt ParsePromptLine(const std::string& line, int number, std::string* response) {
  const nlohmann::json j = nlohmann::json::parse(line);
  if (!j.is_object()) throw std::runtime_error("not a JSON object");
  const bool has_prompt = j.contains("prompt"), has_messages = j.contains("messages");
  if (has_prompt == has_messages)
    throw std::runtime_error(has_prompt ? "both \"prompt\" and \"messages\"; give one"
                                        : "neither \"prompt\" nor \"messages\"");
  Prompt p;
  if (has_prompt) {
    if (!j["prompt"].is_string()) throw std::runtime_error("\"prompt\" is not a string");
    p.text = j["prompt"].get<std::string>();
  } else {
    p.messages = internal::ReadChat(j["messages"], internal::ChatUse::kPrompt);
  }
  if (!j.contains("id")) {
    p.id = std::to_string(number);
  } else {
    p.id = j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump();
  }
  if (response) {
    if (!j.contains("response") || !j["response"].is_string())
      throw std::runtime_error("no \"response\" string");
    *response = j["response"].get<std::string>();
  }
  for (const auto& [key, value] : j.items()) {
    if (key == "prompt" || key == "messages" || key == "id") continue;
    if (response && key == "response") continue;
    p.metadata[key] = internal::MetadataValue(value);
    if (!value.is_string()) p.json_metadata.insert(key);
  }
  return p;
}

std::unique_ptr<PromptSource> MakeJsonlSource(const std::string& path,
                                              const std::vector<std::string>& heldout_ids) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(StrCat(path, ": cannot open prompts file"));
  const std::set<std::string> heldout_set(heldout_ids.begin(), heldout_ids.end());
  std::vector<Prompt> training, heldout;
  std::set<std::string> ids;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Prompt p;
    try {
      p = ParsePromptLine(line, number);
    } catch (const std::exception& e) {
      throw std::runtime_error(StrCat(path, ":", number, ": ", e.what()));
    }
    if (!ids.insert(p.id).second) {
      throw std::runtime_error(StrCat(path, ":", number, ": duplicate id \"", p.id, "\""));
    }
    (heldout_set.count(p.id) ? heldout : training).push_back(std::move(p));
  }
  if (training.empty()) throw std::runtime_error(StrCat(path, ": no training prompts"));
  return std::make_unique<FixedSource>(std::move(training), std::move(heldout));
}

std::unique_ptr<PromptSource> MakeTaskSource(const config::Config& c) {
  if (c.task.name == SourceKind::kJsonl) {
    std::unique_ptr<PromptSource> source;
    try {
      source = MakeJsonlSource(c.task.prompts_file);
    } catch (const std::exception& e) {
      throw std::runtime_error(
          StrCat("task.prompts_file (", c.Where("task.prompts_file"), "): ", e.what()));
    }
    return source;
  }
  return MakeArithmeticSource(c.task.arithmetic);
}

}  // namespace crescent::task
