// SqliteIndex, transcript role.
#include "index/sql_text.h"
#include "index/sqlite/impl.h"

namespace recorder::server {

using sqlite::Stmt;

Status SqliteIndex::PutTranscript(int64_t recording_id, const Transcript& transcript,
                                  const std::vector<NewJob>& follow_ups, int64_t now) {
  std::lock_guard lock(impl_->mu);
  auto& db = impl_->db;
  return impl_->Transaction([&]() -> Status {
    Stmt exists(db, "SELECT 1 FROM recordings WHERE id = ?");
    auto row = exists.Bind(1, recording_id).Step();
    if (!row.ok()) return row.status();
    if (!*row) return NotFound("no recording " + std::to_string(recording_id));
    // The segments and words of an earlier transcript go with it (ON DELETE CASCADE).
    RETURN_IF_ERROR(Stmt(db, "DELETE FROM transcripts WHERE recording_id = ?").Bind(1, recording_id).Run());
    RETURN_IF_ERROR(Stmt(db,
                         "INSERT INTO transcripts(recording_id, engine, language, audio_seconds, created_at) "
                         "VALUES (?, ?, ?, ?, ?)")
                        .Bind(1, recording_id)
                        .Bind(2, transcript.engine)
                        .Bind(3, transcript.language)
                        .Bind(4, transcript.audio_seconds)
                        .Bind(5, now)
                        .Run());
    for (size_t i = 0; i < transcript.segments.size(); ++i) {
      const TranscriptSegment& segment = transcript.segments[i];
      RETURN_IF_ERROR(Stmt(db,
                           "INSERT INTO transcript_segments(recording_id, seq, start_ms, end_ms, text, confidence) "
                           "VALUES (?, ?, ?, ?, ?, ?)")
                          .Bind(1, recording_id)
                          .Bind(2, static_cast<int64_t>(i))
                          .Bind(3, segment.start_ms)
                          .Bind(4, segment.end_ms)
                          .Bind(5, segment.text)
                          .Bind(6, segment.confidence)
                          .Run());
      for (size_t j = 0; j < segment.words.size(); ++j) {
        const TranscriptWord& word = segment.words[j];
        RETURN_IF_ERROR(Stmt(db,
                             "INSERT INTO transcript_words(recording_id, segment_seq, seq, start_ms, end_ms, text, "
                             "confidence) VALUES (?, ?, ?, ?, ?, ?, ?)")
                            .Bind(1, recording_id)
                            .Bind(2, static_cast<int64_t>(i))
                            .Bind(3, static_cast<int64_t>(j))
                            .Bind(4, word.start_ms)
                            .Bind(5, word.end_ms)
                            .Bind(6, word.text)
                            .Bind(7, word.confidence)
                            .Run());
      }
    }
    return sqlite::InsertJobs(db, follow_ups, now);
  });
}

Result<Transcript> SqliteIndex::GetTranscript(int64_t recording_id) {
  std::lock_guard lock(impl_->mu);
  auto& db = impl_->db;
  Transcript transcript;
  {
    Stmt head(db, "SELECT engine, language, audio_seconds FROM transcripts WHERE recording_id = ?");
    auto row = head.Bind(1, recording_id).Step();
    if (!row.ok()) return row.status();
    if (!*row) return NotFound("recording " + std::to_string(recording_id) + " has no transcript");
    transcript.engine = head.Text(0);
    transcript.language = head.Text(1);
    transcript.audio_seconds = head.Real(2);
  }
  Stmt segments(db,
                "SELECT start_ms, end_ms, text, confidence FROM transcript_segments WHERE recording_id = ? "
                "ORDER BY seq");
  auto read = sqlite::ReadAll<TranscriptSegment>(segments.Bind(1, recording_id), [](Stmt& r) {
    return TranscriptSegment{r.Int(0), r.Int(1), r.Text(2), r.Real(3), {}};
  });
  if (!read.ok()) return read.status();
  transcript.segments = std::move(read.value());
  Stmt words(db,
             "SELECT segment_seq, start_ms, end_ms, text, confidence FROM transcript_words WHERE recording_id = ? "
             "ORDER BY segment_seq, seq");
  words.Bind(1, recording_id);
  for (;;) {
    auto row = words.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    const auto segment = static_cast<size_t>(words.Int(0));
    if (segment >= transcript.segments.size()) continue;  // the foreign key keeps this from happening
    transcript.segments[segment].words.push_back({words.Int(1), words.Int(2), words.Text(3), words.Real(4)});
  }
  return transcript;
}

Result<std::vector<SegmentHit>> SqliteIndex::SearchTranscripts(const std::vector<std::string>& words, int limit) {
  // Each word quoted (FTS5 syntax cannot be injected) as a prefix: "shor" finds "shortener".
  std::string query;
  for (const std::string& word : words) {
    if (!IsSearchWord(word)) return InvalidArgument("search words are letters and digits");
    query += (query.empty() ? "\"" : " \"") + word + "\"*";
  }
  if (query.empty()) return std::vector<SegmentHit>{};
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "SELECT seg.recording_id, seg.start_ms, seg.end_ms, seg.text, seg.confidence FROM transcript_search "
         "JOIN transcript_segments seg ON seg.recording_id = transcript_search.rowid / 1000000 "
         "AND seg.seq = transcript_search.rowid % 1000000 "
         "WHERE transcript_search MATCH ? ORDER BY transcript_search.rank LIMIT ?");
  s.Bind(1, query).Bind(2, static_cast<int64_t>(limit));
  return sqlite::ReadAll<SegmentHit>(s, [](Stmt& r) {
    return SegmentHit{r.Int(0), TranscriptSegment{r.Int(1), r.Int(2), r.Text(3), r.Real(4), {}}};
  });
}

}  // namespace recorder::server
