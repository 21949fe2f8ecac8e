// libFuzzer target: Finalize() on arbitrary bytes, and Verify() on what it wrote, in memory; and
// DecodeOpusAudio() (the transcription's input) on the same bytes.
// Must never crash, hang, leak or grow memory with the input; any Status is fine, but whatever
// Finalize accepts must verify. Built and run by tests/fuzz.sh (clang, ASan + UBSan), whose
// seeds are tests/webm/fuzz/regressions.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>

#include "common/io.h"
#include "webm/finalize.h"
#include "webm/opus_audio.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  recorder::MemoryReader live(std::string_view(reinterpret_cast<const char*>(data), size));
  recorder::MemoryWriter seekable;
  recorder::Result<recorder::webm::FinalizeInfo> info = recorder::webm::Finalize(live, seekable);
  if (info.ok()) {
    recorder::MemoryReader written(seekable.bytes());
    const recorder::Status verified = recorder::webm::Verify(written, *info);
    if (!verified.ok()) {
      std::fprintf(stderr, "Verify failed after Finalize succeeded: %s\n", verified.ToString().c_str());
      __builtin_trap();
    }
  }
  recorder::MemoryReader audio(std::string_view(reinterpret_cast<const char*>(data), size));
  (void)recorder::webm::DecodeOpusAudio(audio, 16000,
                                        [](int64_t, std::span<const int16_t>) { return recorder::Status::Ok(); });
  return 0;
}
