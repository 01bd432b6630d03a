#include "common/proto/envelope.hpp"

#include <cstring>

#include "common/proto/wire_archive.hpp"
#include "common/util/log.hpp"

namespace crescent::proto {
namespace {

template <class T>
void Put(std::string* out, T value) {
  out->append(reinterpret_cast<const char*>(&value), sizeof value);
}
template <class T>
T Get(const unsigned char* p) {
  T value;
  std::memcpy(&value, p, sizeof value);
  return value;
}

// Decodes the variant alternative whose kType is `type`.
template <size_t I = 0>
bool DecodeAs(uint16_t type, WireInputArchive& in, std::optional<Message>* out) {
  if constexpr (I == std::variant_size_v<Message>) {
    return false;
  } else {
    using T = std::variant_alternative_t<I, Message>;
    if (static_cast<uint16_t>(T::kType) != type) return DecodeAs<I + 1>(type, in, out);
    T message;
    in(message);
    *out = std::move(message);
    return true;
  }
}

}  // namespace

const char* FinishReasonName(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kLength:
      return "length";
    case FinishReason::kRepeat:
      return "repeat";
    case FinishReason::kBudget:
      return "budget";
  }
  return "unknown";
}

const char* MessageName(const Message& message) {
  static const char* const kNames[] = {
      "Hello",          "Heartbeat",     "Shutdown",       "WorkerError",     "GenerateRequest",
      "GenerateResult", "ScoreRequest",  "ScoreResult",    "TrainRequest",    "TrainResult",
      "SyncWeights",    "WeightsSynced", "SaveCheckpoint", "CheckpointSaved", "ErrorReply"};
  static_assert(sizeof kNames / sizeof kNames[0] == std::variant_size_v<Message>);
  return kNames[message.index()];
}

namespace {
template <class T, class = void>
struct HasRequestId : std::false_type {};
template <class T>
struct HasRequestId<T, std::void_t<decltype(T::request_id)>> : std::true_type {};
template <class T, class = void>
struct HasError : std::false_type {};
template <class T>
struct HasError<T, std::void_t<decltype(T::error)>> : std::true_type {};
template <class T, class = void>
struct IsRequest : std::false_type {};
template <class T>
struct IsRequest<T, std::void_t<typename T::Reply>> : std::true_type {};
}  // namespace

uint64_t RequestIdOf(const Message& message) {
  return std::visit(
      [](const auto& m) -> uint64_t {
        if constexpr (HasRequestId<std::decay_t<decltype(m)>>::value) return m.request_id;
        return 0;
      },
      message);
}

void SetRequestId(Message& message, uint64_t id) {
  std::visit(
      [id](auto& m) {
        if constexpr (HasRequestId<std::decay_t<decltype(m)>>::value) m.request_id = id;
      },
      message);
}

std::string ErrorOf(const Message& message) {
  return std::visit(
      [](const auto& m) -> std::string {
        using T = std::decay_t<decltype(m)>;
        if constexpr (HasError<T>::value) return m.error;
        if constexpr (std::is_same_v<T, WorkerError>) return m.what;
        return {};
      },
      message);
}

std::optional<size_t> ReplyIndexOf(const Message& message) {
  return std::visit(
      [](const auto& m) -> std::optional<size_t> {
        using T = std::decay_t<decltype(m)>;
        if constexpr (IsRequest<T>::value) return Message(typename T::Reply{}).index();
        return std::nullopt;
      },
      message);
}

std::string Encode(const Message& message) {
  std::string frame(kHeaderSize, '\0');
  uint16_t type = 0;
  std::visit(
      [&](const auto& m) {
        type = static_cast<uint16_t>(m.kType);
        WireOutputArchive out(&frame);
        out(m);
      },
      message);
  std::string header;
  Put<uint32_t>(&header, kMagic);
  Put<uint16_t>(&header, kProtocolVersion);
  Put<uint16_t>(&header, type);
  Put<uint32_t>(&header, static_cast<uint32_t>(frame.size() - kHeaderSize));
  frame.replace(0, kHeaderSize, header);
  return frame;
}

Decoded Decode(const void* data, size_t size, size_t max_payload) {
  const auto* p = static_cast<const unsigned char*>(data);
  if (size < kHeaderSize)
    return {std::nullopt, StrCat("frame of ", size, " bytes is shorter than a header")};
  if (Get<uint32_t>(p) != kMagic) return {std::nullopt, "bad magic: not a crescent frame"};
  const uint16_t version = Get<uint16_t>(p + 4);
  if (version != kProtocolVersion) {
    return {std::nullopt,
            StrCat("protocol version ", version, ", this program speaks ", kProtocolVersion)};
  }
  const uint16_t type = Get<uint16_t>(p + 6);
  const uint32_t length = Get<uint32_t>(p + 8);
  if (length > max_payload) {
    return {std::nullopt,
            StrCat("payload of ", length, " bytes exceeds the limit of ", max_payload)};
  }
  if (length != size - kHeaderSize) {
    return {std::nullopt,
            StrCat("header says ", length, " payload bytes, frame has ", size - kHeaderSize)};
  }
  Decoded result;
  try {
    WireInputArchive in(reinterpret_cast<const char*>(p + kHeaderSize), length);
    if (!DecodeAs(type, in, &result.message)) {
      return {std::nullopt, StrCat("unknown message type ", type)};
    }
    if (in.Remaining() != 0) {
      return {std::nullopt,
              StrCat("type ", type, ": ", in.Remaining(), " bytes left after the message")};
    }
  } catch (const std::exception& e) {  // DecodeError, or bad_alloc / length_error
    return {std::nullopt, StrCat("type ", type, ": ", e.what())};
  }
  return result;
}

}  // namespace crescent::proto
