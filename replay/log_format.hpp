// Internal: file headers, record framing and CRC32C shared by the journal and
// its bench. All integers little-endian.
// Log file: header "CRSLOG01" | format version (4) | masked crc32c(the 12
//           bytes before) (4), then records.
// Record: crc32c(type + payload) masked (4) | payload length (4) | type (1) |
//         payload.
// Snapshot file: "CRSNAP02" | format version (4) | length (8) |
//                masked crc32c(format version + payload) (4) | payload.
// The format version is the state machine's (StateMachine::FormatVersion).
// Files written before format versions: logs without a header, snapshots
// with the magic "CRSNAP01" and no version; both are refused as version 0.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace crescent::replay::internal {

constexpr size_t kHeaderSize = 9;
constexpr uint8_t kFullRecord = 1;
constexpr std::string_view kLogMagic = "CRSLOG01";
constexpr size_t kLogHeaderSize = 8 + 4 + 4;
constexpr std::string_view kSnapshotMagic = "CRSNAP02";
constexpr std::string_view kUnversionedSnapshotMagic = "CRSNAP01";
constexpr size_t kSnapshotHeaderSize = 8 + 4 + 8 + 4;

uint32_t Crc32c(uint32_t crc, const char* data, size_t n);
inline uint32_t MaskCrc(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

std::string EncodeLogHeader(uint32_t format_version);
enum class HeaderResult { kOk, kTruncated, kNoMagic, kBadCrc };
// Parses the header at the start of a log file; kOk sets *format_version.
HeaderResult ParseLogHeader(std::string_view file, uint32_t* format_version);

void EncodeRecord(std::string_view payload, std::string* out);
std::string EncodeSnapshot(std::string_view payload, uint32_t format_version);

// Result of parsing one record at offset.
enum class ParseResult { kOk, kTruncated, kBadLength, kBadCrc, kBadType };
ParseResult ParseRecord(std::string_view file, size_t offset, uint32_t max_len,
                        std::string_view* payload, size_t* next);
const char* ParseResultName(ParseResult r);

std::string LogName(uint64_t n);
std::string SnapshotName(uint64_t n);

}  // namespace crescent::replay::internal
