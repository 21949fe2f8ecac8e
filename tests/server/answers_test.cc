// SplitByQuestion: the question markers cut the session clock into answers, and each transcript
// segment lands in the answer its midpoint falls in, on the session clock.
#include "results/answers.h"

#include <gtest/gtest.h>

#include "ingest/tus_protocol.h"

namespace recorder::server {
namespace {

SessionEvent Edge(int question, const std::string& edge, int64_t ms, const std::string& id = "") {
  std::string data = R"({"question":)" + std::to_string(question) + R"(,"edge":")" + edge + "\"";
  if (!id.empty()) data += R"(,"question_id":")" + id + "\"";
  return SessionEvent{"m" + std::to_string(ms), EventType::kMarker, "question", data + "}", ms, "", "", 0};
}

// A recording placed at `start_ms` on the session clock (the recorder's upload metadata).
RecordingTranscript Part(int64_t id, int64_t start_ms, std::vector<TranscriptSegment> segments) {
  RecordingTranscript item;
  item.recording.id = id;
  item.recording.upload_metadata = "start_ms " + tus::Base64Encode(std::to_string(start_ms));
  item.transcript = Transcript{"test", "en", 10, std::move(segments)};
  return item;
}

TranscriptSegment Said(int64_t start_ms, int64_t end_ms, const std::string& text) {
  return {start_ms, end_ms, text, 0.9, {{start_ms, end_ms, text, 0.9}}};
}

std::vector<std::string> Texts(const Answer& answer) {
  std::vector<std::string> out;
  for (const AnswerSegment& s : answer.segments) out.push_back(s.segment.text);
  return out;
}

TEST(SplitByQuestionTest, SegmentsGoToTheAnswerTheirMiddleFallsInOnTheSessionClock) {
  const std::vector<Question> questions = {{"intro", "Introduce yourself", 0},
                                           {"design", "Design it", 60},
                                           {"why", "Why us?", 0},
                                           {"never", "Not reached", 0}};
  const std::vector<SessionEvent> markers = {
      Edge(1, "start", 1000, "intro"), Edge(1, "end", 5000, "intro"), Edge(2, "start", 5001, "design"),
      Edge(2, "end", 9000, "design"),  Edge(3, "start", 9001, "why"),  // the page closed: no end
  };
  const std::vector<RecordingTranscript> recordings = {
      Part(7, 0, {Said(200, 600, "before"), Said(1200, 2000, "hello"), Said(4800, 5400, "straddles")}),
      // After a reload, the second part starts at 9500 ms of the session.
      Part(8, 9500, {Said(100, 900, "because")}),
  };
  auto answers = SplitByQuestion(questions, markers, recordings);
  ASSERT_EQ(answers.size(), 4u);
  EXPECT_EQ(answers[0].number, 1);
  EXPECT_EQ(answers[0].question_id, "intro");
  EXPECT_EQ(answers[0].question_text, "Introduce yourself");
  EXPECT_EQ(answers[0].start_ms, 1000);
  EXPECT_EQ(answers[0].end_ms, 5000);
  EXPECT_EQ(Texts(answers[0]), std::vector<std::string>{"hello"}) << "'before' precedes every question";
  EXPECT_EQ(Texts(answers[1]), std::vector<std::string>{"straddles"}) << "its middle (5100 ms) is in answer 2";
  EXPECT_EQ(answers[2].start_ms, 9001);
  EXPECT_FALSE(answers[2].end_ms) << "no end marker and no later question: until the end";
  ASSERT_EQ(Texts(answers[2]), std::vector<std::string>{"because"});
  const AnswerSegment& late = answers[2].segments[0];
  EXPECT_EQ(late.recording_id, 8);
  EXPECT_EQ(late.segment.start_ms, 9600);
  EXPECT_EQ(late.segment.end_ms, 10400);
  EXPECT_EQ(late.segment.words.at(0).start_ms, 9600) << "words move to the session clock with their segment";
  EXPECT_EQ(answers[3].question_id, "never");
  EXPECT_FALSE(answers[3].start_ms) << "a question never asked has no times";
  EXPECT_TRUE(answers[3].segments.empty());
}

TEST(SplitByQuestionTest, LinkNumberedQuestionsAndMissingEndsFollowTheMarkers) {
  const std::vector<SessionEvent> markers = {
      Edge(1, "start", 0),    Edge(2, "start", 3000), Edge(2, "end", 2000),  // an end before its start is ignored
      Edge(3, "start", 6000), Edge(3, "end", 8000),
  };
  auto answers = SplitByQuestion(
      {}, markers, {Part(1, 0, {Said(1000, 1500, "one"), Said(4000, 4500, "two"), Said(8500, 9000, "after")})});
  ASSERT_EQ(answers.size(), 3u);
  EXPECT_TRUE(answers[0].question_id.empty());
  EXPECT_EQ(answers[0].end_ms, 3000) << "answer 1 runs until question 2 starts";
  EXPECT_EQ(answers[1].end_ms, 6000) << "answer 2's end marker came before its start: until question 3";
  EXPECT_EQ(Texts(answers[0]), std::vector<std::string>{"one"});
  EXPECT_EQ(Texts(answers[1]), std::vector<std::string>{"two"});
  EXPECT_TRUE(answers[2].segments.empty()) << "'after' was said after the last answer ended";
}

TEST(SplitByQuestionTest, MarkersThatAreNotQuestionEdgesAreIgnored) {
  std::vector<SessionEvent> markers = {Edge(1, "start", 0), Edge(1, "end", 1000)};
  auto bad = [&](const std::string& data, EventType type = EventType::kMarker) {
    markers.push_back(SessionEvent{"x" + std::to_string(markers.size()), type, "q", data, 500, "", "", 0});
  };
  bad(R"({"question":"2","edge":"start"})");
  bad(R"({"question":2.5,"edge":"start"})");
  bad(R"({"question":1000000000,"edge":"start"})");
  bad(R"({"question":0,"edge":"start"})");
  bad(R"({"question":2})");
  bad(R"([1,2])");
  bad("not json");
  bad(R"({"question":2,"edge":"start"})", EventType::kClientEvent);
  auto answers = SplitByQuestion({}, markers, {});
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].start_ms, 0);
  EXPECT_EQ(answers[0].end_ms, 1000);
}

}  // namespace
}  // namespace recorder::server
