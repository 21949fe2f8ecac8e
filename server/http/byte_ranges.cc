#include "http/byte_ranges.h"

#include <algorithm>

namespace recorder::server {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Optional whitespace (SP, HTAB) around a list element.
std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// 1*DIGIT, saturating at 2^64-1: a position of 10^20 is valid syntax that lies past any file.
bool ParseDigits(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  uint64_t value = 0;
  for (char c : s) {
    if (!IsDigit(c)) return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    value = value > (UINT64_MAX - digit) / 10 ? UINT64_MAX : value * 10 + digit;
  }
  *out = value;
  return true;
}

// The range unit is case-insensitive (RFC 9110 §14.1).
bool IsBytesUnit(std::string_view unit) {
  constexpr std::string_view kBytes = "bytes";
  return unit.size() == kBytes.size() && std::equal(unit.begin(), unit.end(), kBytes.begin(), [](char a, char b) {
           return (a >= 'A' && a <= 'Z' ? a - 'A' + 'a' : a) == b;
         });
}

}  // namespace

RangeAnswer ParseRange(std::string_view header, uint64_t size) {
  const RangeAnswer whole;
  // An empty representation has no byte to name in a Content-Range: always sent whole.
  if (header.empty() || size == 0) return whole;
  const size_t equals = header.find('=');
  if (equals == std::string_view::npos || !IsBytesUnit(header.substr(0, equals))) return whole;

  std::vector<ByteRange> ranges;
  size_t specs = 0;
  std::string_view rest = header.substr(equals + 1);
  while (true) {
    const size_t comma = rest.find(',');
    const std::string_view spec = TrimOws(rest.substr(0, comma));
    if (!spec.empty()) {  // the list syntax allows empty elements ("0-1, ,5-6")
      if (++specs > kMaxRangeSpecs) return whole;
      const size_t dash = spec.find('-');
      if (dash == std::string_view::npos) return whole;
      const std::string_view first_text = spec.substr(0, dash), last_text = spec.substr(dash + 1);
      if (first_text.empty()) {  // suffix-range "-N": the last N bytes, all of them when N >= size
        uint64_t suffix;
        if (!ParseDigits(last_text, &suffix)) return whole;
        if (suffix > 0) ranges.push_back({size - std::min(suffix, size), size - 1});
      } else {  // int-range "A-" or "A-B", B clamped to the last byte
        uint64_t first, last = UINT64_MAX;
        if (!ParseDigits(first_text, &first)) return whole;
        if (!last_text.empty() && !ParseDigits(last_text, &last)) return whole;
        if (last < first) return whole;  // invalid, not unsatisfiable (§14.1.1)
        if (first < size) ranges.push_back({first, std::min(last, size - 1)});
      }
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (specs == 0) return whole;
  if (ranges.empty()) return {RangeAnswer::kUnsatisfiable, {}};

  // Overlapping or adjacent ranges become one (§14.1.1 asks servers to coalesce them), which
  // also bounds what a thousand copies of one range can make us send.
  std::sort(ranges.begin(), ranges.end(), [](const ByteRange& a, const ByteRange& b) { return a.first < b.first; });
  std::vector<ByteRange> merged;
  for (const ByteRange& r : ranges) {
    if (!merged.empty() && r.first <= merged.back().last + 1) {
      merged.back().last = std::max(merged.back().last, r.last);
    } else {
      merged.push_back(r);
    }
  }
  return {RangeAnswer::kRanges, std::move(merged)};
}

}  // namespace recorder::server
