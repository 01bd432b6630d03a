// Framing of messages.hpp's messages: one versioned envelope,
//   [magic "CRSC" u32][protocol version u16][type u16][payload length u32][payload]
// little-endian, payload serialised with WireOutputArchive.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "common/proto/messages.hpp"

namespace crescent::proto {

inline constexpr uint32_t kMagic = 0x43535243;  // "CRSC" little-endian
inline constexpr size_t kHeaderSize = 12;

std::string Encode(const Message& message);

// Either a message or the reason the frame was rejected.
struct Decoded {
  std::optional<Message> message;
  std::string error;
};

// Never throws on bad input: a short, oversized, unknown-type, wrong-version or
// undecodable frame yields `error`.
Decoded Decode(const void* data, size_t size, size_t max_payload);

}  // namespace crescent::proto
