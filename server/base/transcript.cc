#include "base/transcript.h"

namespace recorder::server {

namespace {

// Cut at a pause this long once the piece has this much in it.
constexpr int64_t kPauseMs = 400;
constexpr int64_t kMinPieceMs = 2000;

TranscriptSegment Piece(std::vector<TranscriptWord> words) {
  TranscriptSegment piece;
  piece.start_ms = words.front().start_ms;
  piece.end_ms = words.back().end_ms;
  double confidence = 0;
  for (const TranscriptWord& w : words) {
    piece.text += (piece.text.empty() ? "" : " ") + w.text;
    confidence += w.confidence;
  }
  piece.confidence = confidence / static_cast<double>(words.size());
  piece.words = std::move(words);
  return piece;
}

}  // namespace

std::vector<TranscriptSegment> CaptionSizedSegments(std::vector<TranscriptSegment> segments) {
  std::vector<TranscriptSegment> out;
  for (TranscriptSegment& segment : segments) {
    const bool fits = segment.end_ms - segment.start_ms <= kMaxSegmentMs && segment.text.size() <= kMaxSegmentChars;
    if (fits || segment.words.empty()) {
      out.push_back(std::move(segment));
      continue;
    }
    std::vector<TranscriptWord> piece;
    size_t chars = 0;
    for (TranscriptWord& word : segment.words) {
      if (!piece.empty()) {
        const int64_t length_ms = piece.back().end_ms - piece.front().start_ms;
        const bool too_long =
            word.end_ms - piece.front().start_ms > kMaxSegmentMs || chars + 1 + word.text.size() > kMaxSegmentChars;
        const bool pause = word.start_ms - piece.back().end_ms >= kPauseMs && length_ms >= kMinPieceMs;
        if (too_long || pause) {
          out.push_back(Piece(std::move(piece)));
          piece.clear();
          chars = 0;
        }
      }
      chars += (piece.empty() ? 0 : 1) + word.text.size();
      piece.push_back(std::move(word));
    }
    if (!piece.empty()) out.push_back(Piece(std::move(piece)));
  }
  return out;
}

}  // namespace recorder::server
