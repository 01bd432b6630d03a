// Supervised fine-tuning data: JSONL of prompt/response pairs or chats, and a
// deterministic held-out split. No LibTorch; rendering and the loss mask are
// the tokenizer's (common/tokenizer/loss_mask.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/task/prompt.hpp"

namespace crescent::task {

// One training document: a plain pair (`messages` empty: the text is prompt +
// response, the loss on the response) or a chat (`messages`: the loss on every
// assistant turn; prompt and response empty).
struct Conversation {
  std::string prompt;
  std::string response;
  std::vector<Message> messages;
  int line = 0;  // where it is in its file (1-based), for messages
};

// One JSON object per line: {"prompt": string, "response": string} or
// {"messages": [{"role": ..., "content": ...}, ...]} (roles system, user,
// assistant; a system turn only first; at least one user and one assistant
// turn). Other keys ("id", ...) are ignored; blank lines are skipped. Throws
// std::runtime_error naming the file and the line (neither or both forms, a
// pair missing a part or with a non-string one, a malformed chat), or the
// file when it cannot be read or holds no conversation.
std::vector<Conversation> ReadSftData(const std::string& path);

struct SftSplit {
  std::vector<Conversation> training;
  std::vector<Conversation> heldout;
};

// Holds out about `fraction` of the distinct documents, chosen by a hash of
// each document's content and `seed`: the same data and seed give the same
// split in any line order, and copies of one document land on one side, so a
// document is never in both. The held-out count is round(fraction * distinct
// documents), at least 1 when fraction > 0, and leaves at least one document
// for training. Both sides keep the file's order. Throws
// std::invalid_argument unless 0 <= fraction < 1, or when fraction > 0 and
// there are fewer than two distinct documents.
SftSplit SplitHeldout(const std::vector<Conversation>& conversations, double fraction,
                      uint64_t seed);

}  // namespace crescent::task
