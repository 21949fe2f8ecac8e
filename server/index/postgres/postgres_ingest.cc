// PostgresIndex, ingest role: candidates, sessions, uploads, recordings and markers.
#include "index/postgres/impl.h"

namespace recorder::server {

using pg::Conn;
using pg::Row;

Result<Candidate> PostgresIndex::FindOrCreateCandidate(const std::string& name, const std::string& email,
                                                       const std::string& folder_base, int64_t now) {
  Candidate found;
  Status s = impl_->InTransaction([&](Conn& c) -> Status {
    // Two servers creating the same person at once: the second waits, then finds the first's row.
    const std::string person = email.empty() ? "name:" + name : "email:" + email;
    RETURN_IF_ERROR(c.Exec("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", {person}).status());
    auto rows = c.Exec(email.empty() ? "SELECT id, folder FROM candidates WHERE email IS NULL AND name = $1"
                                     : "SELECT id, folder FROM candidates WHERE email = $1",
                       {email.empty() ? name : email});
    if (!rows.ok()) return rows.status();
    if (!rows->empty()) {
      found = {rows->Int(0, 0), rows->Text(0, 1)};
      return Status::Ok();
    }
    for (int n = 1;; ++n) {
      std::string folder = WithCollisionSuffix(folder_base, n);
      auto inserted = c.Exec(
          "INSERT INTO candidates(name, email, folder, created_at) VALUES ($1, $2, $3, $4) "
          "ON CONFLICT (folder) DO NOTHING RETURNING id",
          {name, pg::Param::TextOrNull(email), folder, now});
      if (!inserted.ok()) return inserted.status();
      if (inserted->empty()) continue;  // another candidate holds this folder
      found = {inserted->Int(0, 0), folder};
      return Status::Ok();
    }
  });
  if (!s.ok()) return s;
  return found;
}

Status PostgresIndex::CreateSession(const std::string& session_id, int64_t candidate_id, const std::string& job,
                                    const std::vector<Question>& questions, const std::string& token_sha256,
                                    int64_t token_expires_at, int64_t now) {
  return impl_->InTransaction([&](Conn& c) -> Status {
    RETURN_IF_ERROR(c.Exec("INSERT INTO sessions(id, candidate_id, job, token_sha256, token_expires_at, created_at) "
                           "VALUES ($1, $2, $3, $4, $5, $6)",
                           {session_id, candidate_id, pg::Param::TextOrNull(job), token_sha256, token_expires_at, now})
                        .status());
    for (size_t i = 0; i < questions.size(); ++i) {
      RETURN_IF_ERROR(
          c.Exec("INSERT INTO session_questions(session_id, seq, question_id, text, max_seconds) "
                 "VALUES ($1, $2, $3, $4, $5)",
                 {session_id, static_cast<int64_t>(i), questions[i].id, questions[i].text, questions[i].max_seconds})
              .status());
    }
    return Status::Ok();
  });
}

Result<std::vector<Question>> PostgresIndex::QuestionsOfSession(const std::string& session_id) {
  return impl_->With([&](Conn& c) { return pg::ReadQuestions(c, session_id); });
}

Result<Session> PostgresIndex::SessionByTokenHash(const std::string& token_sha256) {
  return impl_->With([&](Conn& c) -> Result<Session> {
    auto rows = c.Exec(
        "SELECT s.id, s.candidate_id, c.folder, s.token_expires_at, s.ended_at FROM sessions s "
        "JOIN candidates c ON c.id = s.candidate_id WHERE s.token_sha256 = $1",
        {token_sha256});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return NotFound("no session for this token");
    return Session{rows->Text(0, 0), rows->Int(0, 1), rows->Text(0, 2), rows->Int(0, 3), rows->Int(0, 4)};
  });
}

Status PostgresIndex::EndSession(const std::string& session_id, int64_t now) {
  return impl_->With([&](Conn& c) -> Status {
    auto rows = c.Exec("UPDATE sessions SET ended_at = COALESCE(ended_at, $1) WHERE id = $2", {now, session_id});
    if (!rows.ok()) return rows.status();
    return rows->Affected() == 0 ? NotFound("no session " + session_id) : Status::Ok();
  });
}

Result<std::vector<Session>> PostgresIndex::SettledSessions(int64_t now, const std::string& except_kind, int limit) {
  return impl_->With([&](Conn& c) -> Result<std::vector<Session>> {
    auto rows = c.Exec(R"sql(
SELECT s.id, s.candidate_id, c.folder, s.token_expires_at, s.ended_at
FROM sessions s JOIN candidates c ON c.id = s.candidate_id
WHERE s.completed_at IS NULL AND (s.ended_at IS NOT NULL OR s.token_expires_at <= $1)
  AND NOT EXISTS (SELECT 1 FROM recordings r WHERE r.session_id = s.id AND r.status IN ('receiving', 'finalizing'))
  AND NOT EXISTS (SELECT 1 FROM recordings r JOIN jobs j
                    ON j.subject_type = 'recording' AND j.subject_id = CAST(r.id AS TEXT)
                  WHERE r.session_id = s.id AND j.kind <> $2 AND j.state IN ('pending', 'running'))
ORDER BY LEAST(COALESCE(s.ended_at, s.token_expires_at), s.token_expires_at), s.id LIMIT $3)sql",
                       {now, except_kind, int64_t{limit}});
    if (!rows.ok()) return rows.status();
    return pg::ReadAll<Session>(*rows, [](const pg::Row& r) {
      return Session{r.Text(0), r.Int(1), r.Text(2), r.Int(3), r.Int(4)};
    });
  });
}

Status PostgresIndex::CompleteSession(const std::string& session_id, const std::vector<NewJob>& follow_ups,
                                      int64_t now) {
  return impl_->InTransaction([&](Conn& c) -> Status {
    // FOR UPDATE: of two servers' sweeps, the second waits and then finds it completed.
    auto rows = c.Exec("SELECT completed_at IS NOT NULL FROM sessions WHERE id = $1 FOR UPDATE", {session_id});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return NotFound("no session " + session_id);
    if (rows->Bool(0, 0)) return FailedPrecondition("session " + session_id + " is already completed");
    RETURN_IF_ERROR(c.Exec("UPDATE sessions SET completed_at = $1 WHERE id = $2", {now, session_id}).status());
    return pg::InsertJobs(c, follow_ups, now);
  });
}

Result<Upload> PostgresIndex::CreateUpload(const Upload& upload, RecordingKind kind, int64_t now) {
  Upload created = upload;
  Status s = impl_->InTransaction([&](Conn& c) -> Status {
    // FOR SHARE: a deletion revoking the token (an UPDATE of this row) waits for this transaction
    // and then sees the new recording, or this one waits for it and finds the token gone.
    auto live = c.Exec("SELECT 1 FROM sessions WHERE id = $1 AND token_expires_at > $2 AND ended_at IS NULL FOR SHARE",
                       {upload.session_id, now});
    if (!live.ok()) return live.status();
    if (live->empty()) {
      return FailedPrecondition("session " + upload.session_id + " is gone, ended, or its token was revoked");
    }
    auto recording = c.Exec(
        "INSERT INTO recordings(session_id, kind, media_key, status, created_at) "
        "VALUES ($1, $2, $3, 'receiving', $4) RETURNING id",
        {upload.session_id, kind, upload.media_key, now});
    if (!recording.ok()) return recording.status();
    created.recording_id = recording->Int(0, 0);
    return c
        .Exec(
            "INSERT INTO uploads(id, recording_id, upload_offset, upload_length, metadata, expires_at, state, "
            "created_at) VALUES ($1, $2, 0, $3, $4, $5, 'receiving', $6)",
            {upload.id, created.recording_id, upload.length, upload.metadata, upload.expires_at, now})
        .status();
  });
  if (!s.ok()) return s;
  created.offset = 0;
  created.state = UploadState::kReceiving;
  return created;
}

Result<Upload> PostgresIndex::GetUpload(const std::string& upload_id) {
  return impl_->With([&](Conn& c) -> Result<Upload> {
    auto rows = c.Exec(std::string(pg::kSelectUpload) + "WHERE u.id = $1", {upload_id});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return NotFound("no upload " + upload_id);
    return pg::ReadUpload(Row{*rows, 0});
  });
}

Status PostgresIndex::SetUploadProgress(const std::string& upload_id, uint64_t offset, std::optional<uint64_t> length,
                                        int64_t expires_at, bool checksum_verified, std::optional<uint64_t> if_at) {
  return impl_->With([&](Conn& c) -> Status {
    auto rows = c.Exec(
        "UPDATE uploads SET upload_offset = $1, upload_length = $2, expires_at = $3, "
        "checksum_state = CASE WHEN $4::boolean THEN 'verified' ELSE checksum_state END "
        "WHERE id = $5 AND state = 'receiving' AND ($6::bigint IS NULL OR upload_offset = $6::bigint)",
        {static_cast<int64_t>(offset), length, expires_at, checksum_verified, upload_id, if_at});
    if (!rows.ok()) return rows.status();
    if (if_at && rows->Affected() == 0) {
      return FailedPrecondition("upload " + upload_id + " is not receiving at " + std::to_string(*if_at));
    }
    return Status::Ok();
  });
}

Status PostgresIndex::AddUploadChunk(const std::string& upload_id, const UploadChunk& chunk,
                                     std::optional<uint64_t> length, int64_t expires_at, bool checksum_verified) {
  return impl_->InTransaction([&](Conn& c) -> Status {
    // The row lock this UPDATE takes orders servers racing for the same offset: the second one
    // finds the offset moved and changes nothing.
    auto up = c.Exec(
        "UPDATE uploads SET upload_offset = $1, upload_length = COALESCE(upload_length, $2), expires_at = $3, "
        "checksum_state = CASE WHEN $4::boolean THEN 'verified' ELSE checksum_state END "
        "WHERE id = $5 AND state = 'receiving' AND upload_offset = $6 "
        "AND (upload_length IS NULL OR upload_length >= $1) RETURNING id",
        {static_cast<int64_t>(chunk.end), length, expires_at, checksum_verified, upload_id,
         static_cast<int64_t>(chunk.offset)});
    if (!up.ok()) return up.status();
    if (up->empty())
      return FailedPrecondition("upload " + upload_id + " is not receiving at " + std::to_string(chunk.offset));
    return c
        .Exec("INSERT INTO upload_chunks(upload_id, chunk_offset, end_offset, object) VALUES ($1, $2, $3, $4)",
              {upload_id, static_cast<int64_t>(chunk.offset), static_cast<int64_t>(chunk.end), chunk.object})
        .status();
  });
}

Result<std::vector<UploadChunk>> PostgresIndex::UploadChunks(const std::string& media_key) {
  return impl_->With([&](Conn& c) -> Result<std::vector<UploadChunk>> {
    auto rows = c.Exec(
        "SELECT c.chunk_offset, c.end_offset, c.object FROM upload_chunks c JOIN uploads u ON u.id = c.upload_id "
        "JOIN recordings r ON r.id = u.recording_id WHERE r.media_key = $1 ORDER BY c.chunk_offset",
        {media_key});
    if (!rows.ok()) return rows.status();
    std::vector<UploadChunk> chunks;
    for (int i = 0; i < rows->size(); ++i) {
      chunks.push_back(
          {static_cast<uint64_t>(rows->Int(i, 0)), static_cast<uint64_t>(rows->Int(i, 1)), rows->Text(i, 2)});
    }
    return chunks;
  });
}

Status PostgresIndex::FinishUpload(const std::string& upload_id, UploadState state, bool incomplete,
                                   const NewJob& finalize, int64_t now) {
  return impl_->InTransaction([&](Conn& c) -> Status {
    auto up = c.Exec(
        "UPDATE uploads SET state = $1 WHERE id = $2 AND state = 'receiving' RETURNING recording_id, upload_offset",
        {state, upload_id});
    if (!up.ok()) return up.status();
    if (up->empty()) return FailedPrecondition("upload " + upload_id + " is not receiving");
    RETURN_IF_ERROR(c.Exec("UPDATE recordings SET status = 'finalizing', bytes = $1, incomplete = $2, uploaded_at = $3 "
                           "WHERE id = $4",
                           {up->Int(0, 1), incomplete, now, up->Int(0, 0)})
                        .status());
    return pg::InsertJobs(c, {finalize}, now);
  });
}

Status PostgresIndex::TerminateUpload(const std::string& upload_id, const std::string& reason, int64_t now) {
  return impl_->InTransaction([&](Conn& c) -> Status {
    auto up = c.Exec("UPDATE uploads SET state = 'terminated' WHERE id = $1 RETURNING recording_id", {upload_id});
    if (!up.ok()) return up.status();
    if (up->empty()) return NotFound("no upload " + upload_id);
    return c
        .Exec(
            "UPDATE recordings SET status = 'failed', failure_reason = $1, bytes = 0, finalized_at = $2 "
            "WHERE id = $3",
            {reason, now, up->Int(0, 0)})
        .status();
  });
}

Result<std::vector<Upload>> PostgresIndex::UploadsInState(UploadState state) {
  return impl_->With([&](Conn& c) -> Result<std::vector<Upload>> {
    auto rows = c.Exec(std::string(pg::kSelectUpload) + "WHERE u.state = $1 ORDER BY u.seq", {state});
    if (!rows.ok()) return rows.status();
    return pg::ReadAll<Upload>(*rows, pg::ReadUpload);
  });
}

Result<std::vector<Upload>> PostgresIndex::ExpiredUploads(int64_t now) {
  return impl_->With([&](Conn& c) -> Result<std::vector<Upload>> {
    auto rows = c.Exec(
        std::string(pg::kSelectUpload) + "WHERE u.state = 'receiving' AND u.expires_at <= $1 ORDER BY u.seq", {now});
    if (!rows.ok()) return rows.status();
    return pg::ReadAll<Upload>(*rows, pg::ReadUpload);
  });
}

Result<SessionUsage> PostgresIndex::UsageOfSession(const std::string& session_id) {
  return impl_->With([&](Conn& c) -> Result<SessionUsage> {
    auto rows = c.Exec(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN u.state = 'terminated' THEN 0 "
        "ELSE COALESCE(u.upload_length, u.upload_offset) END), 0) "
        "FROM uploads u JOIN recordings r ON r.id = u.recording_id WHERE r.session_id = $1",
        {session_id});
    if (!rows.ok()) return rows.status();
    return SessionUsage{rows->Int(0, 0), static_cast<uint64_t>(rows->Int(0, 1))};
  });
}

Result<Recording> PostgresIndex::GetRecording(int64_t recording_id) {
  return impl_->With([&](Conn& c) -> Result<Recording> {
    auto rows = c.Exec(std::string(pg::kSelectRecording) + "WHERE id = $1", {recording_id});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return NotFound("no recording " + std::to_string(recording_id));
    return pg::ReadRecording(Row{*rows, 0});
  });
}

Result<std::vector<Recording>> PostgresIndex::RecordingsOfSession(const std::string& session_id) {
  return impl_->With([&](Conn& c) -> Result<std::vector<Recording>> {
    auto rows = c.Exec(std::string(pg::kSelectRecording) + "WHERE session_id = $1 ORDER BY id", {session_id});
    if (!rows.ok()) return rows.status();
    return pg::ReadAll<Recording>(*rows, pg::ReadRecording);
  });
}

Status PostgresIndex::MarkRecordingReady(int64_t recording_id, uint64_t bytes, int64_t duration_ms, bool incomplete,
                                         const std::vector<NewJob>& follow_ups, int64_t now) {
  return impl_->InTransaction([&](Conn& c) -> Status {
    auto up = c.Exec(
        "UPDATE recordings SET status = 'ready', bytes = $1, duration_ms = $2, incomplete = $3, "
        "failure_reason = NULL, finalized_at = $4 WHERE id = $5",
        {static_cast<int64_t>(bytes), duration_ms, incomplete, now, recording_id});
    if (!up.ok()) return up.status();
    if (up->Affected() == 0) return NotFound("no recording " + std::to_string(recording_id));
    return pg::InsertJobs(c, follow_ups, now);
  });
}

Status PostgresIndex::MarkRecordingFailed(int64_t recording_id, const std::string& reason,
                                          const std::vector<NewJob>& follow_ups, int64_t now) {
  return impl_->InTransaction([&](Conn& c) -> Status {
    auto up = c.Exec("UPDATE recordings SET status = 'failed', failure_reason = $1, finalized_at = $2 WHERE id = $3",
                     {reason, now, recording_id});
    if (!up.ok()) return up.status();
    if (up->Affected() == 0) return NotFound("no recording " + std::to_string(recording_id));
    return pg::InsertJobs(c, follow_ups, now);
  });
}

Status PostgresIndex::RefinalizeRecording(int64_t recording_id, int64_t finalize_job_id, int64_t now) {
  return impl_->InTransaction([&](Conn& c) -> Status {
    auto up = c.Exec(
        "UPDATE recordings SET status = 'finalizing', failure_reason = NULL, finalized_at = NULL "
        "WHERE id = $1 AND status = 'failed'",
        {recording_id});
    if (!up.ok()) return up.status();
    if (up->Affected() == 0) return FailedPrecondition("recording " + std::to_string(recording_id) + " is not failed");
    return pg::ReviveFailedJob(c, finalize_job_id, "finalize", now);
  });
}

Result<int> PostgresIndex::AddSessionEvents(const std::string& session_id, const std::vector<SessionEvent>& events,
                                            int64_t now) {
  int added = 0;
  Status s = impl_->InTransaction([&](Conn& c) -> Status {
    for (const SessionEvent& e : events) {
      auto inserted = c.Exec(
          "INSERT INTO session_events(session_id, client_id, type, label, data, recording_time_ms, upload_id, "
          "wall_time, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
          "ON CONFLICT (session_id, client_id) DO NOTHING",
          {session_id, e.client_id, e.type, e.label, e.data_json, e.recording_time_ms,
           pg::Param::TextOrNull(e.upload_id), pg::Param::TextOrNull(e.wall_time), now});
      if (!inserted.ok()) return inserted.status();
      added += static_cast<int>(inserted->Affected());
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return added;
}

Result<std::vector<SessionEvent>> PostgresIndex::SessionEvents(const std::string& session_id) {
  return impl_->With([&](Conn& c) -> Result<std::vector<SessionEvent>> {
    auto rows = c.Exec(
        "SELECT e.client_id, e.type, e.label, e.data, e.recording_time_ms, COALESCE(e.upload_id, ''), "
        "COALESCE(e.wall_time, ''), COALESCE(u.recording_id, 0) FROM session_events e "
        "LEFT JOIN uploads u ON u.id = e.upload_id WHERE e.session_id = $1 ORDER BY e.recording_time_ms, e.id",
        {session_id});
    if (!rows.ok()) return rows.status();
    return pg::ReadAll<SessionEvent>(*rows, [](const Row& r) {
      return SessionEvent{
          r.Text(0), r.Enum(1, EventType::kClientEvent), r.Text(2), r.Text(3), r.Int(4), r.Text(5), r.Text(6),
          r.Int(7)};
    });
  });
}

}  // namespace recorder::server
