// libFuzzer target: the tus header parsers (server/ingest/tus_protocol.cc), the only code that reads
// untrusted header values. Must never crash, hang or leak, and what parses must round-trip:
//   cmake -S . -B build/fuzz -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
//   ninja -C build/fuzz -j2 tus_headers_fuzzer
//   build/fuzz/tests/server/tus_headers_fuzzer -max_total_time=300 -max_len=512 CORPUS_DIR
// Seed the corpus with header values from tests/server/tus_protocol_test.cc.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "ingest/tus_protocol.h"

namespace tus = recorder::server::tus;

namespace {

void Check(bool ok, const char* what, std::string_view input) {
  if (ok) return;
  std::fprintf(stderr, "%s for input of %zu bytes\n", what, input.size());
  __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  uint64_t value = 0;
  if (tus::ParseUnsigned(input, &value)) {
    Check(value <= static_cast<uint64_t>(INT64_MAX), "ParseUnsigned beyond 2^63-1", input);
    Check(std::stoull(std::string(input)) == value, "ParseUnsigned disagrees with stoull", input);
  }

  if (auto decoded = tus::Base64Decode(input)) {
    // Encoding what was decoded and decoding again gives the same bytes.
    auto again = tus::Base64Decode(tus::Base64Encode(*decoded));
    Check(again && *again == *decoded, "Base64 does not round-trip", input);
  }

  if (auto metadata = tus::ParseMetadata(input)) {
    std::string rebuilt;
    for (const auto& [key, text] : *metadata) {
      Check(!key.empty() && key.find_first_of(" ,") == std::string::npos, "metadata key with a separator", input);
      if (!rebuilt.empty()) rebuilt += ",";
      rebuilt += key + " " + tus::Base64Encode(text);
    }
    auto reparsed = tus::ParseMetadata(rebuilt);
    Check(reparsed && *reparsed == *metadata, "metadata does not round-trip", input);
  }

  if (auto checksum = tus::ParseChecksum(input)) {
    Check(!checksum->algorithm.empty() && !checksum->digest.empty(), "empty checksum part", input);
    for (char c : checksum->algorithm) {
      Check(!(c >= 'A' && c <= 'Z') && c != ' ', "checksum algorithm not lower-case", input);
    }
  }
  return 0;
}
