// Recorder: encodes camera/screen frames (VP9) and microphone samples (Opus) into one live WebM
// stream, delivered as a sequence of chunks to a ChunkSink.
//
// The stream is a live-mode WebM segment: unknown sizes, no Cues, no seeking back. It is cut into
// chunks at Cluster boundaries, so:
//   chunk 0     is the stream header only: EBML header + Segment start + Info + Tracks.
//   chunk k>=1  is exactly one Cluster (starts with the Cluster ID 0x1F43B675), about
//               RecorderConfig::chunk_duration_ms long. A new Cluster also starts at every video
//               keyframe; ChunkInfo::starts_with_keyframe says whether playback can start there.
// The concatenation of all chunks is a valid WebM file; chunk 0 followed by any suffix of chunks
// whose first one starts_with_keyframe is also playable. Chunks are delivered when complete, so
// the stream lags capture by about one chunk. A recording without any media delivers nothing.
//
// Time: capture timestamps are microseconds on any monotonic clock shared by audio and video.
// The first timestamp the Recorder sees (from either track) is time zero of the stream; audio
// samples before it are trimmed and a first video frame before it is shown at zero.
//
// Threading: a Recorder is not thread-safe; call it from one thread at a time. It starts no
// threads of its own (libvpx may use VideoConfig::threads worker threads internally). The sink is
// called synchronously from inside AddVideoFrame / AddAudio / Stop.
//
// Errors: every call returns a Status. Invalid input (bad sizes, formats, pointers, timestamps)
// returns kInvalidArgument / kUnsupported and leaves the Recorder usable. A failure of the sink
// or of a codec is sticky: that call and every later one returns it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "common/status.h"

namespace recorder {

enum class PixelFormat {
  kI420,  // planes: Y, U, V (chroma at half width and height, rounded up)
  kNV12,  // planes: Y, interleaved UV
  kRGBA,  // one packed plane, bytes R,G,B,A per pixel (canvas ImageData, VideoFrame "RGBA")
  kBGRA,  // one packed plane, bytes B,G,R,A per pixel (VideoFrame "BGRA")
};

enum class ContentType {
  kCamera,  // natural video
  kScreen,  // screen capture: libvpx screen-content tuning
};

struct VideoConfig {
  int width = 640;                   // every frame must have exactly this size (no scaling); 16..4096
  int height = 480;                  // 16..4096
  double fps = 30;                   // nominal rate for rate control; actual frame times come from timestamps
  int kbps = 250;                    // CBR target
  int keyframe_interval_ms = 10000;  // a keyframe at least this often (and on RequestKeyframe)
  // libvpx cpu-used (5..9, higher is faster and worse). With adaptive_speed the Recorder raises
  // it while encoding is slower than real time and lowers it back to this value when there is
  // headroom; if it is already 9 and still too slow, frames are dropped and counted.
  // 7 is the fastest that keeps FourPeople 640x480 at 250 kbps above 35.5 dB PSNR-Y (8: 35.5).
  int speed = 7;
  bool adaptive_speed = true;
  int threads = 1;  // libvpx worker threads (row-mt and tile columns follow); 1..16
  ContentType content = ContentType::kCamera;

  // Defaults for a screen track: 2500 kbps, 15 fps nominal, screen tuning.
  static VideoConfig Screen(int width, int height);
};

struct AudioConfig {
  int sample_rate = 48000;  // only 48000 is supported (resample before)
  int channels = 1;         // 1 or 2; AddAudio samples are interleaved
  int kbps = 64;
};

struct RecorderConfig {
  std::optional<VideoConfig> video;  // at least one of video / audio
  std::optional<AudioConfig> audio;
  int chunk_duration_ms = 1000;  // target Cluster (and chunk) duration; 100..30000
};

struct ChunkInfo {
  int64_t index = 0;                  // 0 for the header chunk, then 1, 2, ...
  bool is_header = false;             // chunk 0: EBML header + Segment start + Tracks, no media
  bool starts_with_keyframe = false;  // the Cluster's first video block is a keyframe (or no video)
  int64_t first_timestamp_us = 0;     // stream time (from time zero) of the earliest block
  int64_t last_timestamp_us = 0;      // stream time of the latest block (start, not end)
};

// Receives the stream. Implementations: an uploader (wasm), a file (bench), a vector (tests).
class ChunkSink {
 public:
  virtual ~ChunkSink() = default;
  // `data` is valid only during the call. A non-ok Status fails the Recorder (sticky).
  virtual Status OnChunk(const ChunkInfo& info, std::span<const uint8_t> data) = 0;
};

struct VideoFrame {
  PixelFormat format = PixelFormat::kI420;
  int width = 0;
  int height = 0;
  // Borrowed for the duration of AddVideoFrame. I420 uses 3 planes, NV12 2, RGBA/BGRA 1;
  // unused entries are ignored. Strides are bytes per row and must be >= the row size.
  const uint8_t* planes[3] = {nullptr, nullptr, nullptr};
  int strides[3] = {0, 0, 0};
  int64_t timestamp_us = 0;  // capture time; strictly increasing; 0 <= t < 2^50
};

struct RecorderStats {
  int64_t video_frames_in = 0;       // frames accepted by AddVideoFrame
  int64_t video_frames_encoded = 0;  // frames written to the stream
  int64_t video_frames_dropped = 0;  // accepted but not written: encoding fell behind, or the
                                     // frame arrived over 1 s later than audio already written
  int64_t keyframes = 0;
  int64_t audio_samples_in = 0;       // per channel, accepted by AddAudio
  int64_t audio_packets_encoded = 0;  // 20 ms Opus packets written
  int64_t audio_packets_dropped = 0;  // arrived over 1 s later than video already written
  int64_t chunks_out = 0;
  int64_t bytes_out = 0;        // WebM bytes handed to the sink
  int64_t video_bytes = 0;      // VP9 payload bytes (no container)
  int64_t audio_bytes = 0;      // Opus payload bytes (no container)
  double media_seconds = 0;     // stream time covered so far
  double achieved_kbps = 0;     // bytes_out over media_seconds
  double video_kbps = 0;        // video_bytes over the video timeline
  int64_t video_encode_us = 0;  // wall time spent in the VP9 encoder (sum)
  double mean_encode_ms = 0;    // video_encode_us per encoded frame
  int current_speed = 0;        // cpu-used now in effect (0 without video)
};

class Recorder {
 public:
  // `sink` is not owned and must outlive the Recorder. Fails with kInvalidArgument or
  // kUnsupported for a bad config, kInternal if a codec cannot be set up.
  static Result<std::unique_ptr<Recorder>> Create(const RecorderConfig& config, ChunkSink* sink);
  ~Recorder();
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  // Converts (if not I420), encodes and muxes one frame. REQUIRES: a video track.
  Status AddVideoFrame(const VideoFrame& frame);
  // `samples` holds frame_count * channels interleaved floats in [-1, 1]; any frame_count from 0
  // to 10 s worth. `timestamp_us` is the capture time of the first sample; it must not go back.
  // A gap ahead of more than 20 ms starts a new Opus packet at the new time. REQUIRES: audio track.
  Status AddAudio(const float* samples, int frame_count, int64_t timestamp_us);
  // The next video frame is encoded as a keyframe and starts a new chunk.
  Status RequestKeyframe();
  // Changes the video CBR target (kbps, the range of VideoConfig::kbps) from the next frame on,
  // without a keyframe: the page lowers it while its uplink cannot keep up. REQUIRES: video.
  Status SetVideoBitrate(int kbps);
  // Flushes the encoders and delivers the last chunk. Later calls fail with kFailedPrecondition
  // (Stop itself included).
  Status Stop();

  RecorderStats stats() const;

 private:
  class Impl;
  explicit Recorder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace recorder
