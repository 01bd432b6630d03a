// eval.data_file: a run evaluates a JSONL set beside the held-out set, and
// its figure is what `crescent eval` gives for the same policy.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/task/arithmetic.hpp"
#include "tests/common/process.hpp"
#include "tests/launch/key_jobs.hpp"

using namespace std::chrono_literals;
using namespace crescent::testing::keys;
using crescent::testing::KillProcessTree;
using crescent::testing::Process;
using crescent::testing::TempDir;
namespace fs = std::filesystem;

namespace {

// `crescent eval smoke.yaml --set run.dir=DIR --data FILE [--model MODEL]`:
// its JSON line (its output in DIR/eval-NAME.log). No MODEL: the policy the
// run stands at.
json Eval(const std::string& dir, const std::string& data, const std::string& name,
          const std::string& model = "") {
  std::vector<std::string> argv = Command("eval", dir, {});
  argv.insert(argv.end(), {"--data", data});
  if (!model.empty()) argv.insert(argv.end(), {"--model", model});
  Process eval(argv, dir + "/eval-" + name + ".log");
  const int rc = eval.Wait(120s);
  INFO(eval.Output());
  REQUIRE(rc == 0);
  std::istringstream lines(eval.Output());
  json last;
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("{", 0) == 0) last = json::parse(line);
  REQUIRE(last.contains("greedy_accuracy"));
  return last;
}

}  // namespace

TEST_CASE("eval.data_file: a run's data_file_accuracy equals crescent eval on its checkpoints",
          "[launch][keys]") {
  const std::string dir = TempDir("crescent-keys-evaldata");
  CopyModel(dir + "/sft");
  // The held-out problems of smoke.yaml's task (seed 1, level 1, 10 of
  // them) as JSONL, ids the line numbers. The short SFT rarely answers
  // right, so that accuracy is not 0, the first five expect the SFT model's
  // own greedy responses (crescent generate, rollout.max_response_tokens 8);
  // the last five the true answers.
  const crescent::task::ArithmeticTask task(1, 1, 1, 10);
  const std::string prompts = dir + "/prompts.jsonl", data = dir + "/data.jsonl";
  {
    std::ofstream out(prompts);
    for (const auto& p : task.Heldout()) out << json{{"prompt", p.prompt}}.dump() << "\n";
  }
  Process generate({kCrescent, "generate", "--model", dir + "/sft", "--input", prompts,
                    "--max-tokens", "8", "--output", dir + "/responses.jsonl"},
                   dir + "/generate.log");
  REQUIRE(generate.Wait(60s) == 0);
  const std::vector<json> responses = JsonLines(dir + "/responses.jsonl");
  REQUIRE(responses.size() == 10);
  {
    std::ofstream out(data);
    for (size_t i = 0; i < 10; ++i) {
      const std::string answer =
          i < 5 ? responses[i]["response"].get<std::string>() : task.Heldout()[i].answer;
      out << json{{"prompt", task.Heldout()[i].prompt}, {"answer", answer}}.dump() << "\n";
    }
  }
  const Job job = RunToEnd(dir, {"run.iterations=2", "eval.data_file=" + data});
  INFO(job.output);
  std::map<std::string, json> heldout, data_file;  // by "eval": when
  for (const json& j : job.evals)
    (j.contains("data_file_accuracy") ? data_file : heldout)[j["eval"]] = j;
  REQUIRE(data_file.size() == 2);
  REQUIRE(heldout.size() == 2);
  for (const char* when : {"before RL", "iteration 2"}) {
    INFO(when);
    REQUIRE(data_file.count(when));
    CHECK(data_file[when]["problems"] == 10);
    CHECK(data_file[when]["data_file_mean_reward"] == data_file[when]["data_file_accuracy"]);
    CHECK(data_file[when]["policy_version"] == heldout[when]["policy_version"]);
  }
  // The SFT model's own responses are right for it.
  CHECK(data_file["before RL"]["data_file_accuracy"].get<double>() >= 0.5);
  CHECK(job.output.find("] eval before RL: eval.data_file accuracy ") != std::string::npos);
  CHECK(job.output.find("eval.data_file accuracy: ") != std::string::npos);  // the summary
  const json& after = data_file["iteration 2"];
  REQUIRE(after["policy_version"] > 0);

  // The starting policy, the run's latest checkpoint, and that checkpoint
  // exported: crescent eval gives the run's figures.
  json e = Eval(dir, data, "sft", dir + "/sft");
  CHECK(e["greedy_accuracy"] == data_file["before RL"]["data_file_accuracy"]);
  CHECK(e["greedy_mean_reward"] == data_file["before RL"]["data_file_mean_reward"]);
  e = Eval(dir, data, "latest");
  CHECK(e["policy"] == dir + "/checkpoints/" + CheckpointName(after["policy_version"]));
  CHECK(e["greedy_accuracy"] == after["data_file_accuracy"]);
  Process exported({kCrescent, "export", dir, dir + "/exported"}, dir + "/export.log");
  REQUIRE(exported.Wait(60s) == 0);
  e = Eval(dir, data, "exported", dir + "/exported");
  CHECK(e["greedy_accuracy"] == after["data_file_accuracy"]);
  CHECK(e["greedy_mean_reward"] == after["data_file_mean_reward"]);
}

TEST_CASE("eval.data_file: a bad line is named before mpirun starts", "[launch][keys]") {
  const std::string dir = TempDir("crescent-keys-evaldata-bad");
  CopyModel(dir + "/sft");
  const std::string data = dir + "/data.jsonl";
  std::ofstream(data) << "{\"prompt\": \"1+1=\", \"answer\": \"2\"}\n{\"answer\": \"3\"}\n";
  Process job(Command("run", dir, {"eval.data_file=" + data}), dir + "/out.log");
  const int rc = job.Wait(60s);
  if (rc == -1) KillProcessTree(job.pid());
  const std::string out = job.Output();
  INFO(out);
  CHECK(rc != 0);
  CHECK(rc != -1);
  CHECK(out.find("eval.data_file (") != std::string::npos);
  CHECK(out.find(data + ":2: neither \"prompt\" nor \"messages\"") != std::string::npos);
  CHECK(out.find(" worker ") == std::string::npos);  // mpirun was never started
}
