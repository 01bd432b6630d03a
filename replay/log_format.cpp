#include "replay/log_format.hpp"

#include <cstdio>
#include <cstring>

namespace crescent::replay::internal {
namespace {

struct Crc32cTables {
  uint32_t t[8][256];
  Crc32cTables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i)
      for (int s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
  }
};
const Crc32cTables& Tables() {
  static const Crc32cTables tables;
  return tables;
}

void PutU32(std::string* out, uint32_t v) {
  char b[4] = {char(v), char(v >> 8), char(v >> 16), char(v >> 24)};
  out->append(b, 4);
}
uint32_t GetU32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return uint32_t(u[0]) | uint32_t(u[1]) << 8 | uint32_t(u[2]) << 16 | uint32_t(u[3]) << 24;
}

}  // namespace

// Slicing-by-8 software CRC32C (Castagnoli).
uint32_t Crc32c(uint32_t crc, const char* data, size_t n) {
  const auto& t = Tables().t;
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  crc = ~crc;
  while (n >= 8) {
    uint32_t lo =
        crc ^ (uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24);
    crc = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
          t[3][p[4]] ^ t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xff];
  return ~crc;
}

void EncodeRecord(std::string_view payload, std::string* out) {
  char type = static_cast<char>(kFullRecord);
  uint32_t crc = Crc32c(0, &type, 1);
  crc = Crc32c(crc, payload.data(), payload.size());
  PutU32(out, MaskCrc(crc));
  PutU32(out, static_cast<uint32_t>(payload.size()));
  out->push_back(type);
  out->append(payload.data(), payload.size());
}

std::string EncodeLogHeader(uint32_t format_version) {
  std::string out(kLogMagic);
  PutU32(&out, format_version);
  PutU32(&out, MaskCrc(Crc32c(0, out.data(), out.size())));
  return out;
}

HeaderResult ParseLogHeader(std::string_view file, uint32_t* format_version) {
  if (file.size() < kLogHeaderSize) return HeaderResult::kTruncated;
  if (file.substr(0, kLogMagic.size()) != kLogMagic) return HeaderResult::kNoMagic;
  if (MaskCrc(Crc32c(0, file.data(), 12)) != GetU32(file.data() + 12)) return HeaderResult::kBadCrc;
  *format_version = GetU32(file.data() + 8);
  return HeaderResult::kOk;
}

std::string EncodeSnapshot(std::string_view payload, uint32_t format_version) {
  std::string out(kSnapshotMagic);
  PutU32(&out, format_version);
  uint64_t len = payload.size();
  PutU32(&out, static_cast<uint32_t>(len));
  PutU32(&out, static_cast<uint32_t>(len >> 32));
  uint32_t crc = Crc32c(0, out.data() + 8, 4);
  PutU32(&out, MaskCrc(Crc32c(crc, payload.data(), payload.size())));
  out.append(payload.data(), payload.size());
  return out;
}

ParseResult ParseRecord(std::string_view file, size_t offset, uint32_t max_len,
                        std::string_view* payload, size_t* next) {
  if (file.size() - offset < kHeaderSize) return ParseResult::kTruncated;
  const char* h = file.data() + offset;
  uint32_t stored = GetU32(h);
  uint32_t len = GetU32(h + 4);
  if (len > max_len) return ParseResult::kBadLength;
  if (file.size() - offset - kHeaderSize < len) return ParseResult::kTruncated;
  if (static_cast<uint8_t>(h[8]) != kFullRecord) return ParseResult::kBadType;
  uint32_t crc = Crc32c(0, h + 8, 1);
  crc = Crc32c(crc, h + kHeaderSize, len);
  if (MaskCrc(crc) != stored) return ParseResult::kBadCrc;
  *payload = std::string_view(h + kHeaderSize, len);
  *next = offset + kHeaderSize + len;
  return ParseResult::kOk;
}

const char* ParseResultName(ParseResult r) {
  switch (r) {
    case ParseResult::kOk:
      return "ok";
    case ParseResult::kTruncated:
      return "truncated record";
    case ParseResult::kBadLength:
      return "record length over the limit";
    case ParseResult::kBadCrc:
      return "CRC mismatch";
    case ParseResult::kBadType:
      return "unknown record type";
  }
  return "?";
}

std::string LogName(uint64_t n) {
  char b[40];
  std::snprintf(b, sizeof b, "log-%06llu.log", static_cast<unsigned long long>(n));
  return b;
}
std::string SnapshotName(uint64_t n) {
  char b[40];
  std::snprintf(b, sizeof b, "snapshot-%06llu.snap", static_cast<unsigned long long>(n));
  return b;
}

}  // namespace crescent::replay::internal
