// libFuzzer target: the Range parser (server/http/byte_ranges.cc), which reads an untrusted header
// for every recording and static file served. Run by tests/fuzz.sh; by hand:
//   ninja -C build/fuzz byte_ranges_fuzzer
//   build/fuzz/tests/server/byte_ranges_fuzzer -max_total_time=300 -max_len=256 CORPUS_DIR
// The first 8 bytes are the representation's size (small sizes made likely), the rest the header.
// Invariants: ranges lie inside the size, ascending, disjoint and not adjacent (so never more
// bytes than the file), unsatisfiable only for a valid bytes header, and parsing is repeatable.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "http/byte_ranges.h"

namespace {

using recorder::server::ParseRange;
using recorder::server::RangeAnswer;

void Check(bool ok, const char* what, std::string_view header, uint64_t size) {
  if (ok) return;
  std::fprintf(stderr, "%s for a header of %zu bytes and size %llu\n", what, header.size(),
               static_cast<unsigned long long>(size));
  __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t length) {
  uint64_t raw = 0;
  const size_t prefix = length < sizeof raw ? length : sizeof raw;
  std::memcpy(&raw, data, prefix);
  // Mostly small sizes, where ranges meet the end; every few inputs a huge one.
  const uint64_t size = (raw & 0xff) == 0xff ? raw : raw % 4096;
  const std::string_view header(reinterpret_cast<const char*>(data + prefix), length - prefix);

  const RangeAnswer answer = ParseRange(header, size);
  Check(answer.kind == RangeAnswer::kRanges || answer.ranges.empty(), "ranges outside kRanges", header, size);
  Check(answer.kind != RangeAnswer::kRanges || !answer.ranges.empty(), "kRanges without a range", header, size);
  Check(answer.ranges.size() <= recorder::server::kMaxRangeSpecs, "more ranges than specs", header, size);
  uint64_t total = 0;
  for (size_t i = 0; i < answer.ranges.size(); ++i) {
    const auto& r = answer.ranges[i];
    Check(r.first <= r.last && r.last < size, "range outside the size", header, size);
    if (i > 0) Check(answer.ranges[i - 1].last + 1 < r.first, "ranges not sorted, disjoint, apart", header, size);
    total += r.length();
  }
  Check(total <= size, "more bytes than the file", header, size);
  Check(size > 0 || answer.kind == RangeAnswer::kWhole, "a range of an empty file", header, size);

  const RangeAnswer again = ParseRange(header, size);
  Check(again.kind == answer.kind && again.ranges == answer.ranges, "not repeatable", header, size);
  return 0;
}
