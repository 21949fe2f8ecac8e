// mkvmuxer in live mode over an in-memory, non-seekable writer; the byte stream is cut into
// chunks at Cluster starts and handed to a ChunkSink (see recorder.h for the chunk contract).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "common/status.h"
#include "recorder/opus_track_encoder.h"
#include "recorder/recorder.h"
#include "recorder/vp9_encoder.h"

namespace recorder {

struct MuxerVideoTrack {
  int width = 0;
  int height = 0;
};

struct MuxerAudioTrack {
  int channels = 0;
  std::vector<uint8_t> codec_private;  // OpusHead
  uint64_t codec_delay_ns = 0;         // Opus pre-skip
  uint64_t seek_pre_roll_ns = 0;
};

class LiveWebmMuxer {
 public:
  // `sink` is not owned and must outlive the muxer.
  static Result<std::unique_ptr<LiveWebmMuxer>> Create(const std::optional<MuxerVideoTrack>& video,
                                                       const std::optional<MuxerAudioTrack>& audio,
                                                       int64_t max_cluster_us, ChunkSink* sink);
  ~LiveWebmMuxer();

  // REQUIRES: timestamps do not decrease across both tracks (the Recorder interleaves).
  // Each call delivers the chunks that became complete.
  Status WriteVideo(const EncodedVideoFrame& frame);
  Status WriteAudio(const EncodedAudioPacket& packet);
  // Ends the segment and delivers the last chunk. Nothing may be written afterwards.
  Status Finish();

  int64_t chunks_out() const { return next_index_; }
  int64_t bytes_out() const { return bytes_out_; }

 private:
  class ChunkingWriter;
  class SegmentHolder;
  LiveWebmMuxer(ChunkSink* sink);
  // Hands every complete chunk in the writer to the sink; with `all`, also the open one.
  Status Deliver(bool all);
  // Adds an audio packet to the Segment, first forcing a new Cluster if video has been silent
  // for a whole cluster duration (mkvmuxer holds audio back until the next video frame).
  Status AddAudioToSegment(const EncodedAudioPacket& packet);
  // Notes the stream time of a Cluster that `add` may have started.
  bool AddFrame(const void* frame, int64_t pts_us);

  ChunkSink* sink_;
  std::unique_ptr<ChunkingWriter> writer_;
  std::unique_ptr<SegmentHolder> segment_;
  uint64_t video_track_ = 0;  // mkvmuxer track numbers; 0 = none
  uint64_t audio_track_ = 0;
  int64_t max_cluster_us_ = 0;
  // With a video track, the newest audio packet is held here so that Finish() can always make
  // mkvmuxer write its queued audio, even when no video frame ever came.
  std::optional<EncodedAudioPacket> held_audio_;
  bool cluster_started_ = false;
  int64_t cluster_start_us_ = 0;  // stream time of the frame that started the last Cluster
  int64_t last_video_us_ = 0;
  int64_t next_index_ = 0;
  int64_t bytes_out_ = 0;
};

}  // namespace recorder
