// The speech of a recording as PCM: its Opus track decoded with libopus, for transcription.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "common/io.h"
#include "common/status.h"

namespace recorder::webm {

// Receives consecutive runs of mono 16-bit samples. `start_us` is the time of the run's first
// sample on the recording's clock (0 = the file's start); runs follow the file's timestamps, so a
// pause in the stream (a stalled microphone) is a jump in start_us, not silence.
using PcmSink = std::function<Status(int64_t start_us, std::span<const int16_t> samples)>;

struct OpusAudioSummary {
  uint64_t packets = 0;
  uint64_t lost_packets = 0;  // damaged packets, decoded as concealment
  uint64_t samples = 0;       // delivered to the sink
  int64_t end_us = 0;         // end of the last packet, on the recording's clock
};

// Decodes the first Opus track of a WebM (finalized, or cut short: the decodable part counts) to
// mono PCM at `sample_rate`, which is 8000, 12000, 16000, 24000 or 48000 (libopus decodes to each
// natively, so no resampler is needed). Packet by packet: memory stays bounded (a few KB) however
// long the recording. NotFound when the file has no Opus track; Corrupt when it is not a WebM;
// InvalidArgument for another rate.
Result<OpusAudioSummary> DecodeOpusAudio(RandomAccessReader& input, int sample_rate, const PcmSink& sink);

}  // namespace recorder::webm
