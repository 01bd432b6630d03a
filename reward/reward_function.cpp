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

std::string CanonicalDecimal(bool negative, std::string integer, std::string fraction) {
  size_t zeros = 0;
  while (zeros + 1 < integer.size() && integer[zeros] == '0') ++zeros;
  integer.erase(0, zeros);
  while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
  std::string out = integer + (fraction.empty() ? "" : "." + fraction);
  if (out == "0") negative = false;
  return (negative ? "-" : "") + out;
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
    const std::string answer = ExtractFinalAnswer(response);
    const bool correct = !answer.empty() && NormaliseAnswer(answer) == NormaliseAnswer(it->second);
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

std::string NormaliseAnswer(const std::string& text) {
  const std::string s = Trim(text);
  bool negative;
  std::string integer, fraction;
  const size_t slash = s.find('/');
  if (slash != std::string::npos) {
    const std::string numerator = Trim(s.substr(0, slash)), denominator = Trim(s.substr(slash + 1));
    if (ParseDecimal(numerator, &negative, &integer, &fraction) && fraction.empty() &&
        numerator.find('.') == std::string::npos && AllDigits(denominator) &&
        integer.size() <= 17 && denominator.size() <= 17) {
      const long long n = std::stoll(integer), d = std::stoll(denominator);
      if (d != 0 && n % d == 0) return CanonicalDecimal(negative, std::to_string(n / d), "");
    }
    return s;
  }
  if (ParseDecimal(s, &negative, &integer, &fraction)) {
    return CanonicalDecimal(negative, integer, fraction);
  }
  return s;
}

std::string ExtractFinalAnswer(const std::string& response) {
  const size_t boxed = response.rfind("\\boxed{");
  if (boxed != std::string::npos) {
    const size_t begin = boxed + 7;
    int depth = 1;
    for (size_t i = begin; i < response.size(); ++i) {
      if (response[i] == '{') ++depth;
      if (response[i] == '}' && --depth == 0) return Trim(response.substr(begin, i - begin));
    }
  }
  const size_t hashes = response.rfind("####");
  if (hashes != std::string::npos) return Trim(response.substr(hashes + 4));
  return Trim(response);
}

RewardOptions RewardOptionsOf(const config::RewardSection& r) {
  RewardOptions o;
  o.correct_reward = r.correct_reward;
  o.incorrect_reward = r.incorrect_reward;
  o.format_reward = r.format_reward;
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
