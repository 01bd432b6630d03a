#include "common/config/visitors.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace crescent::config::internal {
namespace {

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

Check<int64_t> AtLeast(int64_t low) {
  return [low](const int64_t& v) {
    return v >= low ? std::string() : StrCat("expected an integer >= ", low);
  };
}
Check<int64_t> PortNumber() {
  return [](const int64_t& v) {
    return v >= 0 && v <= 65535 ? std::string() : "expected a port number in 0..65535";
  };
}
Check<double> Positive() {
  return [](const double& v) {
    return v > 0 && std::isfinite(v) ? std::string() : "expected a positive number";
  };
}
Check<double> NonNegative() {
  return [](const double& v) {
    return v >= 0 && std::isfinite(v) ? std::string() : "expected a number >= 0";
  };
}
Check<double> Fraction() {
  return [](const double& v) {
    return v >= 0 && v <= 1 ? std::string() : "expected a number in 0..1";
  };
}
Check<double> FractionBelowOne() {
  return [](const double& v) {
    return v >= 0 && v < 1 ? std::string() : "expected a number >= 0 and < 1";
  };
}
std::string ExpectedOneOf(const std::vector<std::string>& names) {
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  return StrCat("expected one of ", list);
}
Check<std::string> NonEmpty() {
  return [](const std::string& v) { return v.empty() ? "expected a non-empty string" : ""; };
}

const char* TypeName(const int64_t*) { return "integer"; }
const char* TypeName(const double*) { return "number"; }
const char* TypeName(const bool*) { return "boolean"; }
const char* TypeName(const std::string*) { return "string"; }
const char* TypeName(const std::vector<std::string>*) { return "list of strings"; }

std::string Join(const std::string& prefix, const char* key) {
  return prefix.empty() ? key : prefix + "." + key;
}

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence: {
      std::string items;
      for (const auto& item : node) {
        if (!item.IsScalar()) return "a list";
        items += (items.empty() ? "" : ", ") + item.Scalar();
      }
      return "[" + items + "]";
    }
    case YAML::NodeType::Null:
      return "nothing";
    default:
      return Quote(node.Scalar());
  }
}

// ---- parsing ---------------------------------------------------------------

bool ParseScalar(const YAML::Node& n, int64_t* out) {
  if (!n.IsScalar()) return false;
  const std::string& s = n.Scalar();
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || errno != 0 || *end != '\0') return false;
  *out = v;
  return true;
}
bool ParseScalar(const YAML::Node& n, double* out) {
  if (!n.IsScalar()) return false;
  const std::string& s = n.Scalar();
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || errno != 0 || *end != '\0') return false;
  *out = v;
  return true;
}
bool ParseScalar(const YAML::Node& n, bool* out) {
  if (!n.IsScalar()) return false;
  const std::string& s = n.Scalar();
  if (s == "true" || s == "yes" || s == "on")
    *out = true;
  else if (s == "false" || s == "no" || s == "off")
    *out = false;
  else
    return false;
  return true;
}
bool ParseScalar(const YAML::Node& n, std::string* out) {
  if (n.IsNull()) {
    *out = "";
    return true;
  }
  if (!n.IsScalar()) return false;
  *out = n.Scalar();
  return true;
}
bool ParseScalar(const YAML::Node& n, std::vector<std::string>* out) {
  if (n.IsNull()) {
    out->clear();
    return true;
  }
  if (!n.IsSequence()) return false;
  std::vector<std::string> v;
  for (const auto& item : n) {
    if (!item.IsScalar()) return false;
    v.push_back(item.Scalar());
  }
  *out = v;
  return true;
}

std::string Parser::Where(const std::string& key, const YAML::Node& n) const {
  if (overridden_.count(key)) return "--set " + key;
  if (n.Mark().is_null()) return source_;
  return StrCat(source_, ":", n.Mark().line + 1);
}

void Parser::Fail(const std::string& key, const YAML::Node& n, const std::string& what,
                  const std::string& got) const {
  throw ConfigError(StrCat(key, ": ", what, ", got ", got, " (", Where(key, n), ")"));
}

void Parser::RejectUnknown() const {
  if (!node_ || !node_.IsMap()) return;
  for (const auto& kv : node_) {
    const std::string name = kv.first.as<std::string>();
    if (seen_.count(name)) continue;
    std::string hint;
    size_t best = 3;
    for (const auto& known : seen_) {
      size_t d = EditDistance(name, known);
      if (d < best) best = d, hint = known;
    }
    const std::string key = Join(prefix_, name.c_str());
    throw ConfigError(
        StrCat(key, ": unknown key",
               hint.empty() ? "" : "; did you mean " + Join(prefix_, hint.c_str()) + "?", " (",
               Where(key, kv.first), ")"));
  }
}

// ---- printing ---------------------------------------------------------------

void Emitter::Emit(const int64_t& v) { out_ << v; }
void Emitter::Emit(const double& v) { out_ << v; }
void Emitter::Emit(const bool& v) { out_ << (v ? "true" : "false"); }
void Emitter::Emit(const std::string& v) { out_ << YAML::DoubleQuoted << v; }
void Emitter::Emit(const std::vector<std::string>& v) {
  out_ << YAML::Flow << YAML::BeginSeq;
  for (const auto& s : v) out_ << s;
  out_ << YAML::EndSeq;
}

std::string Documenter::Default(const int64_t& v) { return std::to_string(v); }
std::string Documenter::Default(const double& v) {
  std::ostringstream os;
  os << v;
  return os.str();
}
std::string Documenter::Default(const bool& v) { return v ? "true" : "false"; }
std::string Documenter::Default(const std::string& v) { return Quote(v); }
std::string Documenter::Default(const std::vector<std::string>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s + "]";
}

}  // namespace crescent::config::internal
