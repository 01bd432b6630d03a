// `crescent reward eval`: the config's rewards on responses a user supplies,
// one JSON line in, one out, scored by the code a run scores with
// (reward::ComposedReward; a chat prompt rendered by master::PromptEncoder).
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>

#include "cli/commands.hpp"
#include "cli/flags.hpp"
#include "common/config/config.hpp"
#include "common/task/prompt_source.hpp"
#include "common/util/log.hpp"
#include "master/prompt_encoder.hpp"
#include "reward/composed_reward.hpp"

namespace crescent::cli {
namespace {

using json = nlohmann::json;

constexpr const char* kUsage =
    "usage: crescent reward eval [CONFIG] --input FILE|- [--set key=value]...";

// Renders chat prompts with the run's initial policy's template, loaded on
// the first chat line; a policy that cannot be loaded fails those lines only.
class ChatRenderer {
 public:
  explicit ChatRenderer(const config::Config& c) : config_(c) {}
  task::Prompt ForReward(const task::Prompt& p) {
    if (p.messages.empty()) return p;
    if (!encoder_ && error_.empty()) {
      try {
        encoder_.emplace(master::PromptEncoder::ForRun(config_));
      } catch (const std::exception& e) {
        error_ = StrCat("cannot render \"messages\": the run's initial policy: ", e.what());
      }
    }
    if (!encoder_) throw std::runtime_error(error_);
    return encoder_->ForReward(p);
  }

 private:
  const config::Config& config_;
  std::optional<master::PromptEncoder> encoder_;
  std::string error_;
};

}  // namespace

int RewardCommand(const std::vector<std::string>& args, std::ostream& out) {
  if (args.empty() || args[0] != "eval") {
    std::cerr << kUsage << "\n";
    return 2;
  }
  const Flags flags(std::vector<std::string>(args.begin() + 1, args.end()), {"input"}, kUsage);
  if (flags.positional().size() > 1 || !flags.Has("input")) {
    std::cerr << kUsage << "\n";
    return 2;
  }
  const config::Config c = CommandConfig(flags);
  std::optional<reward::ComposedReward> composed;
  try {
    composed.emplace(c);
  } catch (const std::exception& e) {
    throw config::ConfigError(e.what());  // names the key and its line
  }
  const std::string path = flags.String("input");
  std::ifstream file;
  if (path != "-") {
    file.open(path);
    if (!file) throw std::runtime_error(StrCat("--input: cannot open ", path));
  }
  std::istream& in = path == "-" ? std::cin : file;
  ChatRenderer chats(c);
  int unscored = 0;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json result;
    try {
      std::string response;
      const task::Prompt prompt = chats.ForReward(task::ParsePromptLine(line, number, &response));
      const reward::Composed o = composed->Score(prompt, response);
      result = {{"reward", o.reward},
                {"correct", o.correct},
                {"details", json::parse(o.details)},
                {"error", o.error.empty() ? json(nullptr) : json(o.error)}};
    } catch (const std::exception& e) {
      ++unscored;
      result = {{"reward", nullptr},
                {"correct", nullptr},
                {"details", json::object()},
                {"error", StrCat(path == "-" ? "<stdin>" : path, ":", number, ": ", e.what())}};
    }
    out << result.dump() << "\n" << std::flush;
  }
  return unscored == 0 ? 0 : 1;
}

}  // namespace crescent::cli
