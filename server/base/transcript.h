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

}  // namespace recorder::server
