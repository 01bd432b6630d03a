// `crescent model logits --model DIR`: a checkpoint's logits, to compare with other tools.
#include <torch/torch.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "common/model/pretrained.hpp"
#include "common/util/log.hpp"

namespace crescent::cli {

using json = nlohmann::json;
using model::Llama;
using model::LoadPretrained;

int ModelLogitsCommand(const std::vector<std::string>& args, std::istream& in, std::ostream& out) {
  std::string dir;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--model" && i + 1 < args.size()) {
      dir = args[++i];
    } else if (args[i].rfind("--model=", 0) == 0) {
      dir = args[i].substr(8);
    } else if (args[i] != "logits") {
      std::cerr << "crescent model logits: unknown argument \"" << args[i] << "\"\n";
      return 2;
    }
  }
  if (dir.empty()) {
    std::cerr << "usage: crescent model logits --model DIR < ids.json\n";
    return 2;
  }
  try {
    // Read wider than tok::TokenId: an id past its range is refused below, not wrapped.
    std::vector<int64_t> ids;
    try {
      json j;
      in >> j;
      ids = j.get<std::vector<int64_t>>();
    } catch (const json::exception& e) {
      throw std::runtime_error(std::string("stdin: expected a JSON array of token ids: ") +
                               e.what());
    }
    if (ids.empty()) throw std::runtime_error("stdin: no token ids");
    Llama model = LoadPretrained(dir);
    model->eval();
    for (int64_t id : ids) {
      if (id < 0 || id >= model->config().vocab_size) {
        throw std::runtime_error(StrCat("stdin: token id ", id, " is outside the vocabulary of ",
                                        model->config().vocab_size));
      }
    }
    torch::NoGradGuard no_grad;
    torch::Tensor logits =
        model->forward(torch::tensor(ids, torch::kLong).view({1, -1}))[0].contiguous();
    const int64_t T = logits.size(0), V = logits.size(1);
    const float* p = logits.data_ptr<float>();
    for (int64_t t = 0; t < T; ++t) {
      json row(std::vector<float>(p + t * V, p + (t + 1) * V));
      out << row.dump() << "\n";
    }
    out.flush();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "crescent model logits: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace crescent::cli
