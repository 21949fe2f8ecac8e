// libFuzzer target: Finalize() (and Verify() on what it wrote) on arbitrary bytes.
// Must never crash, hang or leak; any Status is fine.
//   cmake -S . -B build/fuzz-webm -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
//   ninja -C build/fuzz-webm -j2 webm_finalize_fuzzer
//   build/fuzz-webm/tests/webm/webm_finalize_fuzzer -max_total_time=60 -max_len=65536 CORPUS_DIR
// Seed the corpus with the first few KB of a live WebM (e.g. head -c 20000 of an ffmpeg -live 1 file).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "webm/finalize.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Finalize works on paths; per-process names keep parallel fuzzing jobs apart.
  static const std::string dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    return std::string(tmp ? tmp : "/tmp");
  }();
  static const std::string in = dir + "/webm_fuzz_in_" + std::to_string(getpid()) + ".webm";
  static const std::string out = dir + "/webm_fuzz_out_" + std::to_string(getpid()) + ".webm";
  FILE* f = std::fopen(in.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  recorder::Result<recorder::webm::FinalizeInfo> info = recorder::webm::Finalize(in, out);
  if (info.ok()) {
    const recorder::Status verified = recorder::webm::Verify(out, *info);
    if (!verified.ok()) {
      // Whatever Finalize accepts it must write readably.
      std::fprintf(stderr, "Verify failed after Finalize succeeded: %s\n", verified.ToString().c_str());
      __builtin_trap();
    }
  }
  return 0;
}
