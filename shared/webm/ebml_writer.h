// Writes EBML elements to a SeekableWriter through one buffer (growing to 1 MiB), so that the many
// small element headers of a WebM file cost one write per megabyte, and fills in sizes afterwards.
//
// Errors are sticky: after the first failed write every call is a no-op and status() returns that
// error, so a caller checks status() once per frame instead of after every element.
//
// Internal to shared/webm. Not thread-safe; one per output.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "common/io.h"
#include "common/status.h"
#include "webm/block_walker.h"

namespace recorder::webm::internal {

// Bytes an element takes as EbmlWriter writes it: its header alone (ID and shortest size field),
// or the whole of an unsigned or signed integer element.
uint64_t EbmlHeaderBytes(uint32_t id, uint64_t payload_size);
uint64_t EbmlUintBytes(uint32_t id, uint64_t value);
uint64_t EbmlIntBytes(uint32_t id, int64_t value);

class EbmlWriter {
 public:
  // Writes from `out`'s current position on.
  explicit EbmlWriter(SeekableWriter& out);
  EbmlWriter(const EbmlWriter&) = delete;
  EbmlWriter& operator=(const EbmlWriter&) = delete;

  // Absolute output position of the next byte written.
  uint64_t position() const { return buffer_start_ + used_; }
  const Status& status() const { return status_; }

  // An element header whose payload follows (written by the caller), with the shortest size field.
  void Element(uint32_t id, uint64_t payload_size);
  void Uint(uint32_t id, uint64_t value);
  void Int(uint32_t id, int64_t value);
  // An 8-byte float, and an 8-byte unsigned integer, whatever the value, so that PatchUint64 can
  // fill them in later. Return the position of the value.
  uint64_t Double(uint32_t id, double value);
  uint64_t Uint64(uint32_t id, uint64_t value);
  void String(uint32_t id, std::string_view value);
  void Binary(uint32_t id, const void* data, size_t n);
  void Bytes(const void* data, size_t n);

  // Starts a master element whose size is not known yet: its ID, then an 8-byte size field that
  // EndMaster fills in. Returns the position of that size field.
  uint64_t BeginMaster(uint32_t id);
  // Sets the size of the element begun at `size_pos` to end at position().
  void EndMaster(uint64_t size_pos);
  // Overwrites the 8 bytes at `pos` with `value`, big-endian. REQUIRES: pos + 8 <= position().
  // In the buffer when it still holds those bytes, otherwise through a seek back and forth.
  void PatchUint64(uint64_t pos, uint64_t value);

  // Copies [from, from + n) of the input to the output, through the buffer, one buffer at a time.
  void CopyFrom(WindowedSource& input, uint64_t from, uint64_t n);

  // Hands every buffered byte to the SeekableWriter.
  Status Flush();

 private:
  void Put(const void* data, size_t n);
  void PutId(uint32_t id);
  void PutSize(uint64_t size);
  // Makes room for at least `n` more bytes (n <= 1 MiB), growing or flushing the buffer; false
  // after an error.
  bool Room(size_t n);
  void Fail(Status s);

  SeekableWriter& out_;
  std::vector<uint8_t> buffer_;  // bytes for [buffer_start_, position()), then room
  size_t used_ = 0;
  uint64_t buffer_start_ = 0;
  Status status_;
};

}  // namespace recorder::webm::internal
