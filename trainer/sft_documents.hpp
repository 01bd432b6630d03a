// `crescent sft` on a data file (sft.data_file): its documents as token ids
// with loss masks, written for the policy the way its prompts are written
// (task.chat_template, task.enable_thinking), and the documents each step
// trains on. No LibTorch: the training loop is trainer/sft.hpp's.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/config/config.hpp"
#include "common/task/sft_data.hpp"
#include "common/tokenizer/policy_tokenizer.hpp"

namespace crescent::trainer {

// One document as the model trains on it.
struct SftDocument {
  std::vector<tok::TokenId> ids;
  std::vector<uint8_t> loss_mask;  // one per id: 1 where the loss is on the token
  int line = 0;                    // its line in the data file
};

// How EncodeSftDocument writes documents, and what it accepts.
struct SftEncoding {
  bool chat_template = true;    // task.chat_template
  bool enable_thinking = true;  // task.enable_thinking
  int64_t max_tokens = 0;       // the model's positions; 0: no limit
  int64_t token_budget = 0;     // sft.token_budget; 0: no limit
  std::string file;             // the data file, for errors
  std::string policy;           // the policy's directory (or "the built-in model"), for errors
};

// A document as token ids with its loss mask. With the policy's chat template
// in use (tok::UsesChatTemplate): a chat is rendered by
// ChatTemplate::RenderForTraining (the loss on its assistant turns with their
// end-of-turn tokens) and a pair as a user turn and an assistant turn. Without
// it: a pair is the policy's prompt prefix (its BOS, if it writes one), the
// prompt and the response and the first stop id (tok::EncodePromptResponse; the
// loss on the response and the stop id), and a chat is refused. Throws
// std::runtime_error naming FILE:LINE: a chat without a template in use (naming
// the policy), a document longer than max_tokens or token_budget, one with no
// token to train on (none after the first), or what rendering or encoding
// refused.
SftDocument EncodeSftDocument(const task::Conversation& conversation,
                              const tok::PolicyTokenizer& tokenizer, const SftEncoding& encoding);

struct SftDocuments {
  std::vector<SftDocument> training;  // the first sft.examples (0: all) of the training split
  std::vector<SftDocument> heldout;
};

// Reads sft.data_file (task::ReadSftData), holds out sft.heldout_fraction of it
// (task::SplitHeldout, seed sft.seed), keeps the first sft.examples training
// documents, and encodes every document with EncodeSftDocument, so that every
// error is found before training starts. Throws std::runtime_error naming the
// file and line, or the key.
SftDocuments LoadSftDocuments(const config::Config& config, const tok::PolicyTokenizer& tokenizer,
                              int64_t max_tokens, const std::string& policy);

// The tokens of each document: what sft.token_budget counts.
std::vector<int64_t> DocumentLengths(const std::vector<SftDocument>& documents);

// Draws each step's documents at random, with replacement (seed sft.seed),
// from `lengths.size()` documents. token_budget 0: batch_size documents a step.
// Otherwise documents are added while the batch's tokens (the sum of their
// lengths) stay within the budget; the first that would go past it starts the
// next step's batch. REQUIRES: lengths not empty; with a budget, every length
// within it.
class SftBatchSampler {
 public:
  SftBatchSampler(std::vector<int64_t> lengths, int64_t token_budget, int64_t batch_size,
                  uint64_t seed);
  // The indices of the next step's documents.
  std::vector<size_t> Next();

 private:
  std::vector<int64_t> lengths_;
  int64_t token_budget_;
  int64_t batch_size_;
  std::mt19937_64 rng_;
  std::uniform_int_distribution<size_t> pick_;
  std::optional<size_t> waiting_;  // drawn, but did not fit the last batch
};

// Every document once, in order, in consecutive batches as a step takes them
// (within token_budget, else batch_size documents each): for the held-out loss.
std::vector<std::vector<size_t>> InOrderBatches(const std::vector<int64_t>& lengths,
                                                int64_t token_budget, int64_t batch_size);

}  // namespace crescent::trainer
