#include "recorder/live_webm_muxer.h"

#include <common/webmids.h>
#include <mkvmuxer/mkvmuxer.h>

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

namespace recorder {
namespace {

constexpr uint64_t kTimecodeScaleNs = 1000000;  // mkvmuxer's default: block times in ms

// Reads an EBML element ID (marker bits kept) or a size (marker removed) at data[*pos].
// Returns false if it does not fit in `size`. An all-ones size is "unknown" (~0).
bool ReadVint(const uint8_t* data, size_t size, size_t* pos, bool keep_marker, uint64_t* value) {
  if (*pos >= size) return false;
  const uint8_t first = data[*pos];
  int length = 1;
  while (length <= 8 && !(first & (0x80 >> (length - 1)))) ++length;
  if (length > 8 || *pos + length > size) return false;
  uint64_t v = keep_marker ? first : (first & (0xFF >> length));
  bool all_ones = v == (0xFFu >> length);
  for (int i = 1; i < length; ++i) {
    v = (v << 8) | data[*pos + i];
    all_ones = all_ones && data[*pos + i] == 0xFF;
  }
  *pos += length;
  *value = (!keep_marker && all_ones) ? ~uint64_t{0} : v;
  return true;
}

struct ClusterSummary {
  int64_t first_ms = std::numeric_limits<int64_t>::max();
  int64_t last_ms = std::numeric_limits<int64_t>::min();
  std::optional<bool> first_video_key;
};

// Reads a Block / SimpleBlock header: track, relative time, key flag.
void NoteBlock(const uint8_t* data, size_t end, size_t pos, int64_t cluster_ms, uint64_t video_track,
               std::optional<bool> key, ClusterSummary* s) {
  uint64_t track = 0;
  if (!ReadVint(data, end, &pos, false, &track) || pos + 3 > end) return;
  const int16_t relative = static_cast<int16_t>((data[pos] << 8) | data[pos + 1]);
  const int64_t ms = cluster_ms + relative;
  s->first_ms = std::min(s->first_ms, ms);
  s->last_ms = std::max(s->last_ms, ms);
  if (track == video_track && !s->first_video_key) s->first_video_key = key.value_or((data[pos + 2] & 0x80) != 0);
}

// Walks the Cluster mkvmuxer just wrote (unknown size, so it spans the whole chunk) to find its
// block times and whether its first video block is a keyframe. Only our own output is parsed.
ClusterSummary SummarizeCluster(const uint8_t* data, size_t size, uint64_t video_track) {
  ClusterSummary s;
  size_t pos = 0;
  uint64_t id = 0, length = 0;
  if (!ReadVint(data, size, &pos, true, &id) || id != libwebm::kMkvCluster ||
      !ReadVint(data, size, &pos, false, &length)) {
    return s;
  }
  int64_t cluster_ms = 0;
  while (ReadVint(data, size, &pos, true, &id) && ReadVint(data, size, &pos, false, &length)) {
    if (length > size - pos) break;
    const size_t end = pos + static_cast<size_t>(length);
    if (id == libwebm::kMkvTimecode) {
      cluster_ms = 0;
      for (size_t i = pos; i < end; ++i) cluster_ms = (cluster_ms << 8) | data[i];
    } else if (id == libwebm::kMkvSimpleBlock) {
      NoteBlock(data, end, pos, cluster_ms, video_track, std::nullopt, &s);
    } else if (id == libwebm::kMkvBlockGroup) {
      // A Block inside a group is a keyframe unless the group has a ReferenceBlock.
      size_t block_pos = 0, block_end = 0;
      bool has_reference = false;
      size_t p = pos;
      uint64_t child_id = 0, child_length = 0;
      while (p < end && ReadVint(data, end, &p, true, &child_id) && ReadVint(data, end, &p, false, &child_length) &&
             child_length <= end - p) {
        if (child_id == libwebm::kMkvBlock) block_pos = p, block_end = p + child_length;
        if (child_id == libwebm::kMkvReferenceBlock) has_reference = true;
        p += static_cast<size_t>(child_length);
      }
      if (block_end > 0) NoteBlock(data, block_end, block_pos, cluster_ms, video_track, !has_reference, &s);
    }
    pos = end;
  }
  return s;
}

}  // namespace

// Appends everything to memory and remembers where each Cluster starts. Not seekable, so
// mkvmuxer never goes back to patch sizes (live mode writes unknown sizes instead).
class LiveWebmMuxer::ChunkingWriter : public mkvmuxer::IMkvWriter {
 public:
  mkvmuxer::int32 Write(const void* buf, mkvmuxer::uint32 len) override {
    const auto* bytes = static_cast<const uint8_t*>(buf);
    buffer_.insert(buffer_.end(), bytes, bytes + len);
    return 0;
  }
  mkvmuxer::int64 Position() const override { return consumed_ + static_cast<mkvmuxer::int64>(buffer_.size()); }
  mkvmuxer::int32 Position(mkvmuxer::int64) override { return -1; }
  bool Seekable() const override { return false; }
  void ElementStartNotify(mkvmuxer::uint64 element_id, mkvmuxer::int64 position) override {
    if (element_id != libwebm::kMkvCluster) return;
    cuts_.push_back(static_cast<size_t>(position - consumed_));
    ++clusters_started_;
  }

  int64_t clusters_started() const { return clusters_started_; }

  // Offsets in buffer() where Clusters start, ascending.
  const std::vector<size_t>& cuts() const { return cuts_; }
  const std::vector<uint8_t>& buffer() const { return buffer_; }
  // Forgets the first `n` buffered bytes (delivered) and the cuts up to them.
  void Consume(size_t n) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(n));
    consumed_ += static_cast<int64_t>(n);
    std::erase_if(cuts_, [n](size_t c) { return c <= n; });
    for (size_t& c : cuts_) c -= n;
  }

 private:
  std::vector<uint8_t> buffer_;
  std::vector<size_t> cuts_;
  int64_t consumed_ = 0;
  int64_t clusters_started_ = 0;
};

class LiveWebmMuxer::SegmentHolder {
 public:
  mkvmuxer::Segment segment;
};

LiveWebmMuxer::LiveWebmMuxer(ChunkSink* sink)
    : sink_(sink), writer_(std::make_unique<ChunkingWriter>()), segment_(std::make_unique<SegmentHolder>()) {}

LiveWebmMuxer::~LiveWebmMuxer() {
  segment_.reset();  // the Segment refers to the writer
}

Result<std::unique_ptr<LiveWebmMuxer>> LiveWebmMuxer::Create(const std::optional<MuxerVideoTrack>& video,
                                                             const std::optional<MuxerAudioTrack>& audio,
                                                             int64_t max_cluster_us, ChunkSink* sink) {
  std::unique_ptr<LiveWebmMuxer> m(new LiveWebmMuxer(sink));
  m->max_cluster_us_ = max_cluster_us;
  mkvmuxer::Segment& segment = m->segment_->segment;
  if (!segment.Init(m->writer_.get())) return Internal("mkvmuxer Segment::Init failed");
  segment.set_mode(mkvmuxer::Segment::kLive);
  segment.OutputCues(false);
  segment.set_max_cluster_duration(static_cast<uint64_t>(max_cluster_us) * 1000);
  segment.GetSegmentInfo()->set_timecode_scale(kTimecodeScaleNs);
  segment.GetSegmentInfo()->set_writing_app("interview-recorder");

  if (video) {
    m->video_track_ = segment.AddVideoTrack(video->width, video->height, 0);
    auto* track = static_cast<mkvmuxer::VideoTrack*>(segment.GetTrackByNumber(m->video_track_));
    if (track == nullptr) return Internal("mkvmuxer AddVideoTrack failed");
    track->set_codec_id(mkvmuxer::Tracks::kVp9CodecId);
  }
  if (audio) {
    m->audio_track_ = segment.AddAudioTrack(OpusTrackEncoder::kSampleRate, audio->channels, 0);
    auto* track = static_cast<mkvmuxer::AudioTrack*>(segment.GetTrackByNumber(m->audio_track_));
    if (track == nullptr) return Internal("mkvmuxer AddAudioTrack failed");
    track->set_codec_id(mkvmuxer::Tracks::kOpusCodecId);
    track->set_bit_depth(32);
    track->set_codec_delay(audio->codec_delay_ns);
    track->set_seek_pre_roll(audio->seek_pre_roll_ns);
    if (!track->SetCodecPrivate(audio->codec_private.data(), audio->codec_private.size())) {
      return Internal("mkvmuxer SetCodecPrivate failed");
    }
  }
  return m;
}

bool LiveWebmMuxer::AddFrame(const void* frame, int64_t pts_us) {
  const int64_t before = writer_->clusters_started();
  if (!segment_->segment.AddGenericFrame(static_cast<const mkvmuxer::Frame*>(frame))) return false;
  if (writer_->clusters_started() != before) {
    cluster_started_ = true;
    cluster_start_us_ = pts_us;
  }
  return true;
}

Status LiveWebmMuxer::WriteVideo(const EncodedVideoFrame& f) {
  if (held_audio_) {
    RETURN_IF_ERROR(AddAudioToSegment(*held_audio_));
    held_audio_.reset();
  }
  mkvmuxer::Frame frame;
  if (!frame.Init(f.data.data(), f.data.size())) return Internal("mkvmuxer Frame::Init failed");
  frame.set_track_number(video_track_);
  frame.set_timestamp(static_cast<uint64_t>(f.pts_us) * 1000);
  frame.set_is_key(f.keyframe);
  if (!AddFrame(&frame, f.pts_us)) return Internal("mkvmuxer rejected a video frame");
  last_video_us_ = f.pts_us;
  return Deliver(false);
}

Status LiveWebmMuxer::WriteAudio(const EncodedAudioPacket& p) {
  if (video_track_ == 0) return AddAudioToSegment(p);
  std::optional<EncodedAudioPacket> previous = std::exchange(held_audio_, p);
  return previous ? AddAudioToSegment(*previous) : Status::Ok();
}

Status LiveWebmMuxer::AddAudioToSegment(const EncodedAudioPacket& p) {
  if (video_track_ != 0 && p.pts_us - std::max(last_video_us_, cluster_start_us_) >= max_cluster_us_) {
    segment_->segment.ForceNewClusterOnNextFrame();
  }
  mkvmuxer::Frame frame;
  if (!frame.Init(p.data.data(), p.data.size())) return Internal("mkvmuxer Frame::Init failed");
  frame.set_track_number(audio_track_);
  frame.set_timestamp(static_cast<uint64_t>(p.pts_us) * 1000);
  frame.set_is_key(true);
  frame.set_discard_padding(p.discard_padding_ns);
  if (!AddFrame(&frame, p.pts_us)) return Internal("mkvmuxer rejected an audio packet");
  return Deliver(false);
}

Status LiveWebmMuxer::Finish() {
  if (held_audio_) {
    // Without any Cluster yet, mkvmuxer would keep its queued audio for ever.
    if (!cluster_started_) segment_->segment.ForceNewClusterOnNextFrame();
    RETURN_IF_ERROR(AddAudioToSegment(*held_audio_));
    held_audio_.reset();
  }
  if (!segment_->segment.Finalize()) return Internal("mkvmuxer Segment::Finalize failed");
  return Deliver(true);
}

Status LiveWebmMuxer::Deliver(bool all) {
  std::vector<size_t> ends = writer_->cuts();
  if (all && !writer_->buffer().empty()) ends.push_back(writer_->buffer().size());
  size_t begin = 0;
  for (size_t end : ends) {
    if (end <= begin) continue;
    const uint8_t* data = writer_->buffer().data() + begin;
    ChunkInfo info;
    info.index = next_index_;
    info.is_header = next_index_ == 0;
    if (!info.is_header) {
      const ClusterSummary s = SummarizeCluster(data, end - begin, video_track_);
      info.starts_with_keyframe = video_track_ == 0 || s.first_video_key.value_or(false);
      if (s.first_ms <= s.last_ms) {
        info.first_timestamp_us = s.first_ms * 1000;
        info.last_timestamp_us = s.last_ms * 1000;
      }
    }
    RETURN_IF_ERROR(sink_->OnChunk(info, std::span<const uint8_t>(data, end - begin)));
    ++next_index_;
    bytes_out_ += static_cast<int64_t>(end - begin);
    begin = end;
  }
  writer_->Consume(begin);
  return Status::Ok();
}

}  // namespace recorder
