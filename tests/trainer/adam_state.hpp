// Reading Adam's per-parameter state in tests (LibTorch keys it by the
// parameter's TensorImpl address).
#pragma once

#include <torch/torch.h>

namespace crescent::testing {

// Adam's state of parameter `p`, or null when it holds none (before its
// first step, or after a reset).
inline torch::optim::AdamParamState* AdamStateOf(torch::optim::Adam& adam, const torch::Tensor& p) {
  auto& state = adam.state();
  auto it = state.find(c10::guts::to_string(p.unsafeGetTensorImpl()));
  if (it == state.end()) return nullptr;
  return static_cast<torch::optim::AdamParamState*>(it->second.get());
}

}  // namespace crescent::testing
