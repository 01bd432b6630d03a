// Token ids with a per-token loss mask for supervised training: a chat
// rendered with its assistant spans (ChatTemplate::RenderForTraining), or a
// plain prompt/response pair.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/tokenizer/chat_template.hpp"
#include "common/tokenizer/token_id.hpp"
#include "common/tokenizer/tokenizer.hpp"

namespace crescent::tok {

struct MaskedTokens {
  std::vector<TokenId> ids;
  std::vector<uint8_t> loss_mask;  // one per id: 1 where the loss is on the token, else 0
};

// Encodes `text` one segment at a time, cutting it at every boundary of
// `trained` (sorted, not overlapping, within the text, on UTF-8 character
// boundaries), and marks the tokens of the trained segments 1, so that the
// mask is exact: a token is never half in a span.
//
// The ids equal Encode(text) wherever no token or pre-tokenizer piece of the
// whole text's encoding would cross a boundary. That holds at every boundary
// next to a special or added token, since those split the text before
// pre-tokenization in Hugging Face's tokenizers too: the ends of the chat
// templates' spans ("<|im_end|>", "<|eot_id|>") and Qwen3's span start at
// "<think>". A span's start after a header's newline ("assistant\n" or
// "<|end_header_id|>\n\n") holds it too when the content does not begin with
// whitespace (the tests check it with the Qwen3 and Llama 3 tokenizers);
// content that begins with a newline or a space could have merged with the
// header's newline in the whole text's encoding. Elsewhere the ids are still
// an encoding of the same text (decoding them gives `text`), only not the one
// Encode(text) picks at that boundary: the model trains on a slightly
// different split of those few characters. Throws std::invalid_argument on bad
// spans, and as Tokenizer::Encode does.
MaskedTokens EncodeWithMask(const Tokenizer& tokenizer, std::string_view text,
                            const std::vector<TextSpan>& trained);

// A rendered chat: the loss on its assistant turns (RenderedChat::trained).
MaskedTokens EncodeForTraining(const Tokenizer& tokenizer, const RenderedChat& chat);

// A pair without a chat template: the text is prompt + response, then the
// `end_of_sequence` token; the loss is on the response's tokens and the
// end-of-sequence token. The prompt and the response are encoded apart (as
// above: equal to encoding prompt + response whole when no token would cross
// the seam, e.g. a prompt ending in "=" or a newline before a digit).
MaskedTokens EncodePromptResponse(const Tokenizer& tokenizer, std::string_view prompt,
                                  std::string_view response, TokenId end_of_sequence);

}  // namespace crescent::tok
