// PostgresIndex, results role: the session list with derived status, and deletion. A deletion
// locks the session's row first, so an upload another server creates meanwhile either lands
// before (and the deletion refuses) or finds the session gone.
#include "index/postgres/impl.h"
#include "index/sql_text.h"

namespace recorder::server {

using pg::Conn;
using pg::Row;

namespace {

// Sessions with their derived status, filtered by $1..$4 (text pattern, job pattern, from, to).
constexpr const char* kSessionsWithStatus = R"sql(
WITH summary AS (
  SELECT s.seq, s.id, s.candidate_id, c.name, COALESCE(c.email, '') AS email, COALESCE(s.job, '') AS job, s.created_at,
    COALESCE(s.ended_at, 0) AS ended_at, COALESCE(s.completed_at, 0) AS completed_at,
    CASE WHEN count(r.id) = 0 THEN 'empty'
         WHEN bool_or(r.status = 'receiving') THEN 'recording'
         WHEN bool_or(r.status = 'finalizing') THEN 'processing'
         WHEN bool_or(r.status = 'ready') THEN 'ready'
         ELSE 'failed' END AS status
  FROM sessions s JOIN candidates c ON c.id = s.candidate_id LEFT JOIN recordings r ON r.session_id = s.id
  WHERE ($1 = '%%' OR lower(c.name) LIKE $1 ESCAPE '\' OR lower(COALESCE(c.email, '')) LIKE $1 ESCAPE '\')
    AND ($2 = '%%' OR lower(COALESCE(s.job, '')) LIKE $2 ESCAPE '\')
    AND s.created_at >= $3 AND s.created_at <= $4
  GROUP BY s.id, c.id)
)sql";

SessionSummary ReadSummary(const Row& r) {
  return SessionSummary{
      r.Text(0), r.Int(1), r.Text(2), r.Text(3), r.Text(4), r.Int(5), r.Enum(6, SessionStatus::kFailed),
      {},        {},       r.Int(7),  r.Int(8)};
}

Status ReadRecordingsOf(Conn& c, SessionSummary* summary) {
  auto rows = c.Exec(std::string(pg::kSelectRecording) + "WHERE session_id = $1 ORDER BY id", {summary->session_id});
  if (!rows.ok()) return rows.status();
  summary->recordings = pg::ReadAll<Recording>(*rows, pg::ReadRecording);
  return Status::Ok();
}

// Deletes a session's rows, and its candidate's when no session is left. REQUIRES: in a
// transaction that locked the session's row.
Status DeleteSessionRows(Conn& c, const std::string& session_id, int64_t candidate_id) {
  for (const char* sql : {
           "DELETE FROM session_events WHERE session_id = $1",
           "DELETE FROM session_questions WHERE session_id = $1",
           "DELETE FROM jobs WHERE (subject_type = 'recording' AND subject_id IN "
           "(SELECT id::text FROM recordings WHERE session_id = $1)) OR "
           "(subject_type = 'session' AND subject_id = $1)",
           "DELETE FROM uploads WHERE recording_id IN (SELECT id FROM recordings WHERE session_id = $1)",
           "DELETE FROM recordings WHERE session_id = $1",
           "DELETE FROM sessions WHERE id = $1",
       }) {
    RETURN_IF_ERROR(c.Exec(sql, {session_id}).status());
  }
  return c
      .Exec("DELETE FROM candidates WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM sessions WHERE candidate_id = $1)",
            {candidate_id})
      .status();
}

// The session's candidate, its row locked until the transaction ends. NotFound.
Result<int64_t> LockSession(Conn& c, const std::string& session_id) {
  auto rows = c.Exec("SELECT candidate_id FROM sessions WHERE id = $1 FOR UPDATE", {session_id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return NotFound("no session " + session_id);
  return rows->Int(0, 0);
}

Status CheckSessionIdle(Conn& c, const std::string& session_id) {
  auto rows = c.Exec("SELECT count(*) FROM recordings WHERE session_id = $1 AND status IN ('receiving', 'finalizing')",
                     {session_id});
  if (!rows.ok()) return rows.status();
  if (rows->Int(0, 0) > 0) return FailedPrecondition("session " + session_id + " has recordings in progress");
  return Status::Ok();
}

}  // namespace

Result<SessionPage> PostgresIndex::ListSessions(const SessionFilter& filter) {
  const std::string status = filter.status ? std::string(Name(*filter.status)) : "";
  const std::vector<pg::Param> params = {LikePattern(filter.text), LikePattern(filter.job), filter.created_from,
                                         filter.created_to, status};
  return impl_->With([&](Conn& c) -> Result<SessionPage> {
    SessionPage page;
    // One snapshot for the count and the page.
    Status s = c.Transaction([&]() -> Status {
      auto count = c.Exec(
          std::string(kSessionsWithStatus) + "SELECT count(*) FROM summary WHERE $5 = '' OR status = $5", params);
      if (!count.ok()) return count.status();
      page.total = count->Int(0, 0);
      std::vector<pg::Param> list_params = params;
      list_params.emplace_back(filter.limit);
      list_params.emplace_back(filter.offset);
      auto list = c.Exec(
          std::string(kSessionsWithStatus) +
              "SELECT id, candidate_id, name, email, job, created_at, status, ended_at, completed_at FROM summary "
              "WHERE $5 = '' OR status = $5 ORDER BY created_at DESC, seq DESC LIMIT $6 OFFSET $7",
          list_params);
      if (!list.ok()) return list.status();
      page.sessions = pg::ReadAll<SessionSummary>(*list, ReadSummary);
      for (SessionSummary& summary : page.sessions) RETURN_IF_ERROR(ReadRecordingsOf(c, &summary));
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return page;
  });
}

Result<SessionSummary> PostgresIndex::GetSessionSummary(const std::string& session_id) {
  return impl_->With([&](Conn& c) -> Result<SessionSummary> {
    SessionSummary summary;
    Status s = c.Transaction([&]() -> Status {
      auto rows = c.Exec(std::string(kSessionsWithStatus) +
                             "SELECT id, candidate_id, name, email, job, created_at, status, ended_at, completed_at "
                             "FROM summary WHERE id = $5",
                         {"%%", "%%", int64_t{0}, INT64_MAX, session_id});
      if (!rows.ok()) return rows.status();
      if (rows->empty()) return NotFound("no session " + session_id);
      summary = ReadSummary(Row{*rows, 0});
      RETURN_IF_ERROR(ReadRecordingsOf(c, &summary));
      auto questions = pg::ReadQuestions(c, session_id);
      if (!questions.ok()) return questions.status();
      summary.questions = std::move(*questions);
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return summary;
  });
}

Result<std::vector<std::string>> PostgresIndex::SessionIdsOfCandidate(int64_t candidate_id) {
  return impl_->With([&](Conn& c) -> Result<std::vector<std::string>> {
    auto rows = c.Exec(
        "SELECT s.id FROM candidates c LEFT JOIN sessions s ON s.candidate_id = c.id WHERE c.id = $1 "
        "ORDER BY s.created_at, s.seq",
        {candidate_id});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return NotFound("no candidate " + std::to_string(candidate_id));
    std::vector<std::string> ids;
    for (int i = 0; i < rows->size(); ++i) {
      if (!rows->IsNull(i, 0)) ids.push_back(rows->Text(i, 0));
    }
    return ids;
  });
}

Status PostgresIndex::RevokeSessionToken(const std::string& session_id) {
  return impl_->With([&](Conn& c) -> Status {
    auto rows = c.Exec("UPDATE sessions SET token_expires_at = 0 WHERE id = $1", {session_id});
    if (!rows.ok()) return rows.status();
    if (rows->Affected() == 0) return NotFound("no session " + session_id);
    return Status::Ok();
  });
}

Result<StoredMedia> PostgresIndex::PrepareSessionDeletion(const std::string& session_id) {
  StoredMedia media;
  Status s = impl_->InTransaction([&](Conn& c) -> Status {
    auto revoked = c.Exec("UPDATE sessions SET token_expires_at = 0 WHERE id = $1", {session_id});
    if (!revoked.ok()) return revoked.status();
    if (revoked->Affected() == 0) return NotFound("no session " + session_id);
    RETURN_IF_ERROR(CheckSessionIdle(c, session_id));
    auto rows = c.Exec("SELECT media_key, bytes FROM recordings WHERE session_id = $1", {session_id});
    if (!rows.ok()) return rows.status();
    for (int i = 0; i < rows->size(); ++i) {
      media.media_keys.push_back(rows->Text(i, 0));
      media.bytes += static_cast<uint64_t>(rows->Int(i, 1));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return media;
}

Status PostgresIndex::DeleteSession(const std::string& session_id, const AuditEntry& audit) {
  return impl_->InTransaction([&](Conn& c) -> Status {
    auto candidate_id = LockSession(c, session_id);
    if (!candidate_id.ok()) return candidate_id.status();
    RETURN_IF_ERROR(CheckSessionIdle(c, session_id));
    RETURN_IF_ERROR(DeleteSessionRows(c, session_id, *candidate_id));
    return pg::InsertAudit(c, audit);
  });
}

Result<std::vector<Recording>> PostgresIndex::RecordingsCreatedBefore(int64_t cutoff) {
  return impl_->With([&](Conn& c) -> Result<std::vector<Recording>> {
    auto rows = c.Exec(
        std::string(pg::kSelectRecording) + "WHERE created_at < $1 AND status IN ('ready', 'failed') ORDER BY id",
        {cutoff});
    if (!rows.ok()) return rows.status();
    return pg::ReadAll<Recording>(*rows, pg::ReadRecording);
  });
}

Result<std::vector<std::string>> PostgresIndex::EmptySessionsCreatedBefore(int64_t cutoff) {
  return impl_->With([&](Conn& c) -> Result<std::vector<std::string>> {
    auto rows = c.Exec(
        "SELECT id FROM sessions s WHERE created_at < $1 AND NOT EXISTS "
        "(SELECT 1 FROM recordings r WHERE r.session_id = s.id) ORDER BY created_at, seq",
        {cutoff});
    if (!rows.ok()) return rows.status();
    return pg::ReadAll<std::string>(*rows, [](const Row& r) { return r.Text(0); });
  });
}

Status PostgresIndex::DeleteRecording(int64_t recording_id, const AuditEntry& audit) {
  return impl_->InTransaction([&](Conn& c) -> Status {
    auto found = c.Exec("SELECT session_id FROM recordings WHERE id = $1", {recording_id});
    if (!found.ok()) return found.status();
    if (found->empty()) return NotFound("no recording " + std::to_string(recording_id));
    const std::string session_id = found->Text(0, 0);
    auto candidate_id = LockSession(c, session_id);
    if (!candidate_id.ok()) return candidate_id.status();
    for (const char* sql : {
             "DELETE FROM session_events WHERE upload_id IN (SELECT id FROM uploads WHERE recording_id = $1)",
             "DELETE FROM jobs WHERE subject_type = 'recording' AND subject_id = $1::bigint::text",
             "DELETE FROM uploads WHERE recording_id = $1",
             "DELETE FROM recordings WHERE id = $1",
         }) {
      RETURN_IF_ERROR(c.Exec(sql, {recording_id}).status());
    }
    auto left = c.Exec("SELECT count(*) FROM recordings WHERE session_id = $1", {session_id});
    if (!left.ok()) return left.status();
    if (left->Int(0, 0) == 0) RETURN_IF_ERROR(DeleteSessionRows(c, session_id, *candidate_id));
    return pg::InsertAudit(c, audit);
  });
}

}  // namespace recorder::server
