#include "recorder/opus_track_encoder.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace recorder {
namespace {

constexpr int kMaxPacketBytes = 4000;  // > 1275 * 3, libopus's largest 60 ms packet

void PutLe16(std::vector<uint8_t>* v, uint16_t x) {
  v->push_back(static_cast<uint8_t>(x));
  v->push_back(static_cast<uint8_t>(x >> 8));
}

void PutLe32(std::vector<uint8_t>* v, uint32_t x) {
  for (int i = 0; i < 4; ++i) v->push_back(static_cast<uint8_t>(x >> (8 * i)));
}

}  // namespace

OpusTrackEncoder::OpusTrackEncoder(OpusEncoder* encoder, int channels, int pre_skip)
    : encoder_(encoder), channels_(channels), pre_skip_(pre_skip) {
  pending_.reserve(static_cast<size_t>(kFrameSamples * channels));
}

OpusTrackEncoder::~OpusTrackEncoder() = default;

Result<std::unique_ptr<OpusTrackEncoder>> OpusTrackEncoder::Create(const AudioConfig& config) {
  int error = OPUS_OK;
  OpusEncoder* raw = opus_encoder_create(kSampleRate, config.channels, OPUS_APPLICATION_VOIP, &error);
  if (raw == nullptr || error != OPUS_OK) {
    return Internal(std::string("opus_encoder_create: ") + opus_strerror(error));
  }
  std::unique_ptr<OpusEncoder, EncoderDeleter> owned(raw);
  opus_int32 lookahead = 0;
  if (opus_encoder_ctl(raw, OPUS_SET_BITRATE(config.kbps * 1000)) != OPUS_OK ||
      opus_encoder_ctl(raw, OPUS_GET_LOOKAHEAD(&lookahead)) != OPUS_OK) {
    return Internal("opus_encoder_ctl failed");
  }
  return std::unique_ptr<OpusTrackEncoder>(new OpusTrackEncoder(owned.release(), config.channels, lookahead));
}

std::vector<uint8_t> OpusTrackEncoder::OpusHead() const {
  std::vector<uint8_t> head = {'O', 'p', 'u', 's', 'H', 'e', 'a', 'd'};
  head.push_back(1);  // version
  head.push_back(static_cast<uint8_t>(channels_));
  PutLe16(&head, static_cast<uint16_t>(pre_skip_));
  PutLe32(&head, kSampleRate);  // input sample rate (informational)
  PutLe16(&head, 0);            // output gain, Q7.8 dB
  head.push_back(0);            // channel mapping family 0: mono or L/R stereo
  return head;
}

uint64_t OpusTrackEncoder::codec_delay_ns() const {
  return static_cast<uint64_t>(pre_skip_) * 1000000000u / kSampleRate;
}

std::optional<int64_t> OpusTrackEncoder::next_packet_us() const {
  if (!anchored_) return std::nullopt;
  return anchor_us_ + packets_since_anchor_ * kFrameUs;
}

Status OpusTrackEncoder::Add(const float* samples, int frames, int64_t stream_us,
                             std::vector<EncodedAudioPacket>* out) {
  if (stream_us < 0) {
    // Drop the samples captured before time zero; the rest starts (about) at zero.
    const int64_t skip = (-stream_us * kSampleRate + 999999) / 1000000;
    if (skip >= frames) return Status::Ok();
    samples += skip * channels_;
    frames -= static_cast<int>(skip);
    stream_us += skip * 1000000 / kSampleRate;
  }
  if (frames <= 0) return Status::Ok();

  if (!anchored_) {
    anchored_ = true;
    anchor_us_ = stream_us;
    packets_since_anchor_ = 0;
  } else {
    const int64_t buffered_end_us =
        *next_packet_us() + static_cast<int64_t>(pending_.size() / channels_) * 1000000 / kSampleRate;
    if (stream_us > buffered_end_us + kFrameUs) {
      RETURN_IF_ERROR(FlushPartial(out));
      anchor_us_ = stream_us;
      packets_since_anchor_ = 0;
    }
  }

  const size_t frame_values = static_cast<size_t>(kFrameSamples * channels_);
  const float* end = samples + static_cast<size_t>(frames) * channels_;
  while (samples < end) {
    const size_t take = std::min(frame_values - pending_.size(), static_cast<size_t>(end - samples));
    // NaN or infinite input would poison the encoder state; it becomes silence.
    for (size_t i = 0; i < take; ++i) pending_.push_back(std::isfinite(samples[i]) ? samples[i] : 0.0f);
    samples += take;
    if (pending_.size() == frame_values) RETURN_IF_ERROR(EncodePending(0, out));
  }
  return Status::Ok();
}

Status OpusTrackEncoder::FlushPartial(std::vector<EncodedAudioPacket>* out) {
  if (pending_.empty()) return Status::Ok();
  pending_.resize(static_cast<size_t>(kFrameSamples * channels_), 0.0f);
  return EncodePending(0, out);
}

Status OpusTrackEncoder::Finish(std::vector<EncodedAudioPacket>* out) {
  if (!anchored_) return Status::Ok();
  // Feed pre_skip zeros, then pad to a whole frame; the padding after the last real sample
  // (beyond the decoder's delay) is discarded by players.
  const size_t frame_values = static_cast<size_t>(kFrameSamples * channels_);
  size_t silence = static_cast<size_t>(pre_skip_) * channels_;
  while (silence > 0) {
    const size_t take = std::min(frame_values - pending_.size(), silence);
    pending_.resize(pending_.size() + take, 0.0f);
    silence -= take;
    if (pending_.size() == frame_values) RETURN_IF_ERROR(EncodePending(0, out));
  }
  if (pending_.empty()) return Status::Ok();
  const int64_t fill = kFrameSamples - static_cast<int64_t>(pending_.size() / channels_);
  pending_.resize(frame_values, 0.0f);
  return EncodePending(fill * 1000000000 / kSampleRate, out);
}

Status OpusTrackEncoder::EncodePending(int64_t discard_padding_ns, std::vector<EncodedAudioPacket>* out) {
  EncodedAudioPacket packet;
  packet.data.resize(kMaxPacketBytes);
  const opus_int32 n =
      opus_encode_float(encoder_.get(), pending_.data(), kFrameSamples, packet.data.data(), kMaxPacketBytes);
  pending_.clear();
  if (n < 0) return Internal(std::string("opus_encode_float: ") + opus_strerror(n));
  packet.data.resize(static_cast<size_t>(n));
  packet.pts_us = *next_packet_us();
  packet.discard_padding_ns = discard_padding_ns;
  ++packets_since_anchor_;
  out->push_back(std::move(packet));
  return Status::Ok();
}

}  // namespace recorder
