#include "webm/opus_audio.h"

#include <mkvparser/mkvparser.h>
#include <opus/opus.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "webm/block_walker.h"
#include "webm/mkv_io.h"

namespace recorder::webm {
namespace {

// An Opus packet holds at most 120 ms; 1275 bytes per frame and 48 frames bound it far below this.
constexpr uint64_t kMaxPacketBytes = 64 << 10;

struct OpusTrack {
  uint64_t number = 0;
  int64_t scale_ns = 0;        // TimecodeScale
  int pre_skip_48k = 0;        // OpusHead pre-skip: decoder output to drop at the start, at 48 kHz
  int64_t codec_delay_ns = 0;  // CodecDelay: what every block's timestamp is ahead of its sound
};

// The first A_OPUS audio track, with the fields of its OpusHead (RFC 7845 section 5.1) we use.
Result<OpusTrack> FindOpusTrack(const mkvparser::Segment& segment) {
  const mkvparser::Tracks* tracks = segment.GetTracks();
  for (unsigned long i = 0; i < tracks->GetTracksCount(); ++i) {
    const mkvparser::Track* t = tracks->GetTrackByIndex(i);
    if (!t || t->GetType() != mkvparser::Track::kAudio || !t->GetCodecId() ||
        std::strcmp(t->GetCodecId(), "A_OPUS") != 0) {
      continue;
    }
    size_t head_size = 0;
    const unsigned char* head = t->GetCodecPrivate(head_size);
    if (!head || head_size < 19 || std::memcmp(head, "OpusHead", 8) != 0) {
      return Corrupt("the Opus track has no OpusHead in its CodecPrivate");
    }
    if (head[9] < 1 || head[9] > 2 || head[18] != 0) {
      return Unsupported("the Opus track has " + std::to_string(head[9]) + " channels (mapping family " +
                         std::to_string(head[18]) + "); only mono and stereo are decoded");
    }
    OpusTrack track;
    track.number = static_cast<uint64_t>(t->GetNumber());
    track.scale_ns = segment.GetInfo()->GetTimeCodeScale();
    track.pre_skip_48k = head[10] | (head[11] << 8);
    track.codec_delay_ns = static_cast<int64_t>(std::min<unsigned long long>(t->GetCodecDelay(), 1'000'000'000));
    return track;
  }
  return NotFound("the file has no Opus audio track");
}

struct DecoderDeleter {
  void operator()(OpusDecoder* d) const { opus_decoder_destroy(d); }
};

}  // namespace

Result<OpusAudioSummary> DecodeOpusAudio(RandomAccessReader& input, int sample_rate, const PcmSink& sink) {
  if (sample_rate != 8000 && sample_rate != 12000 && sample_rate != 16000 && sample_rate != 24000 &&
      sample_rate != 48000) {
    return InvalidArgument("Opus decodes to 8, 12, 16, 24 or 48 kHz, not " + std::to_string(sample_rate) + " Hz");
  }
  internal::WindowedSource src(input);
  internal::MkvReaderAdapter reader(src);
  Result<std::unique_ptr<mkvparser::Segment>> segment = internal::ParseHeaders(src, reader);
  if (!segment.ok()) return segment.status();
  Result<OpusTrack> track = FindOpusTrack(**segment);
  if (!track.ok()) return track.status();

  int error = 0;
  // Mono whatever the stream: libopus downmixes a stereo stream itself.
  std::unique_ptr<OpusDecoder, DecoderDeleter> decoder(opus_decoder_create(sample_rate, 1, &error));
  if (error != OPUS_OK) return Internal(std::string("opus_decoder_create: ") + opus_strerror(error));

  const int max_samples = sample_rate * 120 / 1000;
  std::vector<int16_t> pcm(static_cast<size_t>(max_samples));
  std::vector<uint8_t> packet;
  int64_t skip = static_cast<int64_t>(track->pre_skip_48k) * sample_rate / 48000;
  int last_samples = sample_rate / 50;  // a lost packet is concealed as long as the one before
  OpusAudioSummary summary;
  auto on_frame = [&](const internal::BlockFrame& f) -> Status {
    if (f.track != track->number) return Status::Ok();
    int64_t start_ns = 0;
    if (__builtin_mul_overflow(f.timecode, track->scale_ns, &start_ns)) return Corrupt("a timestamp overflows");
    int n = -1;
    if (f.data_size > 0 && f.data_size <= kMaxPacketBytes) {
      packet.resize(f.data_size);
      if (!src.Read(f.data_pos, packet.data(), packet.size())) return IoError("cannot read an audio packet");
      n = opus_decode(decoder.get(), packet.data(), static_cast<opus_int32>(packet.size()), pcm.data(), max_samples, 0);
    }
    if (n < 0) {  // damaged: conceal it, so that what follows keeps its time
      ++summary.lost_packets;
      n = opus_decode(decoder.get(), nullptr, 0, pcm.data(), last_samples, 0);
      if (n < 0) return Internal(std::string("opus concealment: ") + opus_strerror(n));
    }
    ++summary.packets;
    last_samples = n;
    // DiscardPadding trims the end of the last packet (the encoder's padding of the final frame).
    // Capped at a second (more than any packet holds) so that a hostile value cannot overflow.
    const int64_t padding_ns = std::clamp<int64_t>(f.discard_padding, 0, 1'000'000'000);
    const int64_t padding = padding_ns * sample_rate / 1'000'000'000;
    int64_t begin = std::min<int64_t>(skip, n);
    skip -= begin;
    const int64_t end = std::max<int64_t>(begin, n - padding);
    // Matroska: a block's sound starts CodecDelay before its timestamp; the samples dropped as
    // pre-skip come first. (Without a CodecDelay, the kept samples follow the dropped ones.)
    const int64_t start_us =
        (start_ns - track->codec_delay_ns) / 1000 + static_cast<int64_t>(begin) * 1000000 / sample_rate;
    summary.end_us = start_us + (end - begin) * 1000000 / sample_rate;
    if (end == begin) return Status::Ok();
    summary.samples += static_cast<uint64_t>(end - begin);
    return sink(start_us, std::span<const int16_t>(pcm.data() + begin, static_cast<size_t>(end - begin)));
  };
  Result<internal::WalkEnd> walked =
      internal::WalkClusters(src, static_cast<uint64_t>((*segment)->m_start), (*segment)->m_size, on_frame);
  if (!walked.ok()) return walked.status();
  return summary;
}

}  // namespace recorder::webm
