// What a transcriber returns: timed segments (about a sentence each) with their words, on the
// recording's clock.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace recorder::server {

struct TranscriptWord {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  std::string text;
  double confidence = 0;  // 0..1, the engine's posterior; 0 when it gives none
};

struct TranscriptSegment {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  std::string text;  // the words, space-separated
  double confidence = 0;
  std::vector<TranscriptWord> words;  // empty where the engine gives no word times
};

struct Transcript {
  std::string engine;  // "pocketsphinx", "http:<model>"
  std::string language;
  double audio_seconds = 0;  // speech audio the engine was given
  std::vector<TranscriptSegment> segments;
};

// At most this long, a segment is one caption (two lines of 42 characters) and one line of the
// results page's transcript.
inline constexpr int64_t kMaxSegmentMs = 7000;
inline constexpr size_t kMaxSegmentChars = 84;

// Cuts each segment longer than kMaxSegmentMs or kMaxSegmentChars between its words into pieces
// within both, at a pause where the speaker makes one; a segment without word times stays whole.
// An engine may give one segment per utterance (PocketSphinx: until the speaker stops for a
// while), which would be a 30-second caption and put a whole utterance into one answer; every
// engine's transcript goes through this before it is stored.
std::vector<TranscriptSegment> CaptionSizedSegments(std::vector<TranscriptSegment> segments);

}  // namespace recorder::server
