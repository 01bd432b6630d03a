#include "common/tokenizer/utf8.hpp"

namespace crescent::tok {
namespace {

// Length of the valid sequence at `pos` (1..4), or 0 with `*consumed` set to
// the length of the maximal invalid subpart (at least 1).
size_t ValidLength(std::string_view s, size_t pos, size_t* consumed) {
  auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char c = b(pos);
  *consumed = 1;
  if (c < 0x80) return 1;
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  for (size_t i = 1; i < len; ++i) {
    if (pos + i >= s.size()) return 0;
    unsigned char d = b(pos + i);
    if (i == 1 ? (d < lo || d > hi) : (d < 0x80 || d > 0xBF)) return 0;
    *consumed = i + 1;
  }
  return len;
}

}  // namespace

int32_t NextCodePoint(std::string_view s, size_t& pos) {
  size_t consumed;
  size_t len = ValidLength(s, pos, &consumed);
  if (len == 0) {
    ++pos;
    return -1;
  }
  auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  int32_t cp;
  if (len == 1)
    cp = b(pos);
  else if (len == 2)
    cp = ((b(pos) & 0x1F) << 6) | (b(pos + 1) & 0x3F);
  else if (len == 3)
    cp = ((b(pos) & 0x0F) << 12) | ((b(pos + 1) & 0x3F) << 6) | (b(pos + 2) & 0x3F);
  else
    cp = ((b(pos) & 0x07) << 18) | ((b(pos + 1) & 0x3F) << 12) | ((b(pos + 2) & 0x3F) << 6) |
         (b(pos + 3) & 0x3F);
  pos += len;
  return cp;
}

size_t FindInvalidUtf8(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size()) {
    if (static_cast<unsigned char>(s[pos]) < 0x80) {
      ++pos;
      continue;
    }
    size_t consumed;
    size_t len = ValidLength(s, pos, &consumed);
    if (len == 0) return pos;
    pos += len;
  }
  return std::string_view::npos;
}

std::string ToValidUtf8Lossy(std::string_view bytes) {
  if (FindInvalidUtf8(bytes) == std::string_view::npos) return std::string(bytes);
  std::string out;
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t consumed;
    size_t len = ValidLength(bytes, pos, &consumed);
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      pos += consumed;
    } else {
      out.append(bytes.substr(pos, len));
      pos += len;
    }
  }
  return out;
}

}  // namespace crescent::tok
