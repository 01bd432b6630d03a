// Internal: record framing and CRC32C shared by the journal and its bench.
// Record: crc32c(type + payload) masked (4, LE) | payload length (4, LE) |
//         type (1) | payload.
// Snapshot file: "CRSNAP01" | length (8, LE) | masked crc32c(payload) (4) | payload.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace crescent::replay::internal {

constexpr size_t kHeaderSize = 9;
constexpr uint8_t kFullRecord = 1;
constexpr std::string_view kSnapshotMagic = "CRSNAP01";
constexpr size_t kSnapshotHeaderSize = 8 + 8 + 4;

uint32_t Crc32c(uint32_t crc, const char* data, size_t n);
inline uint32_t MaskCrc(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

void EncodeRecord(std::string_view payload, std::string* out);
std::string EncodeSnapshot(std::string_view payload);

// Result of parsing one record at offset.
enum class ParseResult { kOk, kTruncated, kBadLength, kBadCrc, kBadType };
ParseResult ParseRecord(std::string_view file, size_t offset, uint32_t max_len,
                        std::string_view* payload, size_t* next);
const char* ParseResultName(ParseResult r);

std::string LogName(uint64_t n);
std::string SnapshotName(uint64_t n);

}  // namespace crescent::replay::internal
