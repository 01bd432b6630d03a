// What `crescent generate` and `crescent eval` share: a policy directory
// loaded for generation, and tasks given their prompts' token ids. Includes
// LibTorch (model::Policy).
#pragma once

#include <string>
#include <vector>

#include "common/model/policy.hpp"
#include "common/proto/messages.hpp"
#include "master/prompt_encoder.hpp"

namespace crescent::cli {

// model::LoadPolicy(dir), in eval mode; errors name the directory.
model::Policy LoadPolicyFrom(const std::string& dir);

// Sets each task's prompt_tokens with `encoder`; errors name `file` (the
// prompts' JSONL) and the prompt.
std::vector<proto::GenerationTask> EncodeTasks(master::PromptEncoder& encoder,
                                               std::vector<proto::GenerationTask> tasks,
                                               const std::string& file);

}  // namespace crescent::cli
