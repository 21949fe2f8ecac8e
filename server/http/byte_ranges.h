// The Range header of a GET (RFC 9110 §14): what to send of a representation of a known size.
// A pure function, so the rules sit in one place with their unit tests and a fuzzer
// (tests/server/fuzz/byte_ranges_fuzzer.cc); http/respond.cc applies the answer to a response.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace recorder::server {

// Bytes [first, last] of the representation, both inclusive (as in Content-Range).
struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;
  uint64_t length() const { return last - first + 1; }
  bool operator==(const ByteRange&) const = default;
};

struct RangeAnswer {
  enum Kind {
    kWhole,          // no Range, another unit, invalid syntax, or an empty representation: 200
    kRanges,         // 206: one range (Content-Range) or several (the server may still send all)
    kUnsatisfiable,  // 416 with "Content-Range: bytes */size"
  };
  Kind kind = kWhole;
  // kRanges only: ascending, each inside the size, overlapping and adjacent ones merged, so
  // together they never hold more bytes than the representation.
  std::vector<ByteRange> ranges;
};

// More range-specs than this and the header is ignored (a client that wants that many pieces
// is better served the whole representation).
inline constexpr size_t kMaxRangeSpecs = 100;

// `header`: the Range header's value (empty when absent). `size`: the representation's length.
RangeAnswer ParseRange(std::string_view header, uint64_t size);

}  // namespace recorder::server
