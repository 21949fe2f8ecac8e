// SqliteIndex, results role: the session list with derived status, and deletion.
#include "index/sql_text.h"
#include "index/sqlite/impl.h"

namespace recorder::server {

using sqlite::Stmt;

namespace {

// Sessions with their derived status, filtered by ?1..?5 (text pattern, job pattern, from, to, status).
constexpr const char* kSessionsWithStatus = R"sql(
WITH summary AS (
  SELECT s.rowid AS seq, s.id, s.candidate_id, c.name, COALESCE(c.email, '') AS email, COALESCE(s.job, '') AS job, s.created_at,
    COALESCE(s.ended_at, 0) AS ended_at, COALESCE(s.completed_at, 0) AS completed_at,
    CASE WHEN count(r.id) = 0 THEN 'empty'
         WHEN sum(r.status = 'receiving') > 0 THEN 'recording'
         WHEN sum(r.status = 'finalizing') > 0 THEN 'processing'
         WHEN sum(r.status = 'ready') > 0 THEN 'ready'
         ELSE 'failed' END AS status
  FROM sessions s JOIN candidates c ON c.id = s.candidate_id LEFT JOIN recordings r ON r.session_id = s.id
  WHERE (?1 = '%%' OR lower(c.name) LIKE ?1 ESCAPE '\' OR lower(COALESCE(c.email, '')) LIKE ?1 ESCAPE '\')
    AND (?2 = '%%' OR lower(COALESCE(s.job, '')) LIKE ?2 ESCAPE '\')
    AND s.created_at >= ?3 AND s.created_at <= ?4
  GROUP BY s.id)
)sql";

SessionSummary ReadSummary(Stmt& r) {
  return SessionSummary{
      r.Text(0), r.Int(1), r.Text(2), r.Text(3), r.Text(4), r.Int(5), r.Enum(6, SessionStatus::kFailed),
      {},        {},       r.Int(7),  r.Int(8)};
}

Status ReadRecordingsOf(sqlite::Connection& db, SessionSummary* summary) {
  Stmt recs(db, std::string(sqlite::kSelectRecording) + "WHERE session_id = ? ORDER BY id");
  recs.Bind(1, summary->session_id);
  auto recordings = sqlite::ReadAll<Recording>(recs, sqlite::ReadRecording);
  if (!recordings.ok()) return recordings.status();
  summary->recordings = std::move(*recordings);
  return Status::Ok();
}

// Deletes a session's rows, and its candidate's when no session is left. REQUIRES: in a transaction.
Status DeleteSessionRows(sqlite::Connection& db, const std::string& session_id) {
  Stmt find(db, "SELECT candidate_id FROM sessions WHERE id = ?");
  auto row = find.Bind(1, session_id).Step();
  if (!row.ok()) return row.status();
  if (!*row) return NotFound("no session " + session_id);
  int64_t candidate_id = find.Int(0);
  for (const char* sql : {
           "DELETE FROM session_events WHERE session_id = ?1",
           "DELETE FROM session_questions WHERE session_id = ?1",
           "DELETE FROM jobs WHERE (subject_type = 'recording' AND subject_id IN "
           "(SELECT CAST(id AS TEXT) FROM recordings WHERE session_id = ?1)) OR "
           "(subject_type = 'session' AND subject_id = ?1)",
           "DELETE FROM uploads WHERE recording_id IN (SELECT id FROM recordings WHERE session_id = ?1)",
           "DELETE FROM recordings WHERE session_id = ?1",
           "DELETE FROM sessions WHERE id = ?1",
       }) {
    RETURN_IF_ERROR(Stmt(db, sql).Bind(1, session_id).Run());
  }
  return Stmt(db, "DELETE FROM candidates WHERE id = ? AND NOT EXISTS (SELECT 1 FROM sessions WHERE candidate_id = ?)")
      .Bind(1, candidate_id)
      .Bind(2, candidate_id)
      .Run();
}

Status CheckSessionIdle(sqlite::Connection& db, const std::string& session_id) {
  Stmt busy(db, "SELECT count(*) FROM recordings WHERE session_id = ? AND status IN ('receiving', 'finalizing')");
  auto row = busy.Bind(1, session_id).Step();
  if (!row.ok()) return row.status();
  if (busy.Int(0) > 0) return FailedPrecondition("session " + session_id + " has recordings in progress");
  return Status::Ok();
}

}  // namespace

Result<SessionPage> SqliteIndex::ListSessions(const SessionFilter& filter) {
  std::lock_guard lock(impl_->mu);
  auto& db = impl_->db;
  const std::string status = filter.status ? std::string(Name(*filter.status)) : "";
  auto bind_filter = [&](Stmt& s) -> Stmt& {
    return s.Bind(1, LikePattern(filter.text))
        .Bind(2, LikePattern(filter.job))
        .Bind(3, filter.created_from)
        .Bind(4, filter.created_to)
        .Bind(5, status);
  };
  SessionPage page;
  Stmt count(db, std::string(kSessionsWithStatus) + "SELECT count(*) FROM summary WHERE ?5 = '' OR status = ?5");
  auto row = bind_filter(count).Step();
  if (!row.ok()) return row.status();
  page.total = count.Int(0);

  Stmt list(db,
            std::string(kSessionsWithStatus) +
                "SELECT id, candidate_id, name, email, job, created_at, status, ended_at, completed_at FROM summary "
                "WHERE ?5 = '' OR status = ?5 ORDER BY created_at DESC, seq DESC LIMIT ?6 OFFSET ?7");
  bind_filter(list).Bind(6, filter.limit).Bind(7, filter.offset);
  auto sessions = sqlite::ReadAll<SessionSummary>(list, ReadSummary);
  if (!sessions.ok()) return sessions.status();
  for (SessionSummary& summary : *sessions) RETURN_IF_ERROR(ReadRecordingsOf(db, &summary));
  page.sessions = std::move(*sessions);
  return page;
}

Result<SessionSummary> SqliteIndex::GetSessionSummary(const std::string& session_id) {
  std::lock_guard lock(impl_->mu);
  auto& db = impl_->db;
  Stmt s(db, std::string(kSessionsWithStatus) +
                 "SELECT id, candidate_id, name, email, job, created_at, status, ended_at, completed_at FROM summary "
                 "WHERE id = ?5");
  auto row = s.Bind(1, "%%").Bind(2, "%%").Bind(3, int64_t{0}).Bind(4, INT64_MAX).Bind(5, session_id).Step();
  if (!row.ok()) return row.status();
  if (!*row) return NotFound("no session " + session_id);
  SessionSummary summary = ReadSummary(s);
  RETURN_IF_ERROR(ReadRecordingsOf(db, &summary));
  auto questions = sqlite::ReadQuestions(db, session_id);
  if (!questions.ok()) return questions.status();
  summary.questions = std::move(*questions);
  return summary;
}

Result<std::vector<std::string>> SqliteIndex::SessionIdsOfCandidate(int64_t candidate_id) {
  std::lock_guard lock(impl_->mu);
  Stmt c(impl_->db, "SELECT 1 FROM candidates WHERE id = ?");
  auto row = c.Bind(1, candidate_id).Step();
  if (!row.ok()) return row.status();
  if (!*row) return NotFound("no candidate " + std::to_string(candidate_id));
  Stmt s(impl_->db, "SELECT id FROM sessions WHERE candidate_id = ? ORDER BY created_at, rowid");
  s.Bind(1, candidate_id);
  return sqlite::ReadAll<std::string>(s, [](Stmt& r) { return r.Text(0); });
}

Status SqliteIndex::RevokeSessionToken(const std::string& session_id) {
  std::lock_guard lock(impl_->mu);
  RETURN_IF_ERROR(Stmt(impl_->db, "UPDATE sessions SET token_expires_at = 0 WHERE id = ?").Bind(1, session_id).Run());
  if (impl_->Changes() == 0) return NotFound("no session " + session_id);
  return Status::Ok();
}

Result<StoredMedia> SqliteIndex::PrepareSessionDeletion(const std::string& session_id) {
  std::lock_guard lock(impl_->mu);
  auto& db = impl_->db;
  StoredMedia media;
  Status s = impl_->Transaction([&]() -> Status {
    RETURN_IF_ERROR(Stmt(db, "UPDATE sessions SET token_expires_at = 0 WHERE id = ?").Bind(1, session_id).Run());
    if (impl_->Changes() == 0) return NotFound("no session " + session_id);
    RETURN_IF_ERROR(CheckSessionIdle(db, session_id));
    Stmt recs(db, "SELECT media_key, bytes FROM recordings WHERE session_id = ?");
    recs.Bind(1, session_id);
    for (;;) {
      auto row = recs.Step();
      if (!row.ok()) return row.status();
      if (!*row) return Status::Ok();
      media.media_keys.push_back(recs.Text(0));
      media.bytes += static_cast<uint64_t>(recs.Int(1));
    }
  });
  if (!s.ok()) return s;
  return media;
}

Status SqliteIndex::DeleteSession(const std::string& session_id, const AuditEntry& audit) {
  std::lock_guard lock(impl_->mu);
  auto& db = impl_->db;
  return impl_->Transaction([&]() -> Status {
    RETURN_IF_ERROR(CheckSessionIdle(db, session_id));
    RETURN_IF_ERROR(DeleteSessionRows(db, session_id));
    return sqlite::InsertAudit(db, audit);
  });
}

Result<std::vector<Recording>> SqliteIndex::RecordingsCreatedBefore(int64_t cutoff) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         std::string(sqlite::kSelectRecording) + "WHERE created_at < ? AND status IN ('ready', 'failed') ORDER BY id");
  s.Bind(1, cutoff);
  return sqlite::ReadAll<Recording>(s, sqlite::ReadRecording);
}

Result<std::vector<std::string>> SqliteIndex::EmptySessionsCreatedBefore(int64_t cutoff) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "SELECT id FROM sessions s WHERE created_at < ? AND NOT EXISTS "
         "(SELECT 1 FROM recordings r WHERE r.session_id = s.id) ORDER BY created_at");
  s.Bind(1, cutoff);
  return sqlite::ReadAll<std::string>(s, [](Stmt& r) { return r.Text(0); });
}

Status SqliteIndex::DeleteRecording(int64_t recording_id, const AuditEntry& audit) {
  std::lock_guard lock(impl_->mu);
  auto& db = impl_->db;
  return impl_->Transaction([&]() -> Status {
    Stmt find(db, "SELECT session_id FROM recordings WHERE id = ?");
    auto row = find.Bind(1, recording_id).Step();
    if (!row.ok()) return row.status();
    if (!*row) return NotFound("no recording " + std::to_string(recording_id));
    std::string session_id = find.Text(0);
    RETURN_IF_ERROR(find.Run());
    for (const char* sql : {
             "DELETE FROM session_events WHERE upload_id IN (SELECT id FROM uploads WHERE recording_id = ?1)",
             "DELETE FROM jobs WHERE subject_type = 'recording' AND subject_id = CAST(?1 AS TEXT)",
             "DELETE FROM uploads WHERE recording_id = ?1",
             "DELETE FROM recordings WHERE id = ?1",
         }) {
      RETURN_IF_ERROR(Stmt(db, sql).Bind(1, recording_id).Run());
    }
    Stmt left(db, "SELECT count(*) FROM recordings WHERE session_id = ?");
    auto count = left.Bind(1, session_id).Step();
    if (!count.ok()) return count.status();
    if (left.Int(0) == 0) RETURN_IF_ERROR(DeleteSessionRows(db, session_id));
    return sqlite::InsertAudit(db, audit);
  });
}

}  // namespace recorder::server
