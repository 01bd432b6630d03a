#include "master/prompt_feed.hpp"

#include <map>
#include <stdexcept>

#include "common/task/prompt_source.hpp"
#include "common/task/sampler.hpp"
#include "common/util/log.hpp"

namespace crescent::master {
namespace {

// The configured source's training pool, drawn by the configured sampler.
class SampledFeed : public PromptFeed {
 public:
  explicit SampledFeed(const config::Config& c)
      : source_(task::MakeTaskSource(c)), eval_data_(ReadEvalData(c)) {
    task::SamplerOptions options = c.task.sampler;
    options.seed = static_cast<uint64_t>(c.task.arithmetic.seed * 7919 + c.run.seed);
    try {
      sampler_ = task::MakeSampler(source_->Training(), options);
    } catch (const std::exception& e) {
      throw std::runtime_error(
          StrCat("task.sampler: ", e.what(), " (", c.Where("task.sampler"), ")"));
    }
    for (size_t i = 0; i < source_->Training().size(); ++i) index_[source_->Training()[i].id] = i;
  }

  std::vector<proto::Prompt> Draw(size_t n) override {
    std::vector<proto::Prompt> out;
    for (size_t i = 0; i < n; ++i) out.push_back(source_->Training()[sampler_->Next()]);
    return out;
  }

  void Report(const std::string& prompt_id, double success_rate) override {
    auto it = index_.find(prompt_id);
    if (it != index_.end()) sampler_->Report(it->second, success_rate);
  }

  const std::vector<proto::Prompt>& Heldout() const override { return source_->Heldout(); }
  const std::vector<proto::Prompt>& EvalData() const override { return eval_data_; }
  std::string SaveState() const override { return sampler_->SaveState(); }
  void LoadState(const std::string& state) override { sampler_->LoadState(state); }

 private:
  std::unique_ptr<task::PromptSource> source_;
  std::unique_ptr<task::Sampler> sampler_;
  std::map<std::string, size_t> index_;
  std::vector<proto::Prompt> eval_data_;
};

}  // namespace

const std::vector<proto::Prompt>& PromptFeed::EvalData() const {
  static const std::vector<proto::Prompt> none;
  return none;
}

std::vector<proto::Prompt> ReadEvalData(const config::Config& config) {
  if (config.eval.data_file.empty()) return {};
  try {
    return task::MakeJsonlSource(config.eval.data_file)->Training();
  } catch (const std::exception& e) {
    throw std::runtime_error(
        StrCat("eval.data_file (", config.Where("eval.data_file"), "): ", e.what()));
  }
}

std::unique_ptr<PromptFeed> MakePromptFeed(const config::Config& config) {
  return std::make_unique<SampledFeed>(config);
}

}  // namespace crescent::master
