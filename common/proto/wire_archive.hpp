// Cereal archives for the wire: little-endian binary, like cereal's
// BinaryArchive, but the input side reads from a bounded buffer and refuses a
// container whose declared size exceeds the bytes left, so that a corrupt or
// hostile frame can neither overrun the buffer nor make the receiver allocate
// far more than the frame's length.
#pragma once

#include <cereal/cereal.hpp>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace crescent::proto {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the wire format is little-endian");

class WireOutputArchive
    : public cereal::OutputArchive<WireOutputArchive, cereal::AllowEmptyClassElision> {
 public:
  explicit WireOutputArchive(std::string* out)
      : cereal::OutputArchive<WireOutputArchive, cereal::AllowEmptyClassElision>(this), out_(out) {}
  void SaveBinary(const void* data, size_t size) {
    out_->append(static_cast<const char*>(data), size);
  }

 private:
  std::string* out_;
};

// Thrown when a payload does not decode; the receiver turns it into a logged drop.
class DecodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class WireInputArchive
    : public cereal::InputArchive<WireInputArchive, cereal::AllowEmptyClassElision> {
 public:
  WireInputArchive(const char* data, size_t size)
      : cereal::InputArchive<WireInputArchive, cereal::AllowEmptyClassElision>(this),
        data_(data),
        size_(size) {}
  void LoadBinary(void* out, size_t size) {
    if (size > size_ - pos_) throw DecodeError("payload truncated");
    std::memcpy(out, data_ + pos_, size);
    pos_ += size;
  }
  // A container of n elements needs at least n bytes of payload.
  void CheckSize(uint64_t n) const {
    if (n > size_ - pos_) throw DecodeError("container size exceeds the payload");
  }
  size_t Remaining() const { return size_ - pos_; }

 private:
  const char* data_;
  size_t size_;
  size_t pos_ = 0;
};

template <class T>
std::enable_if_t<std::is_arithmetic<T>::value> CEREAL_SAVE_FUNCTION_NAME(WireOutputArchive& ar,
                                                                         const T& t) {
  ar.SaveBinary(std::addressof(t), sizeof(t));
}
template <class T>
std::enable_if_t<std::is_arithmetic<T>::value> CEREAL_LOAD_FUNCTION_NAME(WireInputArchive& ar,
                                                                         T& t) {
  ar.LoadBinary(std::addressof(t), sizeof(t));
}
template <class Archive, class T>
CEREAL_ARCHIVE_RESTRICT(WireInputArchive, WireOutputArchive)
CEREAL_SERIALIZE_FUNCTION_NAME(Archive& ar, cereal::NameValuePair<T>& t) {
  ar(t.value);
}
template <class T>
void CEREAL_SAVE_FUNCTION_NAME(WireOutputArchive& ar, const cereal::SizeTag<T>& t) {
  ar(t.size);
}
template <class T>
void CEREAL_LOAD_FUNCTION_NAME(WireInputArchive& ar, cereal::SizeTag<T>& t) {
  ar(t.size);
  ar.CheckSize(static_cast<uint64_t>(t.size));
}
template <class T>
void CEREAL_SAVE_FUNCTION_NAME(WireOutputArchive& ar, const cereal::BinaryData<T>& bd) {
  ar.SaveBinary(bd.data, static_cast<size_t>(bd.size));
}
template <class T>
void CEREAL_LOAD_FUNCTION_NAME(WireInputArchive& ar, cereal::BinaryData<T>& bd) {
  ar.LoadBinary(bd.data, static_cast<size_t>(bd.size));
}

}  // namespace crescent::proto

CEREAL_REGISTER_ARCHIVE(crescent::proto::WireOutputArchive)
CEREAL_REGISTER_ARCHIVE(crescent::proto::WireInputArchive)
CEREAL_SETUP_ARCHIVE_TRAITS(crescent::proto::WireInputArchive, crescent::proto::WireOutputArchive)
