// Finalizing a live WebM recording into a seekable one.
//
// A live WebM stream (as uploaded by the recorder, or by Chromium's MediaRecorder) has a Segment
// of unknown size, no Duration, no SeekHead, no Cues and Clusters possibly of unknown size.
// Finalize() remuxes it, frame by frame, into a seekable WebM with SeekHead, Duration and Cues.
// Verify() reads a finalized file back and checks it against what Finalize() reported.
//
// Resources: both stream. Their memory is bounded by a constant (about 2 MB) whatever the input,
// and their time is linear in its bytes: no state is kept per frame or per cluster, and the Cues
// are bounded by the limits below. An upload that no real recording could be (hundreds of
// thousands of tiny frames in a few seconds of media, frames of hundreds of megabytes, dozens of
// tracks) fails fast with Corrupt and a message that names the limit.
//
// Thread safety: no shared state; any number of calls may run at once on different files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/io.h"
#include "common/status.h"

namespace recorder::webm {

// What Finalize accepts. Each is far beyond what a camera, a microphone or a screen produces.
// Bytes before the first Cluster (EBML header, Info, Tracks, Tags...): a recording has about 1 KB
// (a few KB with Vorbis codebooks). Bounds what libwebm's header parser allocates.
inline constexpr uint64_t kMaxHeaderBytes = 64 << 10;
// Tracks declared in Tracks, of any type.
inline constexpr uint64_t kMaxTracks = 16;
// Frames of one track within one second of media (counted per whole second of its timestamps):
// video at 240 fps, Opus at its shortest (2.5 ms) frame, 400.
inline constexpr uint64_t kMaxFramesPerSecond = 1000;
// Bytes of one frame: a 4K VP9 keyframe at high quality is a few MB.
inline constexpr uint64_t kMaxFrameBytes = 16 << 20;
// Cue points: on keyframes of the cue track, at least kMinCueSpacingMs of media apart, and further
// apart when that track spans more than kMaxCuePoints such spacings (2.3 hours): a 10-hour
// recording gets cues about 4.4 s apart.
inline constexpr uint64_t kMaxCuePoints = 8192;
inline constexpr int64_t kMinCueSpacingMs = 1000;
// Blocks in one Cluster of the output, so that a reader which loads a whole Cluster at a time
// (libwebm's, and so Verify) needs bounded memory. Verify rejects a Cluster with more.
inline constexpr uint64_t kMaxClusterBlocks = 1024;

enum class TrackKind { kVideo, kAudio };

struct TrackSummary {
  uint64_t number = 0;        // TrackNumber in the output (tracks are renumbered 1..N in input order)
  uint64_t input_number = 0;  // TrackNumber in the input
  TrackKind kind = TrackKind::kVideo;
  std::string codec_id;  // e.g. "V_VP9", "A_OPUS", copied unchanged
  uint64_t width = 0;    // video only, pixels
  uint64_t height = 0;
  double sample_rate = 0;  // audio only, Hz
  uint64_t channels = 0;
  uint64_t frames = 0;  // frames copied
  uint64_t keyframes = 0;
  int64_t first_timestamp_ns = -1;  // -1 when the track has no frames
  int64_t last_timestamp_ns = -1;
};

struct FinalizeInfo {
  int64_t duration_ms = 0;           // written as the Segment Duration: end of the last frame
  std::vector<TrackSummary> tracks;  // video and audio tracks, in output order
  uint64_t video_keyframes = 0;      // keyframes on all video tracks (where Cues can point)
  // Cue points written, on the cue track: the first video track, else the first audio track.
  // One on the first keyframe (any frame for audio), then one on each keyframe at least
  // `cue_spacing_ms` after the previous cue; each starts a Cluster. 0 only for video without any
  // keyframe, which then has no Cues element.
  uint64_t cue_points = 0;
  // kMinCueSpacingMs, or more so that cue_points <= kMaxCuePoints.
  int64_t cue_spacing_ms = 0;
  uint64_t output_bytes = 0;  // size of the finalized file
  // True when the input ended (or turned unreadable) inside an element: everything up to the
  // last complete frame was kept, and `ignored_bytes` at the end of the input were not used.
  bool truncated = false;
  uint64_t ignored_bytes = 0;
  std::string truncation_reason;  // e.g. "cut inside a block"; empty when not truncated
  // Frames dropped because their track is neither video nor audio (or is not declared).
  uint64_t skipped_frames = 0;
  // Frames whose timestamp was below one already written (on any track) and was raised to it,
  // because a seekable WebM needs non-decreasing timestamps. 0 for any well-formed live stream.
  uint64_t raised_timestamps = 0;
  // Wall time of Finalize's two passes over the input: parsing (headers, then every block header,
  // checked against the limits) and writing (the output, frame by frame). For metrics and benches.
  double parse_seconds = 0;
  double write_seconds = 0;
  int64_t clip_start_ms = 0;  // Clip: where the clip starts in its input (its timestamps start at 0)
};

// Reads the live WebM `live` and writes a seekable WebM to `seekable` (from position 0; the
// caller makes it durable and puts it in place). Every frame is copied bit-exactly with its track,
// timestamp, keyframe flag, BlockDuration and DiscardPadding; Cues point at keyframes of the cue
// track (see FinalizeInfo::cue_points). A cut or damaged tail is not an error: see
// FinalizeInfo::truncated. Reads the input twice (a check of every block header, then the copy)
// and nothing is written before the first pass has accepted the whole input.
// Errors: NotFound / IoError for the input; Corrupt if it is not WebM, has no video or audio
// track, has no complete frame, or exceeds one of the limits above (the message names it);
// Unsupported for laced blocks; IoError / ResourceExhausted when writing fails (worth retrying:
// Corrupt and Unsupported are not). On error the output may hold partial content.
Result<FinalizeInfo> Finalize(RandomAccessReader& live, SeekableWriter& seekable);
// The same from the file at `live_path` to the file at `seekable_path` (created or replaced), which
// is fsynced before this returns.
Result<FinalizeInfo> Finalize(const std::string& live_path, const std::string& seekable_path);

// How far after the asked start a clip may begin on a video keyframe: the recorder forces one at
// each question's start, which the encoder emits with the next frame.
inline constexpr int64_t kClipKeyframeSlackMs = 500;

// Writes the part of `input` (any WebM Finalize takes) from `from_ms` until `to_ms` (< 0: the end)
// as a seekable WebM of its own, without re-encoding: it starts on the last keyframe of the first
// video track at or before from_ms + kClipKeyframeSlackMs (an audio-only input starts at from_ms),
// and its timestamps start at 0. FinalizeInfo::clip_start_ms says where in `input` it begins.
// Errors as Finalize's; NotFound when nothing of the input lies in the range.
Result<FinalizeInfo> Clip(RandomAccessReader& input, SeekableWriter& out, int64_t from_ms, int64_t to_ms);

// Where a viewer of a recording still being received starts (the server's live view): the WebM
// header, i.e. bytes [0, header_end) up to the first Cluster, then everything from `join_at`: the
// start of the last Cluster whose first frame of the first video track is a keyframe (the
// recorder starts a Cluster at each keyframe), so the viewer's decoder can start there. Without
// any such Cluster yet (or without video), join_at is header_end.
struct LivePoints {
  uint64_t header_end = 0;
  uint64_t join_at = 0;
};
// Looks only at the first `available` bytes of `live` (the acknowledged ones; a write may be in
// progress beyond). Corrupt when they do not hold the header and a first Cluster.
Result<LivePoints> FindLivePoints(RandomAccessReader& live, uint64_t available);

// Parses `finalized` with libwebm's reader (not Finalize's own walker) and checks it is a
// finalized recording matching `expected`: the Segment has a known size; it has a Duration
// (within 1 ms of expected.duration_ms); the SeekHead leads to Cues with expected.cue_points cue
// points, each at the start of a Cluster and on a keyframe of its track when that is video; it
// has the same tracks with the same codecs and frame counts; timestamps are non-decreasing per
// track; no Cluster has more than kMaxClusterBlocks blocks. Corrupt if not. Streams one Cluster at
// a time: memory bounded like Finalize's.
Status Verify(RandomAccessReader& finalized, const FinalizeInfo& expected);
Status Verify(const std::string& path, const FinalizeInfo& expected);

}  // namespace recorder::webm
