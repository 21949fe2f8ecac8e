// Helpers for the WebM tests: real live inputs made with ffmpeg from tests/media, ffmpeg/ffprobe
// as an independent reader, and a tiny EBML writer for hand-made malformed files.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace recorder::webm::testing {

using Bytes = std::vector<uint8_t>;

// A fresh directory under $TMPDIR, removed when the process exits.
const std::string& TempDir();

// Runs a shell command; returns its stdout. Fails the current test (ADD_FAILURE) on non-zero exit.
std::string Shell(const std::string& command);

Bytes ReadFile(const std::string& path);
void WriteFile(const std::string& path, const Bytes& bytes);

// Live WebM inputs, made once per process with ffmpeg writing to a pipe (so, like a real live
// stream: Segment of unknown size, no Duration, no Cues).
//   VP9 + Opus from akiyo (10 s, keyframe every 90 frames) and the speech clip.
const std::string& LiveVp9Opus();
//   Opus only, from the speech clip.
const std::string& LiveOpusOnly();
//   VP8 + Vorbis, to check other codec ids are copied generically.
const std::string& LiveVp8Vorbis();
//   VP9 only, from akiyo (10 s), with a keyframe every 3 frames (100 ms).
const std::string& LiveVp9FrequentKeyframes();
//   LiveVp9Opus with every Cluster size rewritten to "unknown", as mkvmuxer's live mode and
//   Chromium's MediaRecorder write them.
const std::string& LiveVp9OpusUnknownSizeClusters();

// Rewrites the size field of every Cluster in a WebM file to the all-ones "unknown size" value of
// the same length. REQUIRES: an EBML header then a Segment.
Bytes MakeClusterSizesUnknown(const Bytes& webm);

// File offsets where each top-level Cluster starts.
std::vector<uint64_t> ClusterOffsets(const Bytes& webm);

// One line per packet as ffmpeg reads it with -c copy (timestamps, size, flags, data and side
// data hashes), packets of each stream kept in order, streams one after the other. Tracks with
// identical content compare equal even when the two files interleave them differently.
std::vector<std::string> PacketHashes(const std::string& path);

// Number of packets per stream that ffprobe reads, e.g. {300, 541}.
std::vector<uint64_t> PacketCounts(const std::string& path);

// ffprobe's format duration in seconds; negative if absent.
double ProbeDuration(const std::string& path);

// Minimal EBML writing for hand-made inputs.
Bytes Element(uint32_t id, const Bytes& payload);
Bytes UnknownSizeElement(uint32_t id, const Bytes& payload);
Bytes UintElement(uint32_t id, uint64_t value);
Bytes StringElement(uint32_t id, const std::string& value);
Bytes Concat(std::initializer_list<Bytes> parts);
// EBML header with DocType "webm".
Bytes WebmHeader();

// A hand-made live stream: EBML header, Segment of unknown size, Info with 1 ms ticks, Tracks
// holding `track_entries`, then `count` frames from `frame(i)` in file order, in Clusters of
// unknown size (a new one when the relative timecode would overflow). Frame data is a byte pattern.
struct HandFrame {
  uint64_t track = 1;
  int64_t ms = 0;
  bool key = true;
  size_t bytes = 1;
};
Bytes HandMadeLive(const Bytes& track_entries, uint64_t count, const std::function<HandFrame(uint64_t)>& frame);
// TrackEntry of a 64x48 VP9 track, and of a 48 kHz mono Opus track.
Bytes Vp9TrackEntry(uint64_t number);
Bytes OpusTrackEntry(uint64_t number);

// Memory of this process in KiB, from /proc/self/status: resident now (VmRSS), and the peak
// (VmHWM) since the last ResetPeakRss() (which writes 5 to /proc/self/clear_refs).
int64_t RssKib();
int64_t PeakRssKib();
void ResetPeakRss();

}  // namespace recorder::webm::testing
