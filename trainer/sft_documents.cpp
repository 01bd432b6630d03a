#include "trainer/sft_documents.hpp"

#include <stdexcept>

#include "common/tokenizer/loss_mask.hpp"
#include "common/util/log.hpp"

namespace crescent::trainer {
namespace {

tok::MaskedTokens Encode(const task::Conversation& c, const tok::PolicyTokenizer& tokenizer,
                         const SftEncoding& e) {
  const bool chat = !c.messages.empty();
  if (tok::UsesChatTemplate(tokenizer, e.chat_template)) {
    std::vector<tok::ChatMessage> messages;
    for (const task::Message& m : c.messages) messages.push_back({m.role, m.content});
    if (!chat) messages = {{"user", c.prompt}, {"assistant", c.response}};
    return tok::EncodeForTraining(
        tokenizer, tokenizer.chat_template()->RenderForTraining(messages, e.enable_thinking));
  }
  if (chat) {
    throw std::runtime_error(
        StrCat("a chat (\"messages\") for ", e.policy, ", but ", tok::WhyNoChat(tokenizer)));
  }
  if (tokenizer.stop_ids().empty())
    throw std::runtime_error(StrCat(e.policy, " has no stop token to end a response with"));
  tok::MaskedTokens out;
  out.ids = tokenizer.prompt_prefix();
  out.loss_mask.assign(out.ids.size(), 0);
  const tok::MaskedTokens pair =
      tok::EncodePromptResponse(tokenizer, c.prompt, c.response, tokenizer.stop_ids().front());
  out.ids.insert(out.ids.end(), pair.ids.begin(), pair.ids.end());
  out.loss_mask.insert(out.loss_mask.end(), pair.loss_mask.begin(), pair.loss_mask.end());
  return out;
}

}  // namespace

SftDocument EncodeSftDocument(const task::Conversation& c, const tok::PolicyTokenizer& tokenizer,
                              const SftEncoding& e) {
  const std::string where = StrCat(e.file, ":", c.line, ": ");
  tok::MaskedTokens tokens;
  try {
    tokens = Encode(c, tokenizer, e);
  } catch (const std::exception& error) {
    throw std::runtime_error(where + error.what());
  }
  const auto n = static_cast<int64_t>(tokens.ids.size());
  if (e.max_tokens > 0 && n > e.max_tokens) {
    throw std::runtime_error(StrCat(where, n, " tokens, more than the ", e.max_tokens,
                                    " positions of ", e.policy,
                                    " (shorten or leave out the document)"));
  }
  if (e.token_budget > 0 && n > e.token_budget) {
    throw std::runtime_error(StrCat(where, n, " tokens, more than sft.token_budget ",
                                    e.token_budget, " (raise it, or shorten the document)"));
  }
  bool trained = false;
  for (size_t t = 1; t < tokens.loss_mask.size(); ++t) trained = trained || tokens.loss_mask[t];
  if (!trained) throw std::runtime_error(where + "no token to train on");
  return {std::move(tokens.ids), std::move(tokens.loss_mask), c.line};
}

SftDocuments LoadSftDocuments(const config::Config& c, const tok::PolicyTokenizer& tokenizer,
                              int64_t max_tokens, const std::string& policy) {
  const std::vector<task::Conversation> all = task::ReadSftData(c.sft.data_file);
  task::SftSplit split;
  try {
    split = task::SplitHeldout(all, c.sft.heldout_fraction, static_cast<uint64_t>(c.sft.seed));
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(StrCat(c.sft.data_file, ": ", e.what(), " (sft.heldout_fraction, ",
                                    c.Where("sft.heldout_fraction"), ")"));
  }
  if (c.sft.examples > 0 && static_cast<size_t>(c.sft.examples) < split.training.size())
    split.training.resize(static_cast<size_t>(c.sft.examples));
  SftEncoding e;
  e.chat_template = c.task.chat_template;
  e.enable_thinking = c.task.enable_thinking;
  e.max_tokens = max_tokens;
  e.token_budget = c.sft.token_budget;
  e.file = c.sft.data_file;
  e.policy = policy;
  SftDocuments out;
  for (const auto& doc : split.training)
    out.training.push_back(EncodeSftDocument(doc, tokenizer, e));
  for (const auto& doc : split.heldout) out.heldout.push_back(EncodeSftDocument(doc, tokenizer, e));
  return out;
}

std::vector<int64_t> DocumentLengths(const std::vector<SftDocument>& documents) {
  std::vector<int64_t> lengths;
  for (const SftDocument& d : documents) lengths.push_back(static_cast<int64_t>(d.ids.size()));
  return lengths;
}

SftBatchSampler::SftBatchSampler(std::vector<int64_t> lengths, int64_t token_budget,
                                 int64_t batch_size, uint64_t seed)
    : lengths_(std::move(lengths)),
      token_budget_(token_budget),
      batch_size_(batch_size),
      rng_(seed),
      pick_(0, lengths_.empty() ? 0 : lengths_.size() - 1) {
  if (lengths_.empty()) throw std::invalid_argument("SftBatchSampler: no documents");
  for (int64_t n : lengths_) {
    if (token_budget_ > 0 && n > token_budget_)
      throw std::invalid_argument(
          StrCat("SftBatchSampler: a document of ", n, " tokens, over the budget ", token_budget_));
  }
}

std::vector<size_t> SftBatchSampler::Next() {
  std::vector<size_t> batch;
  if (token_budget_ == 0) {
    for (int64_t i = 0; i < batch_size_; ++i) batch.push_back(pick_(rng_));
    return batch;
  }
  int64_t tokens = 0;
  for (;;) {
    if (!waiting_) waiting_ = pick_(rng_);
    if (tokens + lengths_[*waiting_] > token_budget_) return batch;
    tokens += lengths_[*waiting_];
    batch.push_back(*waiting_);
    waiting_.reset();
  }
}

std::vector<std::vector<size_t>> InOrderBatches(const std::vector<int64_t>& lengths,
                                                int64_t token_budget, int64_t batch_size) {
  std::vector<std::vector<size_t>> batches;
  int64_t tokens = 0;
  for (size_t i = 0; i < lengths.size(); ++i) {
    const bool full =
        token_budget > 0
            ? tokens + lengths[i] > token_budget
            : static_cast<int64_t>(batches.empty() ? 0 : batches.back().size()) >= batch_size;
    if (batches.empty() || full) {
      batches.emplace_back();
      tokens = 0;
    }
    batches.back().push_back(i);
    tokens += lengths[i];
  }
  return batches;
}

}  // namespace crescent::trainer
