// Small UTF-8 helpers shared by the tokenizers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace crescent::tok {

// Decodes the code point at `pos` and advances past it. On an invalid or
// truncated sequence returns -1 and advances by one byte.
int32_t NextCodePoint(std::string_view s, size_t& pos);
// Offset of the first invalid byte, or npos when `s` is valid UTF-8.
size_t FindInvalidUtf8(std::string_view s);
// As Rust's String::from_utf8_lossy: each maximal invalid subpart becomes U+FFFD.
std::string ToValidUtf8Lossy(std::string_view bytes);
inline bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

}  // namespace crescent::tok
