// Finalizing a live WebM recording into a seekable one.
//
// A live WebM stream (as uploaded by the recorder, or by Chromium's MediaRecorder) has a Segment
// of unknown size, no Duration, no SeekHead, no Cues and Clusters possibly of unknown size.
// Finalize() remuxes it, frame by frame, into a seekable WebM with SeekHead, Duration and Cues.
// Verify() reads a finalized file back and checks it against what Finalize() reported.
//
// Thread safety: no shared state; any number of calls may run at once on different files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/io.h"
#include "common/status.h"

namespace recorder::webm {

enum class TrackKind { kVideo, kAudio };

struct TrackSummary {
  uint64_t number = 0;        // TrackNumber in the output (tracks are renumbered 1..N in input order)
  uint64_t input_number = 0;  // TrackNumber in the input
  TrackKind kind = TrackKind::kVideo;
  std::string codec_id;       // e.g. "V_VP9", "A_OPUS", copied unchanged
  uint64_t width = 0;         // video only, pixels
  uint64_t height = 0;
  double sample_rate = 0;     // audio only, Hz
  uint64_t channels = 0;
  uint64_t frames = 0;        // frames copied
  uint64_t keyframes = 0;
  int64_t first_timestamp_ns = -1;  // -1 when the track has no frames
  int64_t last_timestamp_ns = -1;
};

struct FinalizeInfo {
  int64_t duration_ms = 0;        // written as the Segment Duration: end of the last frame
  std::vector<TrackSummary> tracks;  // video and audio tracks, in output order
  uint64_t video_keyframes = 0;   // keyframes on all video tracks (where Cues can point)
  // Cue points written: one per keyframe of the first video track, or with no video one per
  // cluster (clusters of at most 5 s) on the first audio track. 0 only for video without any
  // keyframe, which then has no Cues element.
  uint64_t cue_points = 0;
  uint64_t output_bytes = 0;      // size of the finalized file
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
};

// Reads the live WebM `live` and writes a seekable WebM to `seekable` (from position 0; the
// caller makes it durable and puts it in place). Streams: memory does not grow with frame data. Every frame is copied bit-exactly with its track, timestamp, keyframe flag,
// BlockDuration and DiscardPadding; Cues point at video keyframes (at clusters on the audio track
// when there is no video). A cut or damaged tail is not an error: see FinalizeInfo::truncated.
// Errors: NotFound / IoError for the input, Corrupt if it is not WebM, has no video or audio
// track, or has no complete frame; Unsupported for laced blocks; IoError / ResourceExhausted when
// writing fails. On error the output may hold partial content.
Result<FinalizeInfo> Finalize(RandomAccessReader& live, SeekableWriter& seekable);
// The same from the file at `live_path` to the file at `seekable_path` (created or replaced), which
// is fsynced before this returns.
Result<FinalizeInfo> Finalize(const std::string& live_path, const std::string& seekable_path);

// Parses `finalized` with libwebm and checks it is a finalized recording matching
// `expected`: has a Duration (within 1 ms of expected.duration_ms), has expected.cue_points cue
// points, each video one on a keyframe, has the same tracks with the same frame counts, and
// timestamps are non-decreasing per track. Corrupt if not.
// Memory grows with the number of frames (libwebm keeps a small index entry per block).
Status Verify(RandomAccessReader& finalized, const FinalizeInfo& expected);
Status Verify(const std::string& path, const FinalizeInfo& expected);

}  // namespace recorder::webm
