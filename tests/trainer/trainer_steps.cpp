// A trainer rank driven without a master, for the trainer tests: runs train
// requests FROM..TO-1 (each a fixed batch of groups, split among the MPI
// ranks as the master splits them) on the Trainer of RUN_DIR, starting where
// the run's latest checkpoint left it (or from a fresh built-in model in
// RUN_DIR/sft).
//
//   trainer_steps RUN_DIR FROM TO [--checkpoint-after N [--hang]] [--out DIR]
//                 [--set key=value]...
//
// --checkpoint-after N: after request N-1, save the run's checkpoint of
// version N (and with --hang, print "checkpoint saved" and wait to be
// killed). --out DIR: at the end, rank 0 saves the policy and optimizer there.
#include <mpi.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <thread>

#include "common/config/config.hpp"
#include "common/model/policy.hpp"
#include "common/mpi/mpi_session.hpp"
#include "trainer/trainer.hpp"

using namespace crescent;

namespace {

// Request r's batch: 4 groups of 4 samples over the built-in vocabulary.
std::vector<proto::TrainGroup> Batch(int64_t r) {
  std::mt19937_64 rng(1000 + r);
  std::vector<proto::TrainGroup> groups(4);
  for (auto& g : groups) {
    std::vector<int32_t> prompt = {1};
    for (int t = 0; t < 3; ++t) prompt.push_back(3 + rng() % 13);
    for (int j = 0; j < 4; ++j) {
      proto::TrainSample s;
      s.prompt_tokens = prompt;
      const int n = 1 + rng() % 6;
      for (int t = 0; t < n; ++t) {
        s.response_tokens.push_back(3 + rng() % 13);
        s.behaviour_logprobs.push_back(-1.0f - 0.1f * (rng() % 20));
        s.loss_mask.push_back(1);
      }
      s.reward = static_cast<double>(rng() % 3) / 2;
      g.samples.push_back(std::move(s));
    }
  }
  return groups;
}

}  // namespace

int main(int argc, char** argv) {
  mpi::MpiSession session(&argc, &argv);
  if (argc < 4) {
    std::cerr << "usage: trainer_steps RUN_DIR FROM TO [--checkpoint-after N [--hang]] "
                 "[--out DIR] [--set key=value]...\n";
    return 2;
  }
  const std::string run_dir = argv[1];
  const int64_t from = std::atoll(argv[2]), to = std::atoll(argv[3]);
  int64_t checkpoint_after = -1;
  bool hang = false;
  std::string out;
  std::vector<std::string> sets = {"run.dir=" + run_dir};
  for (int i = 4; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--checkpoint-after" && i + 1 < argc)
      checkpoint_after = std::atoll(argv[++i]);
    else if (a == "--hang")
      hang = true;
    else if (a == "--out" && i + 1 < argc)
      out = argv[++i];
    else if (a == "--set" && i + 1 < argc)
      sets.push_back(argv[++i]);
    else {
      std::cerr << "trainer_steps: unknown argument " << a << "\n";
      return 2;
    }
  }
  const config::Config config = config::ParseConfig("", "<trainer_steps>", sets);
  model::SetComputeThreads(1);
  if (session.rank() == 0 && !std::filesystem::exists(run_dir + "/sft/config.json")) {
    model::Policy fresh = model::NewBuiltinPolicy(config);
    model::SavePolicy(fresh, run_dir + "/sft");
  }
  MPI_Barrier(MPI_COMM_WORLD);
  auto gradients = weights::MakeMpiWeightSync(MPI_COMM_WORLD, 0);
  trainer::Trainer trainer(config, run::StartingPolicy(config), *gradients);
  for (int64_t r = from; r < to; ++r) {
    std::vector<proto::TrainGroup> all = Batch(r), mine;
    // Contiguous shares, as the master splits a batch.
    const size_t n = all.size(), parts = session.size(), rank = session.rank();
    const size_t begin = rank * (n / parts) + std::min(rank, n % parts);
    const size_t count = n / parts + (rank < n % parts ? 1 : 0);
    mine.assign(all.begin() + begin, all.begin() + begin + count);
    trainer.Train(mine, static_cast<int64_t>(n));
    if (r + 1 == checkpoint_after && session.rank() == 0) {
      trainer.SaveCheckpoint(r + 1, r + 1);
      std::cout << "checkpoint saved" << std::endl;
      while (hang) std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }
  if (!out.empty() && session.rank() == 0) trainer.Save(out);
  return 0;
}
