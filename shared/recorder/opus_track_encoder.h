// libopus at 48 kHz: blocks of any size in, 20 ms packets with stream timestamps out.
#pragma once

#include <opus/opus.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "common/status.h"
#include "recorder/recorder.h"

namespace recorder {

struct EncodedAudioPacket {
  std::vector<uint8_t> data;
  int64_t pts_us = 0;              // stream time of the packet's first sample
  int64_t discard_padding_ns = 0;  // trailing samples to drop after decoding (last packet only)
};

class OpusTrackEncoder {
 public:
  static constexpr int kSampleRate = 48000;
  static constexpr int kFrameSamples = 960;  // 20 ms per channel
  static constexpr int64_t kFrameUs = 20000;
  static constexpr int64_t kSeekPreRollNs = 80000000;  // RFC 7845 recommends 80 ms

  // REQUIRES: `config` was checked by the Recorder (48 kHz, 1 or 2 channels, sane kbps).
  static Result<std::unique_ptr<OpusTrackEncoder>> Create(const AudioConfig& config);
  ~OpusTrackEncoder();

  // The "OpusHead" identification header (RFC 7845 5.1), the WebM CodecPrivate.
  std::vector<uint8_t> OpusHead() const;
  int pre_skip() const { return pre_skip_; }  // samples the decoder discards at the start
  uint64_t codec_delay_ns() const;

  // `frames` samples per channel, interleaved, the first one captured at stream time
  // `stream_us`. Samples before stream time 0 are dropped. A start more than 20 ms after the
  // end of the buffered audio closes the current packet with silence and starts a new one at
  // `stream_us`; smaller jitter is ignored (the audio clock is trusted).
  Status Add(const float* samples, int frames, int64_t stream_us, std::vector<EncodedAudioPacket>* out);
  // Encodes the buffered rest plus pre_skip() samples of silence, so that every input sample
  // survives decoding; the extra tail is marked as discard padding.
  Status Finish(std::vector<EncodedAudioPacket>* out);

  // The stream time of the next packet this encoder will emit; nullopt before any input.
  std::optional<int64_t> next_packet_us() const;

 private:
  struct EncoderDeleter {
    void operator()(OpusEncoder* e) const { opus_encoder_destroy(e); }
  };
  OpusTrackEncoder(OpusEncoder* encoder, int channels, int pre_skip);
  // Encodes pending_ (exactly one frame) and clears it.
  Status EncodePending(int64_t discard_padding_ns, std::vector<EncodedAudioPacket>* out);
  // Pads pending_ with silence to a whole frame and encodes it.
  Status FlushPartial(std::vector<EncodedAudioPacket>* out);

  std::unique_ptr<OpusEncoder, EncoderDeleter> encoder_;
  int channels_;
  int pre_skip_;
  bool anchored_ = false;
  int64_t anchor_us_ = 0;  // stream time of the first packet since the last gap
  int64_t packets_since_anchor_ = 0;
  std::vector<float> pending_;  // < one frame, interleaved
};

}  // namespace recorder
