#include "webm/ebml_writer.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace recorder::webm::internal {
namespace {

// One write per megabyte; FileWriter passes writes of this size straight to the file.
// The buffer starts small and doubles up to this, so a small file never allocates the whole of it.
constexpr size_t kBufferBytes = 1 << 20;
constexpr size_t kFirstBufferBytes = 16 << 10;

int IdBytes(uint32_t id) { return id > 0xFFFFFF ? 4 : id > 0xFFFF ? 3 : id > 0xFF ? 2 : 1; }

// Shortest EBML size field for `size`; the all-ones value of each length means "unknown".
int SizeBytes(uint64_t size) {
  int n = 1;
  while (n < 8 && size >= (1ull << (7 * n)) - 1) ++n;
  return n;
}

int UintBytes(uint64_t v) {
  int n = 1;
  while (n < 8 && v >> (8 * n) != 0) ++n;
  return n;
}

int IntBytes(int64_t v) {
  int n = 1;
  while (n < 8 && (v < -(1ll << (8 * n - 1)) || v >= (1ll << (8 * n - 1)))) ++n;
  return n;
}

void BigEndian(uint64_t v, int n, uint8_t* out) {
  for (int i = n - 1; i >= 0; --i, v >>= 8) out[i] = static_cast<uint8_t>(v);
}

}  // namespace

uint64_t EbmlHeaderBytes(uint32_t id, uint64_t payload_size) {
  return static_cast<uint64_t>(IdBytes(id) + SizeBytes(payload_size));
}

uint64_t EbmlUintBytes(uint32_t id, uint64_t value) {
  const int n = UintBytes(value);
  return EbmlHeaderBytes(id, static_cast<uint64_t>(n)) + static_cast<uint64_t>(n);
}

uint64_t EbmlIntBytes(uint32_t id, int64_t value) {
  const int n = IntBytes(value);
  return EbmlHeaderBytes(id, static_cast<uint64_t>(n)) + static_cast<uint64_t>(n);
}

EbmlWriter::EbmlWriter(SeekableWriter& out) : out_(out), buffer_(kFirstBufferBytes), buffer_start_(out.Position()) {}

void EbmlWriter::Fail(Status s) {
  if (status_.ok()) status_ = std::move(s);
}

bool EbmlWriter::Room(size_t n) {
  if (!status_.ok()) return false;
  if (buffer_.size() - used_ >= n) return true;
  if (buffer_.size() < kBufferBytes) buffer_.resize(std::min(kBufferBytes, std::max(2 * buffer_.size(), used_ + n)));
  if (buffer_.size() - used_ < n) (void)Flush();  // records its error in status_
  return status_.ok();
}

Status EbmlWriter::Flush() {
  if (!status_.ok()) return status_;
  if (used_ > 0) {
    Status s = out_.Write(buffer_.data(), used_);
    if (!s.ok()) {
      Fail(std::move(s));
      return status_;
    }
  }
  buffer_start_ += used_;
  used_ = 0;
  return Status::Ok();
}

void EbmlWriter::Put(const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    if (!Room(1)) return;
    const size_t take = std::min(n, buffer_.size() - used_);
    std::memcpy(buffer_.data() + used_, p, take);
    used_ += take;
    p += take;
    n -= take;
  }
}

void EbmlWriter::PutId(uint32_t id) {
  uint8_t b[4];
  const int n = IdBytes(id);
  BigEndian(id, n, b);
  Put(b, static_cast<size_t>(n));
}

void EbmlWriter::PutSize(uint64_t size) {
  uint8_t b[8];
  const int n = SizeBytes(size);
  BigEndian(size | (1ull << (7 * n)), n, b);
  Put(b, static_cast<size_t>(n));
}

void EbmlWriter::Element(uint32_t id, uint64_t payload_size) {
  PutId(id);
  PutSize(payload_size);
}

void EbmlWriter::Uint(uint32_t id, uint64_t value) {
  uint8_t b[8];
  const int n = UintBytes(value);
  BigEndian(value, n, b);
  Element(id, static_cast<uint64_t>(n));
  Put(b, static_cast<size_t>(n));
}

void EbmlWriter::Int(uint32_t id, int64_t value) {
  uint8_t b[8];
  const int n = IntBytes(value);
  BigEndian(static_cast<uint64_t>(value), n, b);
  Element(id, static_cast<uint64_t>(n));
  Put(b, static_cast<size_t>(n));
}

uint64_t EbmlWriter::Double(uint32_t id, double value) {
  uint64_t bits = 0;  // std::bit_cast is missing from emscripten 3.1.6's libc++
  static_assert(sizeof bits == sizeof value);
  std::memcpy(&bits, &value, sizeof bits);
  return Uint64(id, bits);
}

uint64_t EbmlWriter::Uint64(uint32_t id, uint64_t value) {
  uint8_t b[8];
  BigEndian(value, 8, b);
  Element(id, 8);
  const uint64_t pos = position();
  Put(b, 8);
  return pos;
}

void EbmlWriter::String(uint32_t id, std::string_view value) { Binary(id, value.data(), value.size()); }

void EbmlWriter::Binary(uint32_t id, const void* data, size_t n) {
  Element(id, n);
  Put(data, n);
}

void EbmlWriter::Bytes(const void* data, size_t n) { Put(data, n); }

uint64_t EbmlWriter::BeginMaster(uint32_t id) {
  PutId(id);
  const uint64_t size_pos = position();
  const uint8_t placeholder[8] = {0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};  // unknown until EndMaster
  Put(placeholder, sizeof placeholder);
  return size_pos;
}

void EbmlWriter::EndMaster(uint64_t size_pos) { PatchUint64(size_pos, (1ull << 56) | (position() - size_pos - 8)); }

void EbmlWriter::PatchUint64(uint64_t pos, uint64_t value) {
  if (!status_.ok()) return;
  uint8_t b[8];
  BigEndian(value, 8, b);
  if (pos >= buffer_start_) {
    std::memcpy(buffer_.data() + (pos - buffer_start_), b, sizeof b);
    return;
  }
  const uint64_t end = position();
  Status s = Flush();
  if (s.ok()) s = out_.Seek(pos);
  if (s.ok()) s = out_.Write(b, sizeof b);
  if (s.ok()) s = out_.Seek(end);
  if (!s.ok()) Fail(std::move(s));
}

void EbmlWriter::CopyFrom(WindowedSource& input, uint64_t from, uint64_t n) {
  while (n > 0) {
    if (!Room(1)) return;
    const size_t take = static_cast<size_t>(std::min<uint64_t>(n, buffer_.size() - used_));
    if (!input.Read(from, buffer_.data() + used_, take)) {
      Fail(IoError("cannot read " + std::to_string(take) + " bytes of the input at " + std::to_string(from)));
      return;
    }
    used_ += take;
    from += take;
    n -= take;
  }
}

}  // namespace recorder::webm::internal
