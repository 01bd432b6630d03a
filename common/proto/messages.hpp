// Every message exchanged between crescent processes, in one place.
//
// Each message is a struct with a fixed type number (never reused; add new
// types at the end, bump kProtocolVersion when a struct's layout changes) and a
// Cereal serialize(). Frames are: magic "CRSC", protocol version, type,
// payload length, payload (see envelope.hpp).
//
// A request names its reply type (`using Reply = ...`). Requests and replies
// carry a request_id: the master numbers its requests, a worker copies the id
// into the reply, and the master matches replies by it. A reply's `error`
// says why the request failed (that request only); a worker answers a request
// it does not serve with an ErrorReply. Which role serves which requests:
// rollout/rollout_service.hpp, reward/reward_service.hpp,
// trainer/trainer_service.hpp.
#pragma once

#include <cereal/types/map.hpp>
#include <cereal/types/set.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/task/prompt.hpp"

namespace crescent::task {
template <class A>
void serialize(A& a, Message& m) {
  a(m.role, m.content);
}
template <class A>
void serialize(A& a, Prompt& p) {
  a(p.id, p.text, p.metadata, p.messages, p.json_metadata);
}
}  // namespace crescent::task

namespace crescent::proto {

inline constexpr uint16_t kProtocolVersion = 5;

// A policy version names one set of weights forever; versions are never reused.
using PolicyVersion = int64_t;

enum class MessageType : uint16_t {
  kHello = 1,
  kHeartbeat = 2,
  kShutdown = 3,
  kWorkerError = 4,
  kErrorReply = 5,
  kGenerateRequest = 10,
  kGenerateResult = 11,
  kScoreRequest = 12,
  kScoreResult = 13,
  kTrainRequest = 14,
  kTrainResult = 15,
  kSyncWeights = 16,
  kWeightsSynced = 17,
  kSaveCheckpoint = 18,
  kCheckpointSaved = 19,
};

// ---- control ----------------------------------------------------------------

// Worker -> master, first message on a connection.
struct Hello {
  static constexpr MessageType kType = MessageType::kHello;
  std::string role;  // "trainer", "rollout", "reward"
  int32_t rank = -1;
  std::string host;
  int32_t pid = 0;
  template <class A>
  void serialize(A& a) {
    a(role, rank, host, pid);
  }
};

// Both ways, every cluster.heartbeat_interval_s.
struct Heartbeat {
  static constexpr MessageType kType = MessageType::kHeartbeat;
  uint64_t sequence = 0;
  template <class A>
  void serialize(A& a) {
    a(sequence);
  }
};

// Master -> worker: finish and exit.
struct Shutdown {
  static constexpr MessageType kType = MessageType::kShutdown;
  std::string reason;
  template <class A>
  void serialize(A& a) {
    a(reason);
  }
};

// Worker -> master: the worker cannot go on (it exits after sending this).
struct WorkerError {
  static constexpr MessageType kType = MessageType::kWorkerError;
  std::string what;
  template <class A>
  void serialize(A& a) {
    a(what);
  }
};

// Worker -> master: the reply to a request this worker does not serve (a
// message its role has no method for). `error` names the role, rank and host.
struct ErrorReply {
  static constexpr MessageType kType = MessageType::kErrorReply;
  uint64_t request_id = 0;
  std::string error;
  template <class A>
  void serialize(A& a) {
    a(request_id, error);
  }
};

// ---- rollout ----------------------------------------------------------------

// A prompt as drawn by the master (common/task/prompt.hpp). `metadata`
// (answer, tests, domain, ...) is carried to the reward services untouched.
using Prompt = task::Prompt;

struct SamplingParams {
  float temperature = 1.0f;
  int32_t top_k = 0;   // 0: off
  float top_p = 1.0f;  // 1: off
  uint64_t seed = 0;
  template <class A>
  void serialize(A& a) {
    a(temperature, top_k, top_p, seed);
  }
};

enum class FinishReason : uint8_t { kStop = 0, kLength = 1, kRepeat = 2, kBudget = 3 };
const char* FinishReasonName(FinishReason reason);

// One trajectory to generate or continue.
struct GenerationTask {
  uint64_t trajectory_id = 0;
  Prompt prompt;
  std::vector<int32_t>
      prompt_tokens;                // the prompt as the model sees it (master/prompt_encoder.hpp)
  std::vector<int32_t> prefix;      // response tokens generated earlier, to continue from
  int32_t max_response_tokens = 0;  // length limit of the whole response
  int32_t budget = 0;               // new tokens allowed in this request; 0: no budget
  SamplingParams sampling;
  std::vector<std::string> stop_strings;
  int32_t repeat_ngram = 0;  // repetition detector; 0: off
  int32_t repeat_count = 0;
  template <class A>
  void serialize(A& a) {
    a(trajectory_id, prompt, prompt_tokens, prefix, max_response_tokens, budget, sampling,
      stop_strings, repeat_ngram, repeat_count);
  }
};

struct GenerateResult;
struct GenerateRequest {
  static constexpr MessageType kType = MessageType::kGenerateRequest;
  using Reply = GenerateResult;
  uint64_t request_id = 0;
  std::vector<GenerationTask> tasks;
  template <class A>
  void serialize(A& a) {
    a(request_id, tasks);
  }
};

struct Sample {
  uint64_t trajectory_id = 0;
  std::vector<int32_t> prompt_tokens;
  std::vector<int32_t> tokens;  // new response tokens of this request
  std::vector<float> logprobs;  // one per token, under `policy_version`
  std::string text;             // decoded whole response (prefix included)
  FinishReason finish_reason = FinishReason::kStop;
  PolicyVersion policy_version = 0;
  template <class A>
  void serialize(A& a) {
    a(trajectory_id, prompt_tokens, tokens, logprobs, text, finish_reason, policy_version);
  }
};

struct GenerateResult {
  static constexpr MessageType kType = MessageType::kGenerateResult;
  uint64_t request_id = 0;
  PolicyVersion policy_version = 0;
  std::vector<Sample> samples;
  double seconds = 0;
  std::string error;  // non-empty: the request failed, samples are absent
  template <class A>
  void serialize(A& a) {
    a(request_id, policy_version, samples, seconds, error);
  }
};

// ---- reward -----------------------------------------------------------------

struct ScoreItem {
  uint64_t trajectory_id = 0;
  Prompt prompt;
  std::string response;
  template <class A>
  void serialize(A& a) {
    a(trajectory_id, prompt, response);
  }
};

struct ScoreResult;
struct ScoreRequest {
  static constexpr MessageType kType = MessageType::kScoreRequest;
  using Reply = ScoreResult;
  uint64_t request_id = 0;
  std::vector<ScoreItem> items;
  template <class A>
  void serialize(A& a) {
    a(request_id, items);
  }
};

struct Score {
  uint64_t trajectory_id = 0;
  double reward = 0;
  bool correct = false;
  std::string error;                     // why a reward function failed on this sample, if one did
  std::string details = {};              // JSON object: each reward function's details, by name
  std::vector<std::string> failed = {};  // the names of the functions that failed
  template <class A>
  void serialize(A& a) {
    a(trajectory_id, reward, correct, error, details, failed);
  }
};

struct ScoreResult {
  static constexpr MessageType kType = MessageType::kScoreResult;
  uint64_t request_id = 0;
  std::vector<Score> scores;
  double seconds = 0;
  std::string error;
  template <class A>
  void serialize(A& a) {
    a(request_id, scores, seconds, error);
  }
};

// ---- training ---------------------------------------------------------------

struct TrainSample {
  uint64_t trajectory_id = 0;
  std::vector<int32_t> prompt_tokens;
  std::vector<int32_t> response_tokens;
  std::vector<float> behaviour_logprobs;  // from the rollout worker, per response token
  std::vector<uint8_t> loss_mask;         // per response token: 1 trained, 0 excluded
  double reward = 0;
  template <class A>
  void serialize(A& a) {
    a(trajectory_id, prompt_tokens, response_tokens, behaviour_logprobs, loss_mask, reward);
  }
};

// The k samples of one prompt.
struct TrainGroup {
  std::string prompt_id;
  std::vector<TrainSample> samples;
  template <class A>
  void serialize(A& a) {
    a(prompt_id, samples);
  }
};

struct TrainResult;
struct TrainRequest {
  static constexpr MessageType kType = MessageType::kTrainRequest;
  using Reply = TrainResult;
  uint64_t request_id = 0;
  int64_t iteration = 0;
  PolicyVersion new_policy_version = 0;  // the version the updated weights will carry
  int64_t total_groups = 0;              // over all trainers: each weights its loss by its share
  std::vector<TrainGroup> groups;
  template <class A>
  void serialize(A& a) {
    a(request_id, iteration, new_policy_version, total_groups, groups);
  }
};

struct TrainResult {
  static constexpr MessageType kType = MessageType::kTrainResult;
  uint64_t request_id = 0;
  PolicyVersion policy_version = 0;
  std::map<std::string, double> stats;  // loss, grad norm, ...
  double seconds = 0;
  std::string error;
  template <class A>
  void serialize(A& a) {
    a(request_id, policy_version, stats, seconds, error);
  }
};

// Master -> trainers and rollout workers: enter the weight broadcast for
// `policy_version` now (every party receives this before any enters it).
struct WeightsSynced;
struct SyncWeights {
  static constexpr MessageType kType = MessageType::kSyncWeights;
  using Reply = WeightsSynced;
  uint64_t request_id = 0;
  PolicyVersion policy_version = 0;
  template <class A>
  void serialize(A& a) {
    a(request_id, policy_version);
  }
};

struct WeightsSynced {
  static constexpr MessageType kType = MessageType::kWeightsSynced;
  uint64_t request_id = 0;
  PolicyVersion policy_version = 0;
  double seconds = 0;
  std::string error;
  template <class A>
  void serialize(A& a) {
    a(request_id, policy_version, seconds, error);
  }
};

// Master -> trainers: save the current weights as the run's checkpoint of
// `policy_version` (trainer 0 writes it; every trainer replies).
struct CheckpointSaved;
struct SaveCheckpoint {
  static constexpr MessageType kType = MessageType::kSaveCheckpoint;
  using Reply = CheckpointSaved;
  uint64_t request_id = 0;
  int64_t iteration = 0;
  PolicyVersion policy_version = 0;
  template <class A>
  void serialize(A& a) {
    a(request_id, iteration, policy_version);
  }
};

struct CheckpointSaved {
  static constexpr MessageType kType = MessageType::kCheckpointSaved;
  uint64_t request_id = 0;
  PolicyVersion policy_version = 0;
  std::string dir;  // empty from trainers other than trainer 0
  double seconds = 0;
  std::string error;
  template <class A>
  void serialize(A& a) {
    a(request_id, policy_version, dir, seconds, error);
  }
};

using Message =
    std::variant<Hello, Heartbeat, Shutdown, WorkerError, GenerateRequest, GenerateResult,
                 ScoreRequest, ScoreResult, TrainRequest, TrainResult, SyncWeights, WeightsSynced,
                 SaveCheckpoint, CheckpointSaved, ErrorReply>;

const char* MessageName(const Message& message);

// The request id a request or reply carries; 0 for a message without one.
uint64_t RequestIdOf(const Message& message);
// Sets the request id of a message that carries one.
void SetRequestId(Message& message, uint64_t id);
// The error a reply carries; empty for none, or for a message without one.
std::string ErrorOf(const Message& message);
// For a request: the variant index of the reply it calls for; for any other
// message, nothing.
std::optional<size_t> ReplyIndexOf(const Message& message);

}  // namespace crescent::proto
