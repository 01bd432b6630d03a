#include "reward/length_penalty.hpp"

#include <algorithm>
#include <stdexcept>

namespace crescent::reward {

std::vector<double> LengthPenalty(const std::vector<size_t>& lengths,
                                  const std::vector<bool>& correct) {
  if (lengths.size() != correct.size()) {
    throw std::invalid_argument("LengthPenalty: lengths and correct differ in size");
  }
  std::vector<double> out(lengths.size(), 0.0);
  if (lengths.empty()) return out;
  const auto [min_it, max_it] = std::minmax_element(lengths.begin(), lengths.end());
  const size_t min_len = *min_it, max_len = *max_it;
  if (max_len == min_len) return out;
  for (size_t j = 0; j < lengths.size(); ++j) {
    const double lambda =
        0.5 - static_cast<double>(lengths[j] - min_len) / static_cast<double>(max_len - min_len);
    out[j] = correct[j] ? lambda : std::min(0.0, lambda);
  }
  return out;
}

}  // namespace crescent::reward
