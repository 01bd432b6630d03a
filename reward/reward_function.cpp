#include "reward/reward_function.hpp"

#include <regex.h>

#include <cctype>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "common/util/log.hpp"
#include "reward/code_reward.hpp"
#include "reward/math_normalise.hpp"
#include "reward/plugin_reward.hpp"

namespace crescent::reward {
namespace {

using math_internal::Trim;

bool AllDigits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// [+-]digits[.digits], split into sign, integer and fraction digits.
bool ParseDecimal(const std::string& s, bool* negative, std::string* integer,
                  std::string* fraction) {
  size_t i = 0;
  *negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) *negative = s[i++] == '-';
  const size_t dot = s.find('.', i);
  *integer = s.substr(i, dot == std::string::npos ? std::string::npos : dot - i);
  *fraction = dot == std::string::npos ? "" : s.substr(dot + 1);
  if (!AllDigits(*integer)) return false;
  return dot == std::string::npos || fraction->empty() || AllDigits(*fraction);
}

using json = nlohmann::json;

Outcome Judged(bool ok, double reward, json details = json::object()) {
  return {reward, ok, true, "", details.dump()};
}

Outcome MissingAnswer(const char* function) {
  return {0, false, true, StrCat(function, ": the prompt has no \"answer\" metadata"), ""};
}

class MathReward : public RewardFunction {
 public:
  explicit MathReward(const RewardOptions& o) : options_(o) {}
  Outcome Score(const task::Prompt& prompt, const std::string& response) const override {
    auto it = prompt.metadata.find("answer");
    if (it == prompt.metadata.end()) return MissingAnswer("math");
    const std::string answer = ExtractMathAnswer(response, options_.math_extract);
    // With `whole` a number is answered by a number: "12+7" (the built-in
    // task's question) is no answer to 12+7=.
    const bool number = options_.math_extract.fallback != AnswerFallback::kWhole ||
                        !IsWellFormedNumber(it->second) || IsWellFormedNumber(answer);
    const bool correct =
        !answer.empty() && number && MathEquivalent(it->second, answer, options_.math);
    return Judged(correct, correct ? options_.correct_reward : options_.incorrect_reward,
                  {{"answer", answer}});
  }

 private:
  RewardOptions options_;
};

class FormatReward : public RewardFunction {
 public:
  explicit FormatReward(const RewardOptions& o) : options_(o) {}
  Outcome Score(const task::Prompt&, const std::string& response) const override {
    const bool ok = IsWellFormedNumber(response);
    return Judged(ok, ok ? options_.format_reward : 0.0);
  }

 private:
  RewardOptions options_;
};

class ExactReward : public RewardFunction {
 public:
  Outcome Score(const task::Prompt& prompt, const std::string& response) const override {
    auto it = prompt.metadata.find("answer");
    if (it == prompt.metadata.end()) return MissingAnswer("exact");
    const std::string answer = Trim(AfterThinking(response));
    const bool ok = answer == Trim(it->second);
    return Judged(ok, ok, {{"answer", answer}});
  }
};

class RegexReward : public RewardFunction {
 public:
  explicit RegexReward(const std::string& pattern) : pattern_(pattern) {
    const int code = regcomp(&regex_, pattern.c_str(), REG_EXTENDED);
    if (code != 0) {
      char what[256];
      regerror(code, &regex_, what, sizeof what);
      throw std::invalid_argument(StrCat("regex: pattern \"", pattern, "\": ", what));
    }
  }
  ~RegexReward() override { regfree(&regex_); }
  Outcome Score(const task::Prompt&, const std::string& response) const override {
    const std::string text = AfterThinking(response);
    regmatch_t match;
    const bool ok = regexec(&regex_, text.c_str(), 1, &match, 0) == 0;
    json details = {{"pattern", pattern_}};
    if (ok) details["match"] = text.substr(match.rm_so, match.rm_eo - match.rm_so);
    return Judged(ok, ok, details);
  }

 private:
  std::string pattern_;
  regex_t regex_;
};

// One "<think>...</think>" block first, then a non-empty answer.
class ThinkFormatReward : public RewardFunction {
 public:
  Outcome Score(const task::Prompt&, const std::string& response) const override {
    const std::string text = Trim(response);
    const char* problem = nullptr;
    const size_t open = text.find("<think>"), close = text.find("</think>");
    if (open != 0) {
      problem = "the response does not start with <think>";
    } else if (close == std::string::npos) {
      problem = "no </think>";
    } else if (text.find("<think>", 1) != std::string::npos ||
               text.find("</think>", close + 1) != std::string::npos) {
      problem = "more than one <think> block";
    } else if (Trim(text.substr(close + 8)).empty()) {
      problem = "no answer after </think>";
    }
    return Judged(!problem, !problem, problem ? json{{"problem", problem}} : json::object());
  }
};

// The answer is one JSON value, bare or in a ```json ... ``` fence.
class JsonFormatReward : public RewardFunction {
 public:
  Outcome Score(const task::Prompt&, const std::string& response) const override {
    std::string text = Trim(AfterThinking(response));
    for (const char* fence : {"```json", "```"}) {
      const size_t n = std::char_traits<char>::length(fence);
      if (text.size() >= n + 3 && text.compare(0, n, fence) == 0 &&
          text.compare(text.size() - 3, 3, "```") == 0) {
        text = text.substr(n, text.size() - n - 3);
        break;
      }
    }
    const bool ok = json::accept(text);
    return Judged(ok, ok);
  }
};

bool LooksLikePath(const std::string& name) {
  return name.find('/') != std::string::npos ||
         (name.size() > 3 && name.compare(name.size() - 3, 3, ".so") == 0);
}

}  // namespace

bool IsWellFormedNumber(const std::string& text) {
  const std::string s = Trim(text);
  const size_t slash = s.find('/');
  bool negative;
  std::string integer, fraction;
  if (slash != std::string::npos) {
    return ParseDecimal(s.substr(0, slash), &negative, &integer, &fraction) && fraction.empty() &&
           s.find('.') == std::string::npos && AllDigits(s.substr(slash + 1));
  }
  return ParseDecimal(s, &negative, &integer, &fraction);
}

std::string AfterThinking(const std::string& response) {
  const size_t think = response.rfind("</think>");
  return think == std::string::npos ? response : response.substr(think + 8);
}

std::string MetadataJson(const task::Prompt& prompt) {
  json j = json::object();
  for (const auto& [key, value] : prompt.metadata) {
    // Kept as text if it somehow does not parse (it was written by dump()).
    j[key] = prompt.json_metadata.count(key) ? json::parse(value, nullptr, false) : json(value);
    if (j[key].is_discarded()) j[key] = value;
  }
  return j.dump();
}

RewardOptions RewardOptionsOf(const config::RewardSection& r) {
  RewardOptions o;
  o.correct_reward = r.correct_reward;
  o.incorrect_reward = r.incorrect_reward;
  o.format_reward = r.format_reward;
  switch (r.math_answer) {
    case config::MathAnswer::kBoxed:
      o.math_extract.fallback = AnswerFallback::kNone;
      break;
    case config::MathAnswer::kAnswerLine:
      o.math_extract.fallback = AnswerFallback::kAnswerLine;
      break;
    case config::MathAnswer::kLastNumber:
      o.math_extract.fallback = AnswerFallback::kLastNumber;
      break;
    case config::MathAnswer::kWhole:
      o.math_extract.fallback = AnswerFallback::kWhole;
      break;
  }
  o.math.rel_tol = r.math_tolerance;
  o.plugin_timeout_s = r.timeout_s;
  o.code_limits.cpu_s = r.code_cpu_s;
  o.code_limits.wall_s = r.code_wall_s;
  o.code_limits.memory_mb = r.code_memory_mb;
  o.sandboxes = r.sandboxes;
  o.partial_credit = r.partial_credit;
  o.filter_tests = r.code_filter_tests;
  return o;
}

std::unique_ptr<RewardFunction> MakeRewardFunction(const std::string& name,
                                                   const RewardOptions& options) {
  if (name == "math") return std::make_unique<MathReward>(options);
  if (name == "format") return std::make_unique<FormatReward>(options);
  if (name == "exact") return std::make_unique<ExactReward>();
  if (name == "regex") return std::make_unique<RegexReward>(options.pattern);
  if (name == "think_format") return std::make_unique<ThinkFormatReward>();
  if (name == "json_format") return std::make_unique<JsonFormatReward>();
  if (name == "code") return MakeCodeReward(options);
  if (LooksLikePath(name)) return LoadPluginReward(name, options);
  throw std::invalid_argument(
      StrCat("unknown reward function \"", name,
             "\" (built-in: math, format, exact, regex, think_format, json_format, code; or the "
             "path of a plug-in .so)"));
}

}  // namespace crescent::reward
