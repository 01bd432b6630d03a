// The integer type of a token id, from the tokenizer to the model: encoded
// text, generation requests and results, model configs. The wire messages
// (common/proto) and the journal carry the same int32_t, so ids pass between
// them without conversion. Tensors of ids are torch::kLong (what embedding
// lookups index with): convert where such a tensor is built, nowhere else.
#pragma once

#include <cstdint>

namespace crescent::tok {

using TokenId = int32_t;

}  // namespace crescent::tok
