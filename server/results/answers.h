// A session's transcript by question. The page's question markers (label question_N_start /
// question_N_end, data {question: N, question_id?, edge}) cut the session clock into answers;
// each transcript segment belongs to the answer its midpoint falls in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/transcript.h"
#include "index/records.h"

namespace recorder::server {

// One recording of a session with its transcript, when it has one.
struct RecordingTranscript {
  Recording recording;
  std::optional<Transcript> transcript;
};

struct AnswerSegment {
  int64_t recording_id = 0;
  TranscriptSegment segment;  // its times (and its words') on the session clock
};

struct Answer {
  int number = 0;           // 1-based, as the markers count
  std::string question_id;  // the host's; empty for questions numbered by the link
  std::string question_text;
  // On the session clock. start nullopt: the question was never asked (no start marker); end
  // nullopt: until the end of the recordings.
  std::optional<int64_t> start_ms, end_ms;
  std::vector<AnswerSegment> segments;  // in time order
};

// Every host question in order (asked or not), then any question the markers number beyond them.
// Without question markers there are no answers to cut, only the host's questions (unasked).
std::vector<Answer> SplitByQuestion(const std::vector<Question>& questions, const std::vector<SessionEvent>& markers,
                                    const std::vector<RecordingTranscript>& recordings);

}  // namespace recorder::server
