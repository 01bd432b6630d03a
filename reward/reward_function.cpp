#include "reward/reward_function.hpp"

#include <cctype>
#include <stdexcept>

#include "common/util/log.hpp"
#include "reward/plugin_reward.hpp"

namespace crescent::reward {
namespace {

std::string Trim(const std::string& text) {
  size_t b = 0, e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
  return text.substr(b, e - b);
}

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

class MathReward : public RewardFunction {
 public:
  explicit MathReward(const RewardOptions& o) : options_(o) {}
  Outcome Score(const std::string&, const std::string& response,
                const std::map<std::string, std::string>& metadata) const override {
    auto it = metadata.find("answer");
    if (it == metadata.end()) {
      return {options_.failure_reward, false, "math: the prompt has no \"answer\" metadata"};
    }
    const std::string answer = ExtractMathAnswer(response, options_.math_extract);
    // With `whole` a number is answered by a number: "12+7" (the built-in
    // task's question) is no answer to 12+7=.
    const bool number = options_.math_extract.fallback != AnswerFallback::kWhole ||
                        !IsWellFormedNumber(it->second) || IsWellFormedNumber(answer);
    const bool correct =
        !answer.empty() && number && MathEquivalent(it->second, answer, options_.math);
    return {correct ? options_.correct_reward : options_.incorrect_reward, correct, ""};
  }

 private:
  RewardOptions options_;
};

class FormatReward : public RewardFunction {
 public:
  explicit FormatReward(const RewardOptions& o) : options_(o) {}
  Outcome Score(const std::string&, const std::string& response,
                const std::map<std::string, std::string>&) const override {
    const bool ok = IsWellFormedNumber(response);
    return {ok ? options_.format_reward : 0.0, ok, ""};
  }

 private:
  RewardOptions options_;
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
  o.failure_reward = r.failure_reward;
  return o;
}

std::unique_ptr<RewardFunction> MakeRewardFunction(const std::string& name,
                                                   const RewardOptions& options) {
  if (name == "math") return std::make_unique<MathReward>(options);
  if (name == "format") return std::make_unique<FormatReward>(options);
  if (LooksLikePath(name)) return LoadPluginReward(name, options);
  throw std::invalid_argument(StrCat("unknown reward function \"", name,
                                     "\" (built-in: math, format; or the path of a plug-in .so)"));
}

}  // namespace crescent::reward
