#include "common/tokenizer/loss_mask.hpp"

#include <stdexcept>

#include "common/util/log.hpp"

namespace crescent::tok {
namespace {

void Append(const Tokenizer& tokenizer, std::string_view segment, uint8_t trained,
            MaskedTokens* out) {
  if (segment.empty()) return;
  const std::vector<TokenId> ids = tokenizer.Encode(segment);
  out->ids.insert(out->ids.end(), ids.begin(), ids.end());
  out->loss_mask.insert(out->loss_mask.end(), ids.size(), trained);
}

}  // namespace

MaskedTokens EncodeWithMask(const Tokenizer& tokenizer, std::string_view text,
                            const std::vector<TextSpan>& trained) {
  MaskedTokens out;
  size_t at = 0;
  for (const TextSpan& span : trained) {
    if (span.begin < at || span.end < span.begin || span.end > text.size())
      throw std::invalid_argument(StrCat("loss mask: span [", span.begin, ", ", span.end,
                                         ") is out of order or outside the text of ", text.size(),
                                         " bytes"));
    Append(tokenizer, text.substr(at, span.begin - at), 0, &out);
    Append(tokenizer, text.substr(span.begin, span.end - span.begin), 1, &out);
    at = span.end;
  }
  Append(tokenizer, text.substr(at), 0, &out);
  return out;
}

MaskedTokens EncodeForTraining(const Tokenizer& tokenizer, const RenderedChat& chat) {
  return EncodeWithMask(tokenizer, chat.text, chat.trained);
}

MaskedTokens EncodePromptResponse(const Tokenizer& tokenizer, std::string_view prompt,
                                  std::string_view response, TokenId end_of_sequence) {
  MaskedTokens out;
  Append(tokenizer, prompt, 0, &out);
  Append(tokenizer, response, 1, &out);
  out.ids.push_back(end_of_sequence);
  out.loss_mask.push_back(1);
  return out;
}

}  // namespace crescent::tok
