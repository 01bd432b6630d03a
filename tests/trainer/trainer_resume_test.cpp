// The trainer through real processes: two MPI trainer ranks make the same
// update as one on the same global batch; and train requests run straight
// through equal, bit for bit, the same requests interrupted by a checkpoint,
// a SIGKILL and a restore (weights, Adam's state, the schedule step).
// LibTorch before Catch2: glog's CHECK must not replace Catch2's.
// clang-format off
#include "common/model/pretrained.hpp"
#include "trainer/optimizer.hpp"
#include "tests/trainer/adam_state.hpp"
#include <catch2/catch.hpp>
// clang-format on
#include <fstream>

#include "tests/common/process.hpp"

using namespace std::chrono_literals;
using crescent::testing::Process;
using crescent::testing::ReadFile;
using crescent::testing::TempDir;

namespace {

const std::vector<std::string> kSettings = {
    "--set", "model.hidden_size=16",   "--set", "model.intermediate_size=32",
    "--set", "model.layers=1",         "--set", "model.heads=2",
    "--set", "model.kv_heads=1",       "--set", "model.max_sequence=16",
    "--set", "trainer.lr=0.003",       "--set", "trainer.lr_schedule=cosine",
    "--set", "trainer.warmup_steps=1", "--set", "run.iterations=4"};

// trainer_steps under mpirun with `ranks` ranks; returns its exit code.
int Steps(int ranks, const std::string& dir, std::vector<std::string> args,
          const std::vector<std::string>& settings, Process** keep = nullptr) {
  std::vector<std::string> argv = {
      "mpirun", "--allow-run-as-root", "--oversubscribe", "-np", std::to_string(ranks), "--mca",
      "btl",    "self,vader,tcp",      TRAINER_STEPS,     dir};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), kSettings.begin(), kSettings.end());
  for (const auto& s : settings) argv.insert(argv.end(), {"--set", s});
  static int n = 0;
  auto* p = new Process(argv, dir + "/steps" + std::to_string(n++) + ".log");
  if (keep) {
    *keep = p;
    return 0;
  }
  const int rc = p->Wait(120s);
  if (rc != 0) FAIL_CHECK(p->Output());
  delete p;
  return rc;
}

// The optimizer state saved in `dir` (by Trainer::Save), for `model`'s parameters.
struct SavedOptimizer {
  SavedOptimizer(const std::string& dir)
      : model(crescent::model::LoadPretrained(dir)),
        optimizer(model->parameters(), crescent::trainer::LrSchedule{}) {
    crescent::trainer::LoadOptimizer(optimizer, crescent::trainer::OptimizerPath(dir));
  }
  // Adam's moments and step count of parameter i (empty when it has none).
  std::vector<torch::Tensor> State(size_t i) {
    const auto* adam = crescent::testing::AdamStateOf(optimizer.adam, model->parameters()[i]);
    if (!adam) return {};
    return {adam->exp_avg(), adam->exp_avg_sq(), torch::tensor(adam->step())};
  }
  crescent::model::Llama model;
  crescent::trainer::TrainerOptimizer optimizer;
};

}  // namespace

TEST_CASE("two trainer ranks make the same update as one on the same global batch",
          "[trainer][mpi]") {
  for (const char* algorithm : {"kimi", "grpo"}) {
    INFO(algorithm);
    const std::string one = TempDir("crescent-trainer-one"), two = TempDir("crescent-trainer-two");
    const std::vector<std::string> settings = {std::string("trainer.algorithm=") + algorithm};
    REQUIRE(Steps(1, one, {"0", "2", "--out", one + "/out"}, settings) == 0);
    REQUIRE(Steps(2, two, {"0", "2", "--out", two + "/out"}, settings) == 0);
    auto a = crescent::model::LoadPretrained(one + "/out");
    auto b = crescent::model::LoadPretrained(two + "/out");
    auto start = crescent::model::LoadPretrained(one + "/sft");
    const auto pa = a->parameters(), pb = b->parameters(), p0 = start->parameters();
    REQUIRE(pa.size() == pb.size());
    double moved = 0;
    for (size_t i = 0; i < pa.size(); ++i) {
      INFO("parameter " << i);
      CHECK(torch::allclose(pa[i], pb[i], 1e-4, 1e-6));
      moved = std::max(moved, (pa[i] - p0[i]).abs().max().item<double>());
    }
    CHECK(moved > 1e-3);  // the updates compared did change the weights
  }
}

TEST_CASE("train requests straight through equal them interrupted by checkpoint, SIGKILL, restore",
          "[trainer]") {
  for (const char* reset : {"false", "true"}) {
    INFO("reset_optimizer " << reset);
    const std::vector<std::string> settings = {std::string("trainer.reset_optimizer=") + reset};
    const std::string straight = TempDir("crescent-trainer-straight");
    REQUIRE(Steps(1, straight, {"0", "4", "--out", straight + "/out"}, settings) == 0);

    const std::string killed = TempDir("crescent-trainer-killed");
    Process* first = nullptr;
    Steps(1, killed, {"0", "4", "--checkpoint-after", "2", "--hang"}, settings, &first);
    REQUIRE(first->WaitForOutput("checkpoint saved", 120s));
    crescent::testing::KillProcessTree(first->pid());
    first->Wait(30s);
    delete first;
    REQUIRE(Steps(1, killed, {"2", "4", "--out", killed + "/out"}, settings) == 0);

    const std::string weights = ReadFile(straight + "/out/model.safetensors");
    CHECK(!weights.empty());
    CHECK(weights == ReadFile(killed + "/out/model.safetensors"));
    SavedOptimizer a(straight + "/out"), b(killed + "/out");
    CHECK(a.optimizer.step == 4);
    CHECK(b.optimizer.step == 4);
    size_t with_state = 0;
    for (size_t i = 0; i < a.model->parameters().size(); ++i) {
      INFO("parameter " << i);
      const auto sa = a.State(i), sb = b.State(i);
      REQUIRE(sa.size() == sb.size());
      with_state += !sa.empty();
      for (size_t j = 0; j < sa.size(); ++j) CHECK(torch::equal(sa[j], sb[j]));
      if (!sa.empty()) CHECK(sa[2].item<int64_t>() == (std::string(reset) == "true" ? 1 : 4));
    }
    CHECK(with_state == a.model->parameters().size());
    // The interrupted run really restarted from the checkpoint: its
    // weights differ from the start's.
    CHECK(ReadFile(killed + "/out/model.safetensors") !=
          ReadFile(killed + "/sft/model.safetensors"));
  }
}
