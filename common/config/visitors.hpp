// Internal to crescent_config: the visitors that walk a Config's schema
// (schema.cpp, the `Visit` of each section): Parser fills it from YAML,
// Emitter prints it as YAML, Documenter prints the Markdown reference.
//
// A field is stored in its consumer's type (an enum, std::chrono::milliseconds,
// a byte count) and read and written in YAML as its Codec<T>::Yaml type: one of
// integer, number, boolean, string, list of strings, or one of the reward
// section's structured types (a list of reward functions, a map of domains to
// such lists; reward_functions.cpp).
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/config/config.hpp"
#include "common/util/log.hpp"

namespace crescent::config::internal {

// A field check returns "" when the value is fine, else what was expected. An
// empty Check accepts anything.
template <class T>
using Check = std::function<std::string(const T&)>;

Check<int64_t> AtLeast(int64_t low);
Check<int64_t> PortNumber();
Check<double> Positive();
Check<double> NonNegative();
Check<double> Fraction();
Check<double> FractionBelowOne();  // 0 <= x < 1
Check<std::string> NonEmpty();

// "expected one of a, b, c"
std::string ExpectedOneOf(const std::vector<std::string>& names);

// ---- codecs: stored type <-> YAML type --------------------------------------

template <class T, class = void>
struct Codec {
  using Yaml = T;
  static Yaml Encode(const T& v) { return v; }
  static std::string Decode(const Yaml& y, T& v) {
    v = y;
    return "";
  }
};

// An enumerated choice: written as its name (ChoicesOf in config.hpp).
template <class E>
struct Codec<E, std::enable_if_t<std::is_enum_v<E>>> {
  using Yaml = std::string;
  static Yaml Encode(const E& v) { return ChoiceName(v); }
  static std::string Decode(const Yaml& y, E& v) {
    std::vector<std::string> names;
    for (const auto& c : ChoicesOf(static_cast<const E*>(nullptr))) {
      if (y == c.name) {
        v = c.value;
        return "";
      }
      names.push_back(c.name);
    }
    return ExpectedOneOf(names);
  }
};

// A list of enumerated choices: a list of their names.
template <class E>
struct Codec<std::vector<E>, std::enable_if_t<std::is_enum_v<E>>> {
  using Yaml = std::vector<std::string>;
  static Yaml Encode(const std::vector<E>& v) {
    Yaml names;
    for (const E& e : v) names.push_back(ChoiceName(e));
    return names;
  }
  static std::string Decode(const Yaml& y, std::vector<E>& v) {
    std::vector<E> values(y.size());
    for (size_t i = 0; i < y.size(); ++i) {
      const std::string problem = Codec<E>::Decode(y[i], values[i]);
      if (!problem.empty()) return StrCat(problem, " in each item");
    }
    v = values;
    return "";
  }
};

// Integers narrower than int64_t or unsigned: range-checked.
template <class I>
struct Codec<I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, int64_t> &&
                                 !std::is_same_v<I, bool>>> {
  using Yaml = int64_t;
  static Yaml Encode(const I& v) { return static_cast<int64_t>(v); }
  static std::string Decode(const Yaml& y, I& v) {
    if constexpr (std::is_unsigned_v<I>) {
      if (y < 0) return "expected an integer >= 0";
      if (static_cast<uint64_t>(y) > std::numeric_limits<I>::max())
        return StrCat("expected an integer <= ", std::numeric_limits<I>::max());
    } else {
      if (y < std::numeric_limits<I>::min() || y > std::numeric_limits<I>::max())
        return StrCat("expected an integer in ", std::numeric_limits<I>::min(), "..",
                      std::numeric_limits<I>::max());
    }
    v = static_cast<I>(y);
    return "";
  }
};

// Milliseconds: an integer count.
template <>
struct Codec<std::chrono::milliseconds> {
  using Yaml = int64_t;
  static Yaml Encode(const std::chrono::milliseconds& v) { return v.count(); }
  static std::string Decode(const Yaml& y, std::chrono::milliseconds& v) {
    v = std::chrono::milliseconds(y);
    return "";
  }
};

// A byte count written in MiB: `v.Field("max_message_mb", Mebibytes{bytes}, ...)`.
struct Mebibytes {
  size_t& bytes;
};
template <>
struct Codec<Mebibytes> {
  using Yaml = int64_t;
  static Yaml Encode(const Mebibytes& v) { return static_cast<int64_t>(v.bytes >> 20); }
  static std::string Decode(const Yaml& y, Mebibytes& v) {
    v.bytes = static_cast<size_t>(y) << 20;
    return "";
  }
};

template <class T>
using YamlOf = typename Codec<std::decay_t<T>>::Yaml;

const char* TypeName(const int64_t*);
const char* TypeName(const double*);
const char* TypeName(const bool*);
const char* TypeName(const std::string*);
const char* TypeName(const std::vector<std::string>*);
const char* TypeName(const std::vector<RewardFunctionSpec>*);
const char* TypeName(const std::map<std::string, std::vector<RewardFunctionSpec>>*);

std::string Join(const std::string& prefix, const char* key);
std::string Quote(const std::string& s);
// How a YAML node reads in an error: "a map", "a list", "nothing", "\"text\"".
std::string Describe(const YAML::Node& node);

// ---- parsing ----------------------------------------------------------------

bool ParseScalar(const YAML::Node& n, int64_t* out);
bool ParseScalar(const YAML::Node& n, double* out);
bool ParseScalar(const YAML::Node& n, bool* out);
bool ParseScalar(const YAML::Node& n, std::string* out);
bool ParseScalar(const YAML::Node& n, std::vector<std::string>* out);

inline const char* Article(const char* type) {
  return (type[0] == 'a' || type[0] == 'i') ? "an " : "a ";
}

// Reads a field's YAML value: "" when it has the field's YAML type, else what
// was expected. The structured types say which item is wrong and why.
template <class Y>
std::string ParseYaml(const YAML::Node& n, Y* out) {
  if (ParseScalar(n, out)) return "";
  const char* type = TypeName(out);
  return StrCat("expected ", Article(type), type);
}
std::string ParseYaml(const YAML::Node& n, std::vector<RewardFunctionSpec>* out);
std::string ParseYaml(const YAML::Node& n,
                      std::map<std::string, std::vector<RewardFunctionSpec>>* out);

class Parser {
 public:
  Parser(const YAML::Node& node, std::string prefix, const std::string& source,
         const std::set<std::string>& overridden, std::map<std::string, std::string>* provenance)
      : node_(node),
        prefix_(std::move(prefix)),
        source_(source),
        overridden_(overridden),
        provenance_(provenance) {}

  std::string Where(const std::string& key, const YAML::Node& n) const;
  [[noreturn]] void Fail(const std::string& key, const YAML::Node& n, const std::string& what,
                         const std::string& got) const;

  template <class T>
  void Field(const char* name, T&& value, const char* /*doc*/, Check<YamlOf<T>> check = {}) {
    using C = Codec<std::decay_t<T>>;
    using Y = typename C::Yaml;
    seen_.insert(name);
    const std::string key = Join(prefix_, name);
    if (!node_ || !node_.IsMap() || !node_[name]) {
      (*provenance_)[key] = "default";
      return;
    }
    const YAML::Node n = node_[name];
    Y parsed{};
    std::string problem = ParseYaml(n, &parsed);
    if (!problem.empty()) Fail(key, n, problem, Describe(n));
    problem = check ? check(parsed) : "";
    if (problem.empty()) problem = C::Decode(parsed, value);
    if (!problem.empty()) Fail(key, n, problem, Describe(n));
    (*provenance_)[key] = Where(key, n);
  }

  template <class S>
  void Section(const char* name, S& section, const char* /*doc*/) {
    seen_.insert(name);
    const std::string key = Join(prefix_, name);
    YAML::Node child;
    if (node_ && node_.IsMap() && node_[name]) {
      child = node_[name];
      if (!child.IsMap() && !child.IsNull())
        Fail(key, child, "expected a map of keys", Describe(child));
    }
    Parser sub(child, key, source_, overridden_, provenance_);
    section.Visit(sub);
    sub.RejectUnknown();
  }

  // Throws for a key of this map that no Field or Section named.
  void RejectUnknown() const;

 private:
  YAML::Node node_;
  std::string prefix_;
  const std::string& source_;
  const std::set<std::string>& overridden_;
  std::map<std::string, std::string>* provenance_;
  std::set<std::string> seen_;
};

// ---- printing ---------------------------------------------------------------

class Emitter {
 public:
  explicit Emitter(YAML::Emitter& out) : out_(out) {}
  template <class T>
  void Field(const char* name, T&& value, const char*, Check<YamlOf<T>> = {}) {
    out_ << YAML::Key << name << YAML::Value;
    Emit(Codec<std::decay_t<T>>::Encode(value));
  }
  template <class S>
  void Section(const char* name, S& section, const char*) {
    out_ << YAML::Key << name << YAML::Value << YAML::BeginMap;
    section.Visit(*this);
    out_ << YAML::EndMap;
  }

 private:
  void Emit(const int64_t& v);
  void Emit(const double& v);
  void Emit(const bool& v);
  void Emit(const std::string& v);
  void Emit(const std::vector<std::string>& v);
  void Emit(const std::vector<RewardFunctionSpec>& v);
  void Emit(const std::map<std::string, std::vector<RewardFunctionSpec>>& v);
  YAML::Emitter& out_;
};

class Documenter {
 public:
  explicit Documenter(std::ostream& out) : out_(out) {}
  template <class T>
  void Field(const char* name, T&& value, const char* doc, Check<YamlOf<T>> = {}) {
    const YamlOf<T> shown = Codec<std::decay_t<T>>::Encode(value);
    out_ << "| `" << Join(prefix_, name) << "` | " << TypeName(&shown) << " | `" << Default(shown)
         << "` | " << doc << " |\n";
  }
  template <class S>
  void Section(const char* name, S& section, const char* doc) {
    std::string saved = prefix_;
    prefix_ = Join(prefix_, name);
    out_ << "\n## `" << prefix_ << "`\n\n"
         << doc << "\n\n| key | type | default | meaning |\n"
         << "|---|---|---|---|\n";
    section.Visit(*this);
    prefix_ = saved;
  }

 private:
  static std::string Default(const int64_t& v);
  static std::string Default(const double& v);
  static std::string Default(const bool& v);
  static std::string Default(const std::string& v);
  static std::string Default(const std::vector<std::string>& v);
  static std::string Default(const std::vector<RewardFunctionSpec>& v);
  static std::string Default(const std::map<std::string, std::vector<RewardFunctionSpec>>& v);
  std::ostream& out_;
  std::string prefix_;
};

// ---- cross-key rules (validate.cpp) -------------------------------------------

// Rules between keys; throws a ConfigError naming the key at fault.
void Validate(const Config& config);

}  // namespace crescent::config::internal
