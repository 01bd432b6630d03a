// Normalise: one left-to-right pass over the text rewriting LaTeX to a small
// vocabulary (\frac, \sqrt, \pi, \infty, \cup, \pm, \{ \}, greek letters,
// * / ^ _ ( ) [ ] { } , ; = %), then spaces, trailing periods and thousands
// separators. Also the text helpers of math_normalise.hpp.
#include "reward/math_normalise.hpp"

#include <cstring>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace crescent::reward::math_internal {

bool OneOf(const std::string& s, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (s == name) return true;
  }
  return false;
}

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && IsSpace(s[b])) ++b;
  while (e > b && IsSpace(s[e - 1])) --e;
  return s.substr(b, e - b);
}

std::string Compact(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (!IsSpace(s[i])) {
      out += s[i];
    } else if (!out.empty() && IsDigit(out.back()) && i + 1 < s.size() && IsDigit(s[i + 1])) {
      out += ' ';
    }
  }
  return out;
}

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

namespace {

// A UTF-8 symbol's LaTeX spelling appended to out; the bytes it took, 0 if none.
size_t Utf8Symbol(const std::string& in, size_t i, std::string* out) {
  static const std::pair<const char*, const char*> kSymbols[] = {{"\xc2\xb0", ""},
                                                                 {"\xe2\x88\x92", "-"},
                                                                 {"\xc3\x97", "*"},
                                                                 {"\xc2\xb7", "*"},
                                                                 {"\xe2\x8b\x85", "*"},
                                                                 {"\xcf\x80", "\\pi "},
                                                                 {"\xe2\x88\x9e", "\\infty "},
                                                                 {"\xe2\x88\x9a", "\\sqrt "},
                                                                 {"\xe2\x88\xaa", "\\cup "},
                                                                 {"\xc2\xb1", "\\pm "}};
  for (const auto& [from, to] : kSymbols) {
    const size_t n = std::strlen(from);
    if (in.compare(i, n, from) == 0) {
      *out += to;
      return n;
    }
  }
  return 0;
}

// ^\circ, ^{\circ} and \degree go: drops the '^' (and the "^{" whose '}' is
// still to come) that out ends with.
void DropDegree(std::string* out, std::vector<bool>* drop_close) {
  while (!out->empty() && out->back() == ' ') out->pop_back();
  if (!out->empty() && out->back() == '^') {
    out->pop_back();
  } else if (out->size() >= 2 && out->compare(out->size() - 2, 2, "^{") == 0 &&
             !drop_close->empty()) {
    out->resize(out->size() - 2);
    drop_close->back() = true;
  }
}

// A backslash followed by a non-letter at in[i]; returns the index after it.
size_t NormaliseSymbol(const std::string& in, size_t i, std::string* out) {
  const char next = i + 1 < in.size() ? in[i + 1] : ' ';
  switch (next) {
    case '\\':  // "\\frac": an over-escaped backslash; otherwise a line break
      if (i + 2 < in.size() && IsLetter(in[i + 2])) return i + 1;
      *out += ' ';
      return i + 2;
    case '{':
    case '}':
      *out += '\\';
      *out += next;
      return i + 2;
    case '%':
      *out += '%';
      return i + 2;
    case '!': {  // "32,\! 349": the comma was a thousands separator
      size_t j = i + 2;
      while (j < in.size() && IsSpace(in[j])) ++j;
      if (out->size() >= 2 && out->back() == ',' && IsDigit((*out)[out->size() - 2]) &&
          j < in.size() && IsDigit(in[j])) {
        out->pop_back();
        return j;
      }
      return i + 2;
    }
    case '$':  // \$ and the math delimiters \( \) \[ \]
    case '(':
    case ')':
    case '[':
    case ']':
    case '#':
    case '&':
      return i + 2;
    default:  // spacing: \, \; \: "\ "
      *out += ' ';
      return i + 2;
  }
}

// The command at in[i] ("\name"); returns the index after it.
size_t NormaliseCommand(const std::string& in, size_t i, std::string* out,
                        std::vector<bool>* drop_close) {
  size_t j = i + 1;
  while (j < in.size() && IsLetter(in[j])) ++j;
  const std::string name = in.substr(i + 1, j - i - 1);
  if (name.empty()) return NormaliseSymbol(in, i, out);
  if (OneOf(name, {"left", "right"})) return j < in.size() && in[j] == '.' ? j + 1 : j;
  if (OneOf(name, {"text", "textnormal", "textrm", "textbf", "textit", "mbox", "mathrm", "mathbf",
                   "mathit", "operatorname", "boxed", "fbox"})) {
    // The argument stays, the braces go: \text{5 cm} -> " 5 cm ".
    size_t k = j;
    while (k < in.size() && IsSpace(in[k])) ++k;
    if (k < in.size() && in[k] == '{') {
      drop_close->push_back(true);
      *out += ' ';
      return k + 1;
    }
    return j;
  }
  if (OneOf(name, {"dfrac", "tfrac", "cfrac"})) {
    *out += "\\frac";
  } else if (OneOf(name, {"cdot", "times", "ast"})) {
    *out += '*';
  } else if (name == "div") {
    *out += '/';
  } else if (name == "in") {  // "x \in [1, 2]" is read as an assignment
    *out += '=';
  } else if (OneOf(name, {"circ", "degree"})) {
    DropDegree(out, drop_close);
  } else if (OneOf(name, {"quad", "qquad"})) {
    *out += ' ';
  } else if (name == "lbrace" || name == "rbrace") {
    *out += name == "lbrace" ? "\\{" : "\\}";
  } else if (!OneOf(name, {"displaystyle", "big", "Big", "bigl", "bigr", "Bigl", "Bigr", "limits",
                           "mathstrut"})) {
    *out += '\\' + name;
  }
  return j;
}

// A plain word: "and"/"or" separate answers, "percent"/"pct" is '%'.
std::string NormaliseWord(const std::string& word) {
  const std::string lower = Lower(word);
  if (lower == "and" || lower == "or") return " , ";
  if (lower == "percent" || lower == "pct") return "%";
  return word;
}

// "7,425,000" -> "7425000" outside brackets (inside them a comma separates
// elements: "(1,500)" is a pair), and "1 000" -> "1000" anywhere.
std::string MergeThousands(const std::string& s) {
  std::string out;
  int depth = 0;
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    const bool escaped = i > 0 && s[i - 1] == '\\';
    if (c == '(' || c == '[' || (c == '{' && escaped)) ++depth;
    if (c == ')' || c == ']' || (c == '}' && escaped)) --depth;
    const bool starts_number =
        IsDigit(c) && (i == 0 || !(IsDigit(s[i - 1]) || s[i - 1] == '.' || s[i - 1] == ','));
    if (!starts_number) {
      out += c;
      ++i;
      continue;
    }
    size_t j = i;
    while (j < s.size() && IsDigit(s[j])) ++j;
    out.append(s, i, j - i);
    if (j - i <= 3 && c != '0') {
      for (char separator : {',', ' '}) {
        if (separator == ',' && depth > 0) continue;
        size_t k = j;
        std::string groups;
        while (k + 3 < s.size() && s[k] == separator && IsDigit(s[k + 1]) && IsDigit(s[k + 2]) &&
               IsDigit(s[k + 3]) && (k + 4 == s.size() || !IsDigit(s[k + 4]))) {
          groups.append(s, k + 1, 3);
          k += 4;
        }
        if (!groups.empty()) {
          out += groups;
          j = k;
          break;
        }
      }
    }
    i = j;
  }
  return out;
}

}  // namespace

std::string Normalise(const std::string& in) {
  std::string out;
  std::vector<bool> drop_close;  // per open '{': whether its '}' goes (\text{...})
  for (size_t i = 0; i < in.size();) {
    const char c = in[i];
    if (c == '\\') {
      i = NormaliseCommand(in, i, &out, &drop_close);
    } else if (IsLetter(c)) {
      size_t j = i;
      while (j < in.size() && IsLetter(in[j])) ++j;
      out += NormaliseWord(in.substr(i, j - i));
      i = j;
    } else if (c == '{' && in.compare(i, 3, "{,}") == 0) {  // "1{,}000"
      if (out.empty() || !IsDigit(out.back())) out += ',';
      i += 3;
    } else if (c == '{') {
      drop_close.push_back(false);
      out += '{';
      ++i;
    } else if (c == '}') {
      const bool drop = !drop_close.empty() && drop_close.back();
      if (!drop_close.empty()) drop_close.pop_back();
      out += drop ? ' ' : '}';
      ++i;
    } else if (c == '$') {
      ++i;
    } else if (IsSpace(c) || c == '~') {
      out += ' ';
      ++i;
    } else if (static_cast<unsigned char>(c) >= 0x80) {
      const size_t n = Utf8Symbol(in, i, &out);
      if (n == 0) out += c;
      i += n == 0 ? 1 : n;
    } else {
      out += c;
      ++i;
    }
  }
  // One space at most, none at the ends, no trailing period.
  std::string tidy;
  for (char c : out) {
    if (c == ' ' && (tidy.empty() || tidy.back() == ' ')) continue;
    tidy += c;
  }
  while (!tidy.empty() && (tidy.back() == ' ' || tidy.back() == '.')) tidy.pop_back();
  return MergeThousands(tidy);
}

}  // namespace crescent::reward::math_internal
