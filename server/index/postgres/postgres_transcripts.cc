// PostgresIndex, transcript role.
#include "index/postgres/impl.h"
#include "index/sql_text.h"

namespace recorder::server {

using pg::Conn;
using pg::Row;

Status PostgresIndex::PutTranscript(int64_t recording_id, const Transcript& transcript,
                                    const std::vector<NewJob>& follow_ups, int64_t now) {
  return impl_->InTransaction([&](Conn& c) -> Status {
    // FOR SHARE: a deletion of the recording waits for this transcript (and deletes it too).
    auto exists = c.Exec("SELECT 1 FROM recordings WHERE id = $1 FOR SHARE", {recording_id});
    if (!exists.ok()) return exists.status();
    if (exists->empty()) return NotFound("no recording " + std::to_string(recording_id));
    // The segments and words of an earlier transcript go with it (ON DELETE CASCADE).
    RETURN_IF_ERROR(c.Exec("DELETE FROM transcripts WHERE recording_id = $1", {recording_id}).status());
    RETURN_IF_ERROR(c.Exec("INSERT INTO transcripts(recording_id, engine, language, audio_seconds, created_at) "
                           "VALUES ($1, $2, $3, $4, $5)",
                           {recording_id, transcript.engine, transcript.language, transcript.audio_seconds, now})
                        .status());
    for (size_t i = 0; i < transcript.segments.size(); ++i) {
      const TranscriptSegment& segment = transcript.segments[i];
      RETURN_IF_ERROR(c.Exec("INSERT INTO transcript_segments(recording_id, seq, start_ms, end_ms, text, confidence) "
                             "VALUES ($1, $2, $3, $4, $5, $6)",
                             {recording_id, static_cast<int64_t>(i), segment.start_ms, segment.end_ms, segment.text,
                              segment.confidence})
                          .status());
      for (size_t j = 0; j < segment.words.size(); ++j) {
        const TranscriptWord& word = segment.words[j];
        RETURN_IF_ERROR(c.Exec("INSERT INTO transcript_words(recording_id, segment_seq, seq, start_ms, end_ms, text, "
                               "confidence) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                               {recording_id, static_cast<int64_t>(i), static_cast<int64_t>(j), word.start_ms,
                                word.end_ms, word.text, word.confidence})
                            .status());
      }
    }
    return pg::InsertJobs(c, follow_ups, now);
  });
}

Result<Transcript> PostgresIndex::GetTranscript(int64_t recording_id) {
  return impl_->With([&](Conn& c) -> Result<Transcript> {
    Transcript transcript;
    // One snapshot for the three reads: a transcript replaced meanwhile is read whole, old or new.
    Status s = c.Transaction([&]() -> Status {
      auto head =
          c.Exec("SELECT engine, language, audio_seconds FROM transcripts WHERE recording_id = $1", {recording_id});
      if (!head.ok()) return head.status();
      if (head->empty()) return NotFound("recording " + std::to_string(recording_id) + " has no transcript");
      transcript.engine = head->Text(0, 0);
      transcript.language = head->Text(0, 1);
      transcript.audio_seconds = head->Real(0, 2);
      auto segments = c.Exec(
          "SELECT start_ms, end_ms, text, confidence FROM transcript_segments WHERE recording_id = $1 ORDER BY seq",
          {recording_id});
      if (!segments.ok()) return segments.status();
      transcript.segments = pg::ReadAll<TranscriptSegment>(*segments, [](const Row& r) {
        return TranscriptSegment{r.Int(0), r.Int(1), r.Text(2), r.Real(3), {}};
      });
      auto words = c.Exec(
          "SELECT segment_seq, start_ms, end_ms, text, confidence FROM transcript_words WHERE recording_id = $1 "
          "ORDER BY segment_seq, seq",
          {recording_id});
      if (!words.ok()) return words.status();
      for (int i = 0; i < words->size(); ++i) {
        const Row r{*words, i};
        const auto segment = static_cast<size_t>(r.Int(0));
        if (segment >= transcript.segments.size()) continue;  // the foreign key keeps this from happening
        transcript.segments[segment].words.push_back({r.Int(1), r.Int(2), r.Text(3), r.Real(4)});
      }
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return transcript;
  });
}

Result<std::vector<SegmentHit>> PostgresIndex::SearchTranscripts(const std::vector<std::string>& words, int limit) {
  // Each word (letters and digits: no tsquery syntax) matched as a prefix: "shor" finds
  // "shortener". Accents go from both sides (recorder_search_text).
  std::string query;
  for (const std::string& word : words) {
    if (!IsSearchWord(word)) return InvalidArgument("search words are letters and digits");
    query += (query.empty() ? "" : " & ") + word + ":*";
  }
  if (query.empty()) return std::vector<SegmentHit>{};
  return impl_->With([&](Conn& c) -> Result<std::vector<SegmentHit>> {
    auto rows = c.Exec(
        "SELECT recording_id, start_ms, end_ms, text, confidence FROM transcript_segments, "
        "to_tsquery('simple', lower(recorder_search_text($1))) AS q WHERE search @@ q "
        "ORDER BY ts_rank(search, q) DESC, recording_id, seq LIMIT $2",
        {query, limit});
    if (!rows.ok()) return rows.status();
    return pg::ReadAll<SegmentHit>(*rows, [](const Row& r) {
      return SegmentHit{r.Int(0), TranscriptSegment{r.Int(1), r.Int(2), r.Text(3), r.Real(4), {}}};
    });
  });
}

}  // namespace recorder::server
