// The length penalty of Kimi k1.5 (docs/training.md, "The length penalty"),
// over the k responses of one prompt. Pure; the caller applies it after its
// warm-up, with its weight.
#pragma once

#include <cstddef>
#include <vector>

namespace crescent::reward {

// lambda_j = 0.5 - (len_j - min_len) / (max_len - min_len), 0 for every j
// when max_len == min_len; the result is lambda_j for a correct response and
// min(0, lambda_j) for an incorrect one.
// REQUIRES: lengths.size() == correct.size() (throws std::invalid_argument).
std::vector<double> LengthPenalty(const std::vector<size_t>& lengths,
                                  const std::vector<bool>& correct);

}  // namespace crescent::reward
