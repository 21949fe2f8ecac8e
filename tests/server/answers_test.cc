// SplitByQuestion: the question markers cut the session clock into answers, and each transcript
// segment lands in the answer its midpoint falls in, on the session clock. CaptionSizedSegments:
// long utterances become caption-sized segments, cut between words.
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

// One utterance of `count` words of `letters` letters each, a word every `step_ms` (each lasting
// step_ms - gap_ms), with a longer pause of `pause_ms` before word `pause_at`.
TranscriptSegment Utterance(int count, size_t letters, int64_t step_ms, int64_t gap_ms, int pause_at = -1,
                            int64_t pause_ms = 0) {
  TranscriptSegment segment;
  int64_t t = 1000;
  for (int i = 0; i < count; ++i) {
    if (i == pause_at) t += pause_ms;
    std::string word(letters, static_cast<char>('a' + i % 26));
    segment.words.push_back({t, t + step_ms - gap_ms, word, i % 2 ? 0.5 : 1.0});
    segment.text += (i ? " " : "") + word;
    t += step_ms;
  }
  segment.start_ms = segment.words.front().start_ms;
  segment.end_ms = segment.words.back().end_ms;
  return segment;
}

void ExpectTheSameWordsInCaptionSizedPieces(const TranscriptSegment& whole,
                                            const std::vector<TranscriptSegment>& pieces) {
  std::string text;
  size_t words = 0;
  for (const TranscriptSegment& piece : pieces) {
    EXPECT_LE(piece.end_ms - piece.start_ms, kMaxSegmentMs) << piece.text;
    EXPECT_LE(piece.text.size(), kMaxSegmentChars) << piece.text;
    ASSERT_FALSE(piece.words.empty());
    EXPECT_EQ(piece.start_ms, piece.words.front().start_ms);
    EXPECT_EQ(piece.end_ms, piece.words.back().end_ms);
    EXPECT_DOUBLE_EQ(piece.confidence, piece.words.size() == 1 ? piece.words[0].confidence : 0.75) << piece.text;
    text += (text.empty() ? "" : " ") + piece.text;
    words += piece.words.size();
  }
  EXPECT_EQ(text, whole.text);
  EXPECT_EQ(words, whole.words.size());
}

TEST(CaptionSizedSegmentsTest, ALongUtteranceIsCutBetweenWordsIntoCaptionsOfAtMost7SecondsAnd84Characters) {
  // 30 s of short words: the time limit cuts.
  TranscriptSegment slow = Utterance(60, 3, 500, 50);
  auto pieces = CaptionSizedSegments({slow});
  EXPECT_GE(pieces.size(), 5u);
  ExpectTheSameWordsInCaptionSizedPieces(slow, pieces);
  // 10 s of long words: the length limit cuts.
  TranscriptSegment wordy = Utterance(40, 9, 250, 20);
  pieces = CaptionSizedSegments({wordy});
  EXPECT_GE(pieces.size(), 5u);
  ExpectTheSameWordsInCaptionSizedPieces(wordy, pieces);
}

TEST(CaptionSizedSegmentsTest, APauseCutsWhereTheSpeakerMadeIt) {
  TranscriptSegment paused = Utterance(24, 4, 400, 40, /*pause_at=*/8, /*pause_ms=*/600);
  auto pieces = CaptionSizedSegments({paused});
  ExpectTheSameWordsInCaptionSizedPieces(paused, pieces);
  ASSERT_GE(pieces.size(), 2u);
  EXPECT_EQ(pieces[0].words.size(), 8u) << "cut at the pause, not at the limit: " << pieces[0].text;
}

TEST(CaptionSizedSegmentsTest, ShortSegmentsAndSegmentsWithoutWordTimesStayWhole) {
  TranscriptSegment short_one = Utterance(5, 4, 400, 40, 2, 900);  // a pause, but already short
  TranscriptSegment no_words{0, 30000, std::string(200, 'x'), 0.5, {}};
  auto pieces = CaptionSizedSegments({short_one, no_words});
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[0].text, short_one.text);
  EXPECT_EQ(pieces[0].words.size(), 5u);
  EXPECT_EQ(pieces[1].end_ms, 30000);
  EXPECT_EQ(pieces[1].text, no_words.text);
}

}  // namespace
}  // namespace recorder::server
