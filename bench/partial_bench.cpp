#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <random>
#include <thread>

#include "bench/bench.hpp"
#include "common/model/generator.hpp"
#include "common/model/policy.hpp"
#include "common/mpi/mpi_session.hpp"
#include "common/util/log.hpp"
#include "master/scheduling.hpp"
#include "replay/buffer.hpp"
#include "trainer/policy_update.hpp"

namespace crescent::bench {

using namespace trainer;

namespace {

using Clock = std::chrono::steady_clock;
using torch::indexing::Slice;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The task: the prompt is one character of a 64-character chain and ':';
// the answer is the chain from that character to its end, then <eos>. A
// prompt near the end of the chain has a short answer, one near its start an
// answer up to 64 tokens long: the benchmark picks starts so that most
// answers are short and one prompt in eight has an answer eight times longer.
const std::string kChain = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-";

struct Options {
  int64_t groups = 8;            // B
  int64_t k = 4;                 // samples per prompt
  int64_t max_tokens = 64;       // maximum response length, both modes
  int64_t budget = 16;           // partial mode: tokens per trajectory per iteration
  int64_t slots = 64;            // continuous-batching slots
  int64_t groups_trained = 192;  // each mode runs until the first N prompts' groups are trained
  int64_t sft_steps = 300;
  int64_t rounds = 2;  // timed runs of every mode; the fastest counts
  uint64_t seed = 1;
};

struct Prompt {
  std::vector<tok::TokenId> tokens;
  std::vector<tok::TokenId> answer;  // expected response, <eos> included
};

Prompt MakePrompt(const tok::PolicyTokenizer& tokenizer, size_t start) {
  Prompt p;
  p.tokens = tokenizer.EncodePrompt(kChain.substr(start, 1) + ":");
  p.answer = tokenizer.Encode(kChain.substr(start));
  p.answer.push_back(tokenizer.stop_ids().front());
  return p;
}

// Prompt i: one in eight has an answer of 57-64 tokens, the others 6-9.
std::vector<Prompt> PromptSet(const tok::PolicyTokenizer& tokenizer, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Prompt> out;
  for (size_t i = 0; i < n; ++i) {
    const bool long_one = i % 8 == 0;
    const size_t length = long_one ? 57 + rng() % 8 : 6 + rng() % 4;  // including <eos>
    out.push_back(MakePrompt(tokenizer, kChain.size() + 1 - length));
  }
  return out;
}

// A quick supervised warm start on the whole chain task.
void WarmStart(model::Policy& policy, const Options& o) {
  torch::optim::Adam optimizer(policy.model->parameters(), torch::optim::AdamOptions(3e-3));
  std::mt19937_64 rng(o.seed);
  const int64_t batch = 32;
  for (int64_t step = 0; step < o.sft_steps; ++step) {
    std::vector<Prompt> rows;
    int64_t width = 0;
    for (int64_t i = 0; i < batch; ++i) {
      rows.push_back(MakePrompt(policy.tokenizer, rng() % kChain.size()));
      width = std::max<int64_t>(width, rows.back().tokens.size() + rows.back().answer.size());
    }
    torch::Tensor ids = torch::zeros({batch, width}, torch::kLong);
    torch::Tensor mask = torch::zeros({batch, width - 1});
    for (int64_t r = 0; r < batch; ++r) {
      std::vector<tok::TokenId> seq = rows[r].tokens;
      seq.insert(seq.end(), rows[r].answer.begin(), rows[r].answer.end());
      ids.index_put_({r, Slice(0, static_cast<int64_t>(seq.size()))},
                     torch::tensor(seq).to(torch::kLong));
      mask.index_put_({r, Slice(static_cast<int64_t>(rows[r].tokens.size()) - 1,
                                static_cast<int64_t>(seq.size()) - 1)},
                      1.0);
    }
    optimizer.zero_grad();
    torch::Tensor loss = -(model::TokenLogprobs(policy.model, ids) * mask).sum() / mask.sum();
    loss.backward();
    optimizer.step();
  }
}

struct ModeResult {
  double seconds = 0, generate_s = 0, train_s = 0, sync_s = 0;
  int64_t iterations = 0, groups_trained = 0, groups_counted = 0, tokens_trained = 0,
          tokens_generated = 0;
  std::vector<int64_t> lengths;  // of trained responses
};

// Two copies of the policy, as a job has: the trainer's, and the rollout
// worker's, which takes the trainer's weights after every step. The groups
// live in a replay buffer's state, scheduled by the master's own rules
// (master/scheduling.hpp): what starts, what continues, what a step trains.
class Bench {
 public:
  Bench(const Options& o, model::Policy& trainer, model::Llama rollout,
        const std::vector<Prompt>& prompts, weights::WeightSync& gradients)
      : o_(o), trainer_(trainer), rollout_(rollout), prompts_(prompts), gradients_(gradients) {}

  // Runs until the groups of the first `groups` prompts are all trained;
  // only their tokens count (partial mode has more groups under way by then:
  // their work is in the time, not in the tokens). budget 0: every rollout
  // runs to its end before training (sync). overlap: the step trains on the
  // groups completed before this iteration while this iteration generates
  // (another thread, as a rollout worker is another process), as
  // trainer.overlap does; the rollout copy takes the weights after both.
  ModeResult Run(int64_t budget, bool overlap, int64_t groups) {
    ModeResult r;
    replay::BufferState state;
    config::RolloutSection rollout;
    rollout.max_response_tokens = o_.max_tokens;
    rollout.budget = budget;
    size_t next_prompt = 0;
    int64_t counted = 0;
    proto::PolicyVersion version = 0;
    const auto t0 = Clock::now();
    const size_t b = static_cast<size_t>(o_.groups);
    while (counted < groups) {
      const int64_t iteration = ++r.iterations;
      // New groups keep B coming, as the master starts them.
      uint64_t next_id = state.next_trajectory_id();
      std::vector<proto::Prompt> drawn;
      for (size_t n = master::GroupsToStart(state, b, overlap, 0); n > 0; --n)
        drawn.push_back({std::to_string(next_prompt++ % prompts_.size()), "", {}});
      for (const auto& change : master::StartGroups(state, drawn, o_.k, iteration, next_id))
        state.ApplyChange(change);
      master::TrainBatch batch;
      if (overlap) batch = TakeBatch(state, version, groups, counted, r);
      // Generate every unfinished trajectory, continued from its tokens.
      std::vector<proto::GenerationTask> tasks =
          master::TasksToGenerate(state, rollout, static_cast<int64_t>(o_.seed));
      std::vector<model::GenerationRequest> requests;
      std::vector<size_t> prompt_of;
      for (const auto& task : tasks) {
        const size_t p = std::stoul(task.prompt.id);
        model::GenerationRequest q;
        q.prompt = prompts_[p].tokens;
        q.prompt.insert(q.prompt.end(), task.prefix.begin(), task.prefix.end());
        q.max_new_tokens = task.max_response_tokens - static_cast<int32_t>(task.prefix.size());
        q.budget = task.budget;
        q.seed = task.sampling.seed;
        q.stop_tokens = trainer_.tokenizer.stop_ids();
        requests.push_back(std::move(q));
        prompt_of.push_back(p);
      }
      std::vector<model::GenerationResult> results;
      auto generate = [&] {
        model::SetComputeThreads(1);
        auto tg = Clock::now();
        results = model::Generate(rollout_, requests, o_.slots);
        r.generate_s += Since(tg);
      };
      bool trained = false;
      if (overlap) {
        std::thread rollout_worker(generate);
        trained = Train(batch, r);
        rollout_worker.join();
      } else {
        generate();
      }
      if (trained) Commit(state, batch, iteration, ++version);
      for (size_t i = 0; i < results.size(); ++i) {
        replay::AddSegment add;
        add.trajectory_id = tasks[i].trajectory_id;
        add.prompt_tokens.assign(requests[i].prompt.begin(),
                                 requests[i].prompt.end() - tasks[i].prefix.size());
        add.segment.tokens = results[i].tokens;
        add.segment.logprobs = results[i].logprobs;
        add.segment.policy_version = version;
        add.segment.iteration = iteration;
        // Only finished or not matters here (nothing is masked by its reason).
        add.finish = results[i].finish == model::Finish::kBudget ? proto::FinishReason::kBudget
                                                                 : proto::FinishReason::kStop;
        state.ApplyChange(add);
        r.tokens_generated += static_cast<int64_t>(results[i].tokens.size());
        const replay::Trajectory& t = state.trajectories().at(add.trajectory_id);
        if (!t.finished()) continue;
        std::vector<tok::TokenId> response;
        for (const auto& s : t.segments)
          response.insert(response.end(), s.tokens.begin(), s.tokens.end());
        const bool right = response == prompts_[prompt_of[i]].answer;
        state.ApplyChange(replay::ScoreTrajectory{t.id, right ? 1.0 : 0.0, right});
      }
      if (!overlap) {
        batch = TakeBatch(state, version, groups, counted, r);
        trained = Train(batch, r);
        if (trained) Commit(state, batch, iteration, ++version);
      }
      if (trained) {
        auto tw = Clock::now();
        torch::NoGradGuard no_grad;
        auto from = trainer_.model->parameters();
        auto to = rollout_->parameters();
        for (size_t i = 0; i < to.size(); ++i) to[i].copy_(from[i]);
        r.sync_s += Since(tw);
      }
    }
    r.seconds = Since(t0);
    r.groups_counted = counted;
    return r;
  }

 private:
  // The step's groups, as the master picks them (the oldest complete ones,
  // at most B), every token in the loss; the first `groups` prompts' count.
  master::TrainBatch TakeBatch(const replay::BufferState& state, proto::PolicyVersion version,
                               int64_t groups, int64_t& counted, ModeResult& r) {
    master::AssemblyOptions options;
    options.policy_version = version;
    options.max_staleness = std::numeric_limits<int32_t>::max();
    master::TrainBatch batch = master::PickBatch(state, static_cast<size_t>(o_.groups), options);
    for (size_t i = 0; i < batch.ids.size(); ++i) {
      const proto::Prompt& prompt = state.groups().at(batch.ids[i]).prompt;
      if (std::stoul(prompt.id) >= static_cast<size_t>(groups)) continue;
      ++counted;
      for (const auto& s : batch.groups[i].samples) {
        r.tokens_trained += static_cast<int64_t>(s.response_tokens.size());
        r.lengths.push_back(static_cast<int64_t>(s.response_tokens.size()));
      }
    }
    return batch;
  }

  // The trained groups leave the buffer's state, as a checkpoint retires them.
  static void Commit(replay::BufferState& state, const master::TrainBatch& batch, int64_t iteration,
                     proto::PolicyVersion version) {
    state.ApplyChange(replay::TrainGroups{batch.ids, iteration, version});
    state.ApplyChange(replay::CommitTraining{version});
  }

  bool Train(const master::TrainBatch& batch, ModeResult& r) { return Train(batch.groups, r); }

  bool Train(const std::vector<proto::TrainGroup>& batch, ModeResult& r) {
    if (batch.empty()) return false;
    auto tt = Clock::now();
    config::TrainerSection c;
    TrainerOptimizer optimizer(trainer_.model->parameters(), LrSchedule{});
    UpdatePolicy(trainer_.model, c, batch, static_cast<int64_t>(batch.size()), gradients_,
                 optimizer);
    r.groups_trained += static_cast<int64_t>(batch.size());
    r.train_s += Since(tt);
    return true;
  }

  const Options& o_;
  model::Policy& trainer_;
  model::Llama rollout_;
  const std::vector<Prompt>& prompts_;
  weights::WeightSync& gradients_;
};

nlohmann::json Describe(const ModeResult& r) {
  return {{"seconds", r.seconds},
          {"generate_s", r.generate_s},
          {"train_s", r.train_s},
          {"weight_copy_s", r.sync_s},
          {"iterations", r.iterations},
          {"groups_trained", r.groups_trained},
          {"groups_counted", r.groups_counted},
          {"tokens_trained", r.tokens_trained},
          {"tokens_generated", r.tokens_generated},
          {"trained_tokens_per_s", r.tokens_trained / r.seconds}};
}

nlohmann::json Distribution(std::vector<int64_t> v) {
  if (v.empty()) return nullptr;
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (int64_t x : v) sum += x;
  auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))]; };
  return {{"mean", sum / v.size()}, {"p50", at(0.5)}, {"p90", at(0.9)}, {"max", v.back()}};
}

}  // namespace

int PartialBenchCommand(const std::vector<std::string>& args, std::ostream& out) {
  Options o;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (i + 1 >= args.size()) {
      out << "partial bench: " << a << " needs a value\n";
      return 2;
    }
    const int64_t v = std::stoll(args[++i]);
    if (a == "--groups") {
      o.groups = v;
    } else if (a == "--k") {
      o.k = v;
    } else if (a == "--max") {
      o.max_tokens = v;
    } else if (a == "--budget") {
      o.budget = v;
    } else if (a == "--slots") {
      o.slots = v;
    } else if (a == "--groups-trained") {
      o.groups_trained = v;
    } else if (a == "--sft-steps") {
      o.sft_steps = v;
    } else if (a == "--rounds") {
      o.rounds = v;
    } else if (a == "--seed") {
      o.seed = static_cast<uint64_t>(v);
    } else {
      out << "partial bench: unknown option " << a
          << " (--groups --k --max --budget --slots --groups-trained --sft-steps --rounds "
             "--seed)\n";
      return 2;
    }
  }
  if (o.budget <= 0 || o.budget >= o.max_tokens || o.groups < 1 || o.k < 2 || o.rounds < 1 ||
      o.max_tokens > static_cast<int64_t>(kChain.size()) + 1) {
    out << "partial bench: need 0 < --budget < --max <= " << kChain.size() + 1
        << ", --groups >= 1, --k >= 2, --rounds >= 1\n";
    return 2;
  }
  int argc = 0;
  char** argv = nullptr;
  mpi::MpiSession mpi(&argc, &argv);  // a one-rank gradient all-reduce, as one trainer has
  auto gradients = weights::MakeMpiWeightSync(MPI_COMM_SELF, 0);
  model::SetComputeThreads(1);

  torch::manual_seed(o.seed);
  const tok::PolicyTokenizer tokenizer = tok::BuiltinPolicyTokenizer(kChain + ":");
  model::LlamaConfig lc;
  lc.vocab_size = tokenizer.VocabSize();
  lc.hidden_size = 128;
  lc.intermediate_size = 352;
  lc.num_layers = 3;
  lc.num_heads = 4;
  lc.num_kv_heads = 2;
  lc.max_positions = 80;
  model::Policy policy{model::Llama(lc), tokenizer};
  auto t0 = Clock::now();
  WarmStart(policy, o);
  const double sft_s = Since(t0);
  model::Llama rollout(lc);
  rollout->eval();
  std::vector<torch::Tensor> start;
  for (const auto& p : policy.model->parameters()) start.push_back(p.detach().clone());
  auto reset = [&] {
    torch::NoGradGuard g;
    for (auto* m : {&policy.model, &rollout}) {
      auto params = (*m)->parameters();
      for (size_t i = 0; i < params.size(); ++i) params[i].copy_(start[i]);
    }
  };

  std::vector<Prompt> prompts = PromptSet(tokenizer, 4096, o.seed);
  Bench bench(o, policy, rollout, prompts, *gradients);
  struct Mode {
    const char* name;
    int64_t budget;
    bool overlap;
    ModeResult result;
  };
  std::vector<Mode> modes = {{"sync", 0, false, {}},
                             {"partial", o.budget, false, {}},
                             {"sync_overlap", 0, true, {}},
                             {"partial_overlap", o.budget, true, {}}};
  // A short run of each mode first, so that none pays for warm-up.
  for (auto& m : modes) {
    reset();
    bench.Run(m.budget, m.overlap, o.groups);
  }
  // Every mode runs the same work in each round (same weights, prompts and
  // seeds); the fastest round of each counts (what else runs on a shared
  // machine only adds time).
  for (int64_t round = 0; round < o.rounds; ++round) {
    for (auto& m : modes) {
      reset();
      ModeResult r = bench.Run(m.budget, m.overlap, o.groups_trained);
      if (round == 0 || r.seconds < m.result.seconds) m.result = r;
    }
  }
  const ModeResult& sync = modes[0].result;
  auto rate = [](const ModeResult& r) { return r.tokens_trained / r.seconds; };

  std::vector<int64_t> expected;
  for (int64_t i = 0; i < o.groups_trained; ++i) expected.push_back(prompts[i].answer.size());
  nlohmann::json j = {
      {"benchmark", "partial rollouts vs waiting for every rollout"},
      {"model",
       {{"parameters",
         [&] {
           int64_t n = 0;
           for (const auto& p : policy.model->parameters()) n += p.numel();
           return n;
         }()},
        {"layers", lc.num_layers},
        {"hidden", lc.hidden_size}}},
      {"options",
       {{"groups", o.groups},
        {"k", o.k},
        {"max_tokens", o.max_tokens},
        {"budget", o.budget},
        {"slots", o.slots},
        {"groups_trained", o.groups_trained},
        {"sft_steps", o.sft_steps},
        {"rounds", o.rounds},
        {"threads", 1}}},
      {"sft_seconds", sft_s},
      {"answer_lengths", Distribution(expected)},
      {"trained_response_lengths", Distribution(sync.lengths)},
  };
  for (const auto& m : modes) {
    j["modes"][m.name] = Describe(m.result);
    if (&m != &modes[0]) j["ratio_to_sync"][m.name] = rate(m.result) / rate(sync);
  }
  out << j.dump(2) << "\n";
  return 0;
}

}  // namespace crescent::bench
