#include "reward/code_reward.hpp"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "common/util/log.hpp"
#include "common/util/parallel.hpp"

namespace crescent::reward {
namespace {

using json = nlohmann::json;

// What the compiler gets: more than a test case, since it is trusted to end.
SandboxLimits CompileLimits() {
  SandboxLimits l;
  l.cpu_s = 30;
  l.wall_s = 60;
  l.memory_mb = 2048;
  l.file_mb = 64;
  l.tmp_mb = 256;
  l.output_kb = 256;
  return l;
}

std::string NormalLanguage(std::string tag) {
  std::transform(tag.begin(), tag.end(), tag.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (tag == "python" || tag == "py" || tag == "python3") return "python";
  if (tag == "cpp" || tag == "c++" || tag == "cc" || tag == "cxx") return "cpp";
  return tag;
}

std::string Excerpt(const std::string& text, size_t limit = 200) {
  return text.size() <= limit ? text : text.substr(0, limit) + "...";
}

// The end of a program's stderr, where the error that ended it is.
std::string Tail(const std::string& text, size_t limit = 300) {
  return text.size() <= limit ? text : "..." + text.substr(text.size() - limit);
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    lines.push_back(line);
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

// "line 3: expected \"7\", got \"8\"" for the first line that differs.
std::string FirstDifference(const std::string& expected, const std::string& got) {
  const std::vector<std::string> e = Lines(expected), g = Lines(got);
  for (size_t i = 0; i < std::max(e.size(), g.size()); ++i) {
    const std::string a = i < e.size() ? e[i] : "(nothing)", b = i < g.size() ? g[i] : "(nothing)";
    if (i >= e.size() || i >= g.size() || a != b) {
      return StrCat("line ", i + 1, ": expected ", json(Excerpt(a, 80)).dump(), ", got ",
                    json(Excerpt(b, 80)).dump());
    }
  }
  return "";
}

// Sandboxed runs going on at once, across every sample of this function.
class Slots {
 public:
  explicit Slots(int64_t n) : free_(n) {}
  void Acquire() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return free_ > 0; });
    --free_;
  }
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++free_;
    }
    cv_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t free_;
};

struct Case {
  std::string input, output;
};

// A sample's tests: stdin/stdout cases, or one script.
struct Tests {
  std::vector<Case> cases;
  std::string script, script_language;  // script tests
};

// What a sample's program is, once written (and compiled) in its directory.
struct Program {
  std::unique_ptr<SandboxDir> dir;
  std::vector<std::string> argv;
  std::string compile_error;  // non-empty: it did not compile
};

class CodeReward : public RewardFunction {
 public:
  CodeReward(std::unique_ptr<Sandbox> sandbox, const RewardOptions& options)
      : sandbox_(std::move(sandbox)), options_(options), slots_(options.sandboxes) {}

  bool concurrent() const override { return true; }

  Outcome Score(const task::Prompt& prompt, const std::string& response) const override {
    const auto meta = [&](const std::string& key) -> const std::string* {
      auto it = prompt.metadata.find(key);
      return it == prompt.metadata.end() ? nullptr : &it->second;
    };
    std::string language;
    if (const std::string* l = meta("language")) {
      language = NormalLanguage(*l);
      if (language != "python" && language != "cpp") {
        return Fail(StrCat("metadata \"language\" is \"", *l, "\"; supported: python, cpp"));
      }
    }
    const std::string* tests_text = meta("tests");
    if (!tests_text) return Fail("the prompt has no \"tests\" metadata");
    Tests tests;
    if (std::string problem = ParseTests(*tests_text, &tests); !problem.empty()) {
      return Fail(StrCat("metadata \"tests\": ", problem));
    }
    const std::optional<CodeBlock> block = ExtractCode(response, language);
    if (!block) return Wrong({{"problem", "no code block"}});
    const std::string lang =
        block->language.empty() ? (language.empty() ? "python" : language) : block->language;
    if (lang != "python" && lang != "cpp") {
      return Wrong({{"problem", StrCat("a ", lang, " code block; supported: python, cpp")}});
    }
    if (options_.filter_tests && tests.script.empty()) {
      if (const std::string* solutions = meta("solutions")) {
        std::string problem;
        const std::vector<Case> kept =
            FilteredCases(StrCat(prompt.id, "\n", *tests_text, "\n", *solutions), *solutions, lang,
                          tests, &problem);
        if (!problem.empty()) return Fail(problem);
        tests.cases = kept;
      }
    }
    Program program = Prepare(block->code, lang);
    json details = {{"language", lang}};
    if (!program.compile_error.empty()) {
      details["compile_error"] = Excerpt(program.compile_error, 2000);
      return Wrong(details);
    }
    return Run(program, tests, details);
  }

 private:
  Outcome Fail(const std::string& reason) const {
    return {0, false, true, StrCat("code: ", reason), ""};
  }
  static Outcome Wrong(const json& details) { return {0, false, true, "", details.dump()}; }

  static std::string ParseTests(const std::string& text, Tests* tests) {
    const json j = json::parse(text, nullptr, false);
    if (j.is_object() && j.contains("script")) {
      if (!j["script"].is_string()) return "\"script\" is not a string";
      tests->script = j["script"];
      tests->script_language = j.value("language", "python");
      if (tests->script_language != "python" && tests->script_language != "bash")
        return StrCat("script language \"", tests->script_language, "\"; supported: python, bash");
      return "";
    }
    if (!j.is_array() || j.empty()) {
      return "expected a list of {\"input\", \"output\"} cases or {\"script\", \"language\"}";
    }
    for (size_t i = 0; i < j.size(); ++i) {
      const json& c = j[i];
      if (!c.is_object() || !c.contains("input") || !c.contains("output") ||
          !c["input"].is_string() || !c["output"].is_string()) {
        return StrCat("case ", i, " is not {\"input\": string, \"output\": string}");
      }
      tests->cases.push_back({c["input"], c["output"]});
    }
    return "";
  }

  // Writes the code into a fresh directory and compiles it (C++).
  Program Prepare(const std::string& code, const std::string& lang) const {
    Program p;
    p.dir = sandbox_->NewDir();
    if (lang == "python") {
      p.dir->Write("solution.py", code);
      p.argv = {"python3", "solution.py"};
      return p;
    }
    p.dir->Write("solution.cpp", code);
    slots_.Acquire();
    const SandboxResult r =
        sandbox_->Run(*p.dir, {"g++", "-O2", "-std=c++17", "-o", "solution", "solution.cpp"}, "",
                      CompileLimits(), /*writable_dir=*/true);
    slots_.Release();
    if (!r.Passed()) p.compile_error = r.err.empty() ? r.Describe() : r.err;
    p.argv = {"./solution"};
    return p;
  }

  // Runs every case (or the script); the reward and the details.
  Outcome Run(const Program& program, const Tests& tests, json details) const {
    if (!tests.script.empty()) {
      const bool python = tests.script_language == "python";
      program.dir->Write(python ? "test_solution.py" : "test_solution.sh", tests.script);
      const SandboxResult r = RunOne(
          program, {python ? "python3" : "bash", python ? "test_solution.py" : "test_solution.sh"},
          "");
      details["script"] = r.Passed() ? "passed" : r.Describe();
      if (!r.Passed() && !r.err.empty()) details["stderr"] = Tail(r.err, 1000);
      return {r.Passed() ? 1.0 : 0.0, r.Passed(), true, "", details.dump()};
    }
    const size_t n = tests.cases.size();
    std::vector<std::string> failures(n);
    ParallelFor(n, options_.sandboxes, [&](size_t i) {
      const SandboxResult r = RunOne(program, program.argv, tests.cases[i].input);
      if (!r.Passed()) {
        failures[i] = r.Describe();
        if (!r.err.empty()) failures[i] += StrCat("; stderr: ", Tail(r.err));
      } else if (!SameOutput(tests.cases[i].output, r.out)) {
        failures[i] = StrCat("wrong answer: ", FirstDifference(tests.cases[i].output, r.out));
      }
    });
    size_t passed = 0;
    json failed = json::array();
    for (size_t i = 0; i < n; ++i) {
      if (failures[i].empty()) {
        ++passed;
      } else if (failed.size() < 3) {
        failed.push_back({{"case", i}, {"reason", failures[i]}});
      }
    }
    details["cases"] = n;
    details["passed"] = passed;
    if (!failed.empty()) details["failed"] = failed;
    const bool all = passed == n;
    const double reward = options_.partial_credit ? static_cast<double>(passed) / n : all;
    return {reward, all, true, "", details.dump()};
  }

  SandboxResult RunOne(const Program& program, const std::vector<std::string>& argv,
                       const std::string& input) const {
    slots_.Acquire();
    SandboxResult r = sandbox_->Run(*program.dir, argv, input, options_.code_limits);
    slots_.Release();
    return r;
  }

  // Kimi k1.5's filter: the cases that most reference solutions pass,
  // computed once per prompt.
  // `key` names the prompt, its tests and its solutions.
  std::vector<Case> FilteredCases(const std::string& key, const std::string& solutions_text,
                                  const std::string& lang, const Tests& tests,
                                  std::string* problem) const {
    {
      std::lock_guard<std::mutex> lock(filter_mu_);
      if (auto it = filtered_.find(key); it != filtered_.end()) return it->second;
    }
    const json solutions = json::parse(solutions_text, nullptr, false);
    if (!solutions.is_array() || solutions.empty()) {
      *problem = "metadata \"solutions\": expected a list of programs";
      return {};
    }
    std::vector<int> passes(tests.cases.size(), 0);
    for (const json& s : solutions) {
      if (!s.is_string()) {
        *problem = "metadata \"solutions\": expected a list of programs";
        return {};
      }
      const std::optional<CodeBlock> block = ExtractCode(s.get<std::string>(), lang);
      const Program program = Prepare(block ? block->code : s.get<std::string>(), lang);
      if (!program.compile_error.empty()) continue;
      ParallelFor(tests.cases.size(), options_.sandboxes, [&](size_t i) {
        const SandboxResult r = RunOne(program, program.argv, tests.cases[i].input);
        if (r.Passed() && SameOutput(tests.cases[i].output, r.out)) {
          std::lock_guard<std::mutex> lock(filter_mu_);
          ++passes[i];
        }
      });
    }
    std::vector<Case> kept;
    for (size_t i = 0; i < tests.cases.size(); ++i) {
      if (2 * passes[i] > static_cast<int>(solutions.size())) kept.push_back(tests.cases[i]);
    }
    if (kept.empty()) {
      *problem = StrCat("no test case is passed by most of the ", solutions.size(),
                        " reference solutions (reward.code_filter_tests)");
      return {};
    }
    std::lock_guard<std::mutex> lock(filter_mu_);
    filtered_[key] = kept;
    return kept;
  }

  std::unique_ptr<Sandbox> sandbox_;
  RewardOptions options_;
  mutable Slots slots_;
  mutable std::mutex filter_mu_;
  mutable std::map<std::string, std::vector<Case>> filtered_;
};

}  // namespace

std::optional<CodeBlock> ExtractCode(const std::string& response, const std::string& language) {
  const std::string text = AfterThinking(response);
  std::optional<CodeBlock> found, open;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const size_t start = line.find_first_not_of(" \t");
    const bool fence = start != std::string::npos && line.compare(start, 3, "```") == 0;
    if (!open) {
      if (fence) {
        std::string tag = line.substr(start + 3);
        while (!tag.empty() && std::isspace(static_cast<unsigned char>(tag.back()))) tag.pop_back();
        open = CodeBlock{NormalLanguage(tag), ""};
      }
    } else if (fence && line.find_first_not_of(" \t`\r", start) == std::string::npos) {
      if (language.empty() || open->language.empty() || open->language == language) found = open;
      open.reset();
    } else {
      open->code += line + "\n";
    }
  }
  return found;
}

bool SameOutput(const std::string& expected, const std::string& got) {
  return Lines(expected) == Lines(got);
}

std::unique_ptr<RewardFunction> MakeCodeReward(const RewardOptions& options) {
  return std::make_unique<CodeReward>(Sandbox::Make(), options);
}

}  // namespace crescent::reward
