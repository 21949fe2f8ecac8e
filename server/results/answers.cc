#include "results/answers.h"

#include <algorithm>
#include <climits>
#include <map>
#include <nlohmann/json.hpp>

#include "results/results.h"

namespace recorder::server {
namespace {

struct Edges {
  std::string question_id;
  std::optional<int64_t> start_ms, end_ms;  // the first start and the last end marked
};

// Question markers by number; other markers and client events are not edges.
std::map<int, Edges> QuestionEdges(const std::vector<SessionEvent>& markers) {
  std::map<int, Edges> edges;
  for (const SessionEvent& marker : markers) {
    if (marker.type != EventType::kMarker) continue;
    const auto data = nlohmann::json::parse(marker.data_json, nullptr, false);
    if (!data.is_object()) continue;
    auto number = data.find("question"), edge = data.find("edge"), id = data.find("question_id");
    if (number == data.end() || !number->is_number_integer() || edge == data.end() || !edge->is_string()) continue;
    const int64_t n = number->get<int64_t>();
    if (n < 1 || n > static_cast<int64_t>(kQuestionLimits.max_count)) continue;
    Edges& e = edges[static_cast<int>(n)];
    if (id != data.end() && id->is_string() && e.question_id.empty()) e.question_id = id->get<std::string>();
    const int64_t t = marker.recording_time_ms;
    if (*edge == "start") e.start_ms = std::min(e.start_ms.value_or(t), t);
    if (*edge == "end") e.end_ms = std::max(e.end_ms.value_or(t), t);
  }
  return edges;
}

}  // namespace

std::vector<Answer> SplitByQuestion(const std::vector<Question>& questions, const std::vector<SessionEvent>& markers,
                                    const std::vector<RecordingTranscript>& recordings) {
  std::map<int, Edges> edges = QuestionEdges(markers);
  std::vector<Answer> answers;
  for (size_t i = 0; i < questions.size(); ++i) {
    answers.push_back({static_cast<int>(i) + 1, questions[i].id, questions[i].text, std::nullopt, std::nullopt, {}});
  }
  for (const auto& [n, e] : edges) {
    if (n > static_cast<int>(answers.size())) answers.resize(n);
    Answer& answer = answers[n - 1];
    answer.number = n;
    if (answer.question_id.empty()) answer.question_id = e.question_id;
    answer.start_ms = e.start_ms;
    answer.end_ms = e.end_ms;
  }
  for (size_t i = 0; i < answers.size(); ++i) answers[i].number = static_cast<int>(i) + 1;
  // An answer without an end marker (the page was closed) runs until the next one asked.
  for (Answer& answer : answers) {
    if (!answer.start_ms || (answer.end_ms && *answer.end_ms > *answer.start_ms)) continue;
    answer.end_ms.reset();
    for (const Answer& later : answers) {
      if (later.start_ms && *later.start_ms > *answer.start_ms &&
          (!answer.end_ms || *later.start_ms < *answer.end_ms)) {
        answer.end_ms = later.start_ms;
      }
    }
  }
  for (const RecordingTranscript& item : recordings) {
    if (!item.transcript) continue;
    const int64_t offset = SessionOffsetMs(item.recording);
    for (const TranscriptSegment& segment : item.transcript->segments) {
      const int64_t middle = offset + (segment.start_ms + segment.end_ms) / 2;
      for (Answer& answer : answers) {
        if (!answer.start_ms || middle < *answer.start_ms || middle >= answer.end_ms.value_or(INT64_MAX)) continue;
        AnswerSegment moved{item.recording.id, segment};
        moved.segment.start_ms += offset;
        moved.segment.end_ms += offset;
        for (TranscriptWord& word : moved.segment.words) {
          word.start_ms += offset;
          word.end_ms += offset;
        }
        answer.segments.push_back(std::move(moved));
        break;
      }
    }
  }
  for (Answer& answer : answers) {
    std::stable_sort(
        answer.segments.begin(), answer.segments.end(),
        [](const AnswerSegment& a, const AnswerSegment& b) { return a.segment.start_ms < b.segment.start_ms; });
  }
  return answers;
}

}  // namespace recorder::server
