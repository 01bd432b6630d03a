// Math answer extraction (see math_verify.hpp): the final answer of a
// response.
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "reward/math_normalise.hpp"
#include "reward/math_verify.hpp"

namespace crescent::reward {
namespace {

using math_internal::IsDigit;
using math_internal::IsLetter;
using math_internal::IsSpace;
using math_internal::Lower;
using math_internal::Trim;

// The contents of the last complete \boxed{...} / \fbox{...}, one linear pass.
std::string LastBoxed(const std::string& text) {
  std::vector<std::pair<size_t, bool>> open;  // content start, opened by \boxed
  size_t begin = 0, end = 0;
  bool found = false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\') {
      const size_t name = text.compare(i, 6, "\\boxed") == 0  ? 6
                          : text.compare(i, 5, "\\fbox") == 0 ? 5
                                                              : 0;
      size_t j = i + name;
      while (name > 0 && j < text.size() && IsSpace(text[j])) ++j;
      if (name > 0 && j < text.size() && text[j] == '{') {
        open.emplace_back(j + 1, true);
        i = j;
      } else if (name == 0 && i + 1 < text.size()) {
        ++i;  // \{ and \} are no braces
      }
    } else if (text[i] == '{') {
      open.emplace_back(i + 1, false);
    } else if (text[i] == '}' && !open.empty()) {
      if (open.back().second) {
        begin = open.back().first;
        end = i;
        found = true;
      }
      open.pop_back();
    }
  }
  return found ? Trim(text.substr(begin, end - begin)) : "";
}

// The rest of the line after the last "####", "answer:" or "final answer is".
std::string AnswerLine(const std::string& text) {
  const std::string lower = Lower(text);
  size_t after = std::string::npos, best = 0;
  for (const char* marker : {"####", "answer:", "final answer is"}) {
    const size_t at = lower.rfind(marker);
    if (at != std::string::npos && (after == std::string::npos || at >= best)) {
      best = at;
      after = at + std::strlen(marker);
    }
  }
  if (after == std::string::npos) return "";
  const size_t newline = text.find('\n', after);
  std::string line =
      Trim(text.substr(after, newline == std::string::npos ? newline : newline - after));
  while (!line.empty() && (line[0] == ':' || line[0] == '*' || IsSpace(line[0]))) line.erase(0, 1);
  if (!line.empty() && line[0] == '$') {  // "$5$. I hope it is correct."
    const size_t start = line.find_first_not_of('$');
    const size_t close = start == std::string::npos ? start : line.find('$', start);
    if (close != std::string::npos) return Trim(line.substr(start, close - start));
  }
  while (!line.empty() && (line.back() == '.' || line.back() == '*' || IsSpace(line.back()))) {
    line.pop_back();
  }
  return line;
}

// The last number ("-3", "1,000", "2.5", "3/4") not inside a word ("AZYUK2A").
std::string LastNumber(const std::string& text) {
  std::string last;
  for (size_t i = 0; i < text.size();) {
    const bool starts =
        IsDigit(text[i]) || (text[i] == '.' && i + 1 < text.size() && IsDigit(text[i + 1]));
    if (!starts) {
      ++i;
      continue;
    }
    size_t start = i, j = i;
    auto digits = [&] {
      while (j < text.size() && IsDigit(text[j])) ++j;
    };
    digits();
    while (j + 3 < text.size() && text[j] == ',' && IsDigit(text[j + 1]) && IsDigit(text[j + 2]) &&
           IsDigit(text[j + 3]) && (j + 4 == text.size() || !IsDigit(text[j + 4]))) {
      j += 4;
    }
    if (j + 1 < text.size() && text[j] == '.' && IsDigit(text[j + 1])) {
      ++j;
      digits();
    }
    if (j + 1 < text.size() && text[j] == '/' && IsDigit(text[j + 1])) {
      ++j;
      digits();
    }
    if (start > 0 && text[start - 1] == '-' &&
        (start == 1 ||
         !(IsLetter(text[start - 2]) || IsDigit(text[start - 2]) || text[start - 2] == ')'))) {
      --start;
    }
    const bool in_word =
        (start > 0 && IsLetter(text[start - 1])) || (j < text.size() && IsLetter(text[j]));
    if (!in_word) last = text.substr(start, j - start);
    i = j;
  }
  return last;
}

}  // namespace

std::string ExtractMathAnswer(const std::string& response, const MathExtractOptions& options) {
  const size_t think = response.rfind("</think>");
  const std::string text = think == std::string::npos ? response : response.substr(think + 8);
  std::string answer = LastBoxed(text);
  if (!answer.empty() || options.fallback == AnswerFallback::kNone) return answer;
  answer = AnswerLine(text);
  if (!answer.empty() || options.fallback == AnswerFallback::kAnswerLine) return answer;
  return options.fallback == AnswerFallback::kWhole ? Trim(text) : LastNumber(text);
}

}  // namespace crescent::reward
