// SqliteIndex, ingest role: candidates, sessions, uploads, recordings and markers.
#include "index/sqlite/impl.h"

namespace recorder::server {

using sqlite::Stmt;

Result<Candidate> SqliteIndex::FindOrCreateCandidate(const std::string& name, const std::string& email,
                                                     const std::string& folder_base, int64_t now) {
  std::lock_guard lock(impl_->mu);
  auto& db = impl_->db;
  Candidate found;
  Status s = impl_->Transaction([&]() -> Status {
    Stmt find(db, email.empty() ? "SELECT id, folder FROM candidates WHERE email IS NULL AND name = ?"
                                : "SELECT id, folder FROM candidates WHERE email = ?");
    find.Bind(1, email.empty() ? name : email);
    auto row = find.Step();
    if (!row.ok()) return row.status();
    if (*row) {
      found = {find.Int(0), find.Text(1)};
      return Status::Ok();
    }
    for (int n = 1;; ++n) {
      std::string folder = WithCollisionSuffix(folder_base, n);
      Stmt insert(db, "INSERT INTO candidates(name, email, folder, created_at) VALUES (?, ?, ?, ?)");
      Status inserted = insert.Bind(1, name).BindTextOrNull(2, email).Bind(3, folder).Bind(4, now).Run();
      if (inserted.code() == StatusCode::kAlreadyExists) continue;
      RETURN_IF_ERROR(inserted);
      found = {impl_->LastInsertId(), folder};
      return Status::Ok();
    }
  });
  if (!s.ok()) return s;
  return found;
}

Status SqliteIndex::CreateSession(const std::string& session_id, int64_t candidate_id, const std::string& job,
                                  const std::vector<Question>& questions, const std::string& token_sha256,
                                  int64_t token_expires_at, int64_t now) {
  std::lock_guard lock(impl_->mu);
  return impl_->Transaction([&]() -> Status {
    RETURN_IF_ERROR(Stmt(impl_->db,
                         "INSERT INTO sessions(id, candidate_id, job, token_sha256, token_expires_at, created_at) "
                         "VALUES (?, ?, ?, ?, ?, ?)")
                        .Bind(1, session_id)
                        .Bind(2, candidate_id)
                        .BindTextOrNull(3, job)
                        .Bind(4, token_sha256)
                        .Bind(5, token_expires_at)
                        .Bind(6, now)
                        .Run());
    for (size_t i = 0; i < questions.size(); ++i) {
      RETURN_IF_ERROR(Stmt(impl_->db,
                           "INSERT INTO session_questions(session_id, seq, question_id, text, max_seconds) "
                           "VALUES (?, ?, ?, ?, ?)")
                          .Bind(1, session_id)
                          .Bind(2, static_cast<int64_t>(i))
                          .Bind(3, questions[i].id)
                          .Bind(4, questions[i].text)
                          .Bind(5, int64_t{questions[i].max_seconds})
                          .Run());
    }
    return Status::Ok();
  });
}

Result<std::vector<Question>> sqlite::ReadQuestions(Connection& db, const std::string& session_id) {
  Stmt s(db, "SELECT question_id, text, max_seconds FROM session_questions WHERE session_id = ? ORDER BY seq");
  s.Bind(1, session_id);
  return sqlite::ReadAll<Question>(s, [](Stmt& r) {
    return Question{r.Text(0), r.Text(1), static_cast<int>(r.Int(2))};
  });
}

Result<std::vector<Question>> SqliteIndex::QuestionsOfSession(const std::string& session_id) {
  std::lock_guard lock(impl_->mu);
  return sqlite::ReadQuestions(impl_->db, session_id);
}

Result<Session> SqliteIndex::SessionByTokenHash(const std::string& token_sha256) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "SELECT s.id, s.candidate_id, c.folder, s.token_expires_at, COALESCE(s.ended_at, 0) FROM sessions s "
         "JOIN candidates c ON c.id = s.candidate_id WHERE s.token_sha256 = ?");
  auto row = s.Bind(1, token_sha256).Step();
  if (!row.ok()) return row.status();
  if (!*row) return NotFound("no session for this token");
  return Session{s.Text(0), s.Int(1), s.Text(2), s.Int(3), s.Int(4)};
}

Status SqliteIndex::EndSession(const std::string& session_id, int64_t now) {
  std::lock_guard lock(impl_->mu);
  RETURN_IF_ERROR(Stmt(impl_->db, "UPDATE sessions SET ended_at = COALESCE(ended_at, ?) WHERE id = ?")
                      .Bind(1, now)
                      .Bind(2, session_id)
                      .Run());
  return impl_->Changes() == 0 ? NotFound("no session " + session_id) : Status::Ok();
}

Result<std::vector<Session>> SqliteIndex::SettledSessions(int64_t now, const std::string& except_kind, int limit) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db, R"sql(
SELECT s.id, s.candidate_id, c.folder, s.token_expires_at, COALESCE(s.ended_at, 0)
FROM sessions s JOIN candidates c ON c.id = s.candidate_id
WHERE s.completed_at IS NULL AND (s.ended_at IS NOT NULL OR s.token_expires_at <= ?1)
  AND NOT EXISTS (SELECT 1 FROM recordings r WHERE r.session_id = s.id AND r.status IN ('receiving', 'finalizing'))
  AND NOT EXISTS (SELECT 1 FROM recordings r JOIN jobs j
                    ON j.subject_type = 'recording' AND j.subject_id = CAST(r.id AS TEXT)
                  WHERE r.session_id = s.id AND j.kind <> ?2 AND j.state IN ('pending', 'running'))
ORDER BY min(COALESCE(s.ended_at, s.token_expires_at), s.token_expires_at), s.id LIMIT ?3)sql");
  s.Bind(1, now).Bind(2, except_kind).Bind(3, int64_t{limit});
  return sqlite::ReadAll<Session>(s, [](Stmt& r) {
    return Session{r.Text(0), r.Int(1), r.Text(2), r.Int(3), r.Int(4)};
  });
}

Status SqliteIndex::CompleteSession(const std::string& session_id, const std::vector<NewJob>& follow_ups, int64_t now) {
  std::lock_guard lock(impl_->mu);
  auto& db = impl_->db;
  return impl_->Transaction([&]() -> Status {
    Stmt find(db, "SELECT completed_at IS NOT NULL FROM sessions WHERE id = ?");
    auto row = find.Bind(1, session_id).Step();
    if (!row.ok()) return row.status();
    if (!*row) return NotFound("no session " + session_id);
    if (find.Int(0)) return FailedPrecondition("session " + session_id + " is already completed");
    RETURN_IF_ERROR(
        Stmt(db, "UPDATE sessions SET completed_at = ? WHERE id = ?").Bind(1, now).Bind(2, session_id).Run());
    return sqlite::InsertJobs(db, follow_ups, now);
  });
}

Result<Upload> SqliteIndex::CreateUpload(const Upload& upload, RecordingKind kind, int64_t now) {
  std::lock_guard lock(impl_->mu);
  auto& db = impl_->db;
  Upload created = upload;
  Status s = impl_->Transaction([&]() -> Status {
    Stmt live(db, "SELECT 1 FROM sessions WHERE id = ? AND token_expires_at > ? AND ended_at IS NULL");
    auto row = live.Bind(1, upload.session_id).Bind(2, now).Step();
    if (!row.ok()) return row.status();
    if (!*row) return FailedPrecondition("session " + upload.session_id + " is gone, ended, or its token was revoked");
    RETURN_IF_ERROR(Stmt(db,
                         "INSERT INTO recordings(session_id, kind, media_key, status, created_at) "
                         "VALUES (?, ?, ?, 'receiving', ?)")
                        .Bind(1, upload.session_id)
                        .Bind(2, kind)
                        .Bind(3, upload.media_key)
                        .Bind(4, now)
                        .Run());
    created.recording_id = impl_->LastInsertId();
    return Stmt(db,
                "INSERT INTO uploads(id, recording_id, upload_offset, upload_length, metadata, expires_at, "
                "state, created_at) VALUES (?, ?, 0, ?, ?, ?, 'receiving', ?)")
        .Bind(1, upload.id)
        .Bind(2, created.recording_id)
        .Bind(3, upload.length)
        .Bind(4, upload.metadata)
        .Bind(5, upload.expires_at)
        .Bind(6, now)
        .Run();
  });
  if (!s.ok()) return s;
  created.offset = 0;
  created.state = UploadState::kReceiving;
  return created;
}

Result<Upload> SqliteIndex::GetUpload(const std::string& upload_id) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db, std::string(sqlite::kSelectUpload) + "WHERE u.id = ?");
  auto row = s.Bind(1, upload_id).Step();
  if (!row.ok()) return row.status();
  if (!*row) return NotFound("no upload " + upload_id);
  return sqlite::ReadUpload(s);
}

Status SqliteIndex::SetUploadProgress(const std::string& upload_id, uint64_t offset, std::optional<uint64_t> length,
                                      int64_t expires_at, bool checksum_verified, std::optional<uint64_t> if_at) {
  std::lock_guard lock(impl_->mu);
  RETURN_IF_ERROR(Stmt(impl_->db,
                       "UPDATE uploads SET upload_offset = ?, upload_length = ?, expires_at = ?, "
                       "checksum_state = CASE WHEN ? THEN 'verified' ELSE checksum_state END "
                       "WHERE id = ? AND state = 'receiving' AND (?6 IS NULL OR upload_offset = ?6)")
                      .Bind(1, static_cast<int64_t>(offset))
                      .Bind(2, length)
                      .Bind(3, expires_at)
                      .Bind(4, checksum_verified)
                      .Bind(5, upload_id)
                      .Bind(6, if_at)
                      .Run());
  if (if_at && impl_->Changes() == 0) {
    return FailedPrecondition("upload " + upload_id + " is not receiving at " + std::to_string(*if_at));
  }
  return Status::Ok();
}

Status SqliteIndex::AddUploadChunk(const std::string& upload_id, const UploadChunk& chunk,
                                   std::optional<uint64_t> length, int64_t expires_at, bool checksum_verified) {
  std::lock_guard lock(impl_->mu);
  auto& db = impl_->db;
  return impl_->Transaction([&]() -> Status {
    Stmt up(db,
            "UPDATE uploads SET upload_offset = ?1, upload_length = COALESCE(upload_length, ?2), expires_at = ?3, "
            "checksum_state = CASE WHEN ?4 THEN 'verified' ELSE checksum_state END "
            "WHERE id = ?5 AND state = 'receiving' AND upload_offset = ?6 "
            "AND (upload_length IS NULL OR upload_length >= ?1) RETURNING id");
    auto row = up.Bind(1, static_cast<int64_t>(chunk.end))
                   .Bind(2, length)
                   .Bind(3, expires_at)
                   .Bind(4, checksum_verified)
                   .Bind(5, upload_id)
                   .Bind(6, static_cast<int64_t>(chunk.offset))
                   .Step();
    if (!row.ok()) return row.status();
    if (!*row)
      return FailedPrecondition("upload " + upload_id + " is not receiving at " + std::to_string(chunk.offset));
    RETURN_IF_ERROR(up.Run());  // finish the RETURNING statement before the next one
    return Stmt(db, "INSERT INTO upload_chunks(upload_id, chunk_offset, end_offset, object) VALUES (?, ?, ?, ?)")
        .Bind(1, upload_id)
        .Bind(2, static_cast<int64_t>(chunk.offset))
        .Bind(3, static_cast<int64_t>(chunk.end))
        .Bind(4, chunk.object)
        .Run();
  });
}

Result<std::vector<UploadChunk>> SqliteIndex::UploadChunks(const std::string& media_key) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "SELECT c.chunk_offset, c.end_offset, c.object FROM upload_chunks c JOIN uploads u ON u.id = c.upload_id "
         "JOIN recordings r ON r.id = u.recording_id WHERE r.media_key = ? ORDER BY c.chunk_offset");
  s.Bind(1, media_key);
  std::vector<UploadChunk> chunks;
  for (;;) {
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return chunks;
    chunks.push_back({static_cast<uint64_t>(s.Int(0)), static_cast<uint64_t>(s.Int(1)), s.Text(2)});
  }
}

Status SqliteIndex::FinishUpload(const std::string& upload_id, UploadState state, bool incomplete,
                                 const NewJob& finalize, int64_t now) {
  std::lock_guard lock(impl_->mu);
  auto& db = impl_->db;
  return impl_->Transaction([&]() -> Status {
    Stmt up(db,
            "UPDATE uploads SET state = ? WHERE id = ? AND state = 'receiving' RETURNING recording_id, upload_offset");
    auto row = up.Bind(1, state).Bind(2, upload_id).Step();
    if (!row.ok()) return row.status();
    if (!*row) return FailedPrecondition("upload " + upload_id + " is not receiving");
    int64_t recording_id = up.Int(0);
    int64_t bytes = up.Int(1);
    RETURN_IF_ERROR(up.Run());  // finish the RETURNING statement before the next one
    RETURN_IF_ERROR(Stmt(db,
                         "UPDATE recordings SET status = 'finalizing', bytes = ?, incomplete = ?, uploaded_at = ? "
                         "WHERE id = ?")
                        .Bind(1, bytes)
                        .Bind(2, incomplete)
                        .Bind(3, now)
                        .Bind(4, recording_id)
                        .Run());
    return sqlite::InsertJobs(db, {finalize}, now);
  });
}

Status SqliteIndex::TerminateUpload(const std::string& upload_id, const std::string& reason, int64_t now) {
  std::lock_guard lock(impl_->mu);
  auto& db = impl_->db;
  return impl_->Transaction([&]() -> Status {
    Stmt up(db, "UPDATE uploads SET state = 'terminated' WHERE id = ? RETURNING recording_id");
    auto row = up.Bind(1, upload_id).Step();
    if (!row.ok()) return row.status();
    if (!*row) return NotFound("no upload " + upload_id);
    int64_t recording_id = up.Int(0);
    RETURN_IF_ERROR(up.Run());
    return Stmt(db,
                "UPDATE recordings SET status = 'failed', failure_reason = ?, bytes = 0, finalized_at = ? "
                "WHERE id = ?")
        .Bind(1, reason)
        .Bind(2, now)
        .Bind(3, recording_id)
        .Run();
  });
}

Result<std::vector<Upload>> SqliteIndex::UploadsInState(UploadState state) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db, std::string(sqlite::kSelectUpload) + "WHERE u.state = ? ORDER BY u.rowid");
  s.Bind(1, state);
  return sqlite::ReadAll<Upload>(s, sqlite::ReadUpload);
}

Result<std::vector<Upload>> SqliteIndex::ExpiredUploads(int64_t now) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db, std::string(sqlite::kSelectUpload) + "WHERE u.state = 'receiving' AND u.expires_at <= ?");
  s.Bind(1, now);
  return sqlite::ReadAll<Upload>(s, sqlite::ReadUpload);
}

Result<SessionUsage> SqliteIndex::UsageOfSession(const std::string& session_id) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "SELECT COUNT(*), COALESCE(SUM(CASE WHEN u.state = 'terminated' THEN 0 "
         "ELSE COALESCE(u.upload_length, u.upload_offset) END), 0) "
         "FROM uploads u JOIN recordings r ON r.id = u.recording_id WHERE r.session_id = ?");
  auto row = s.Bind(1, session_id).Step();
  if (!row.ok()) return row.status();
  return SessionUsage{s.Int(0), static_cast<uint64_t>(s.Int(1))};
}

Result<Recording> SqliteIndex::GetRecording(int64_t recording_id) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db, std::string(sqlite::kSelectRecording) + "WHERE id = ?");
  auto row = s.Bind(1, recording_id).Step();
  if (!row.ok()) return row.status();
  if (!*row) return NotFound("no recording " + std::to_string(recording_id));
  return sqlite::ReadRecording(s);
}

Result<std::vector<Recording>> SqliteIndex::RecordingsOfSession(const std::string& session_id) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db, std::string(sqlite::kSelectRecording) + "WHERE session_id = ? ORDER BY id");
  s.Bind(1, session_id);
  return sqlite::ReadAll<Recording>(s, sqlite::ReadRecording);
}

Status SqliteIndex::MarkRecordingReady(int64_t recording_id, uint64_t bytes, int64_t duration_ms, bool incomplete,
                                       const std::vector<NewJob>& follow_ups, int64_t now) {
  std::lock_guard lock(impl_->mu);
  auto& db = impl_->db;
  return impl_->Transaction([&]() -> Status {
    RETURN_IF_ERROR(Stmt(db,
                         "UPDATE recordings SET status = 'ready', bytes = ?, duration_ms = ?, incomplete = ?, "
                         "failure_reason = NULL, finalized_at = ? WHERE id = ?")
                        .Bind(1, static_cast<int64_t>(bytes))
                        .Bind(2, duration_ms)
                        .Bind(3, incomplete)
                        .Bind(4, now)
                        .Bind(5, recording_id)
                        .Run());
    if (impl_->Changes() == 0) return NotFound("no recording " + std::to_string(recording_id));
    return sqlite::InsertJobs(db, follow_ups, now);
  });
}

Status SqliteIndex::MarkRecordingFailed(int64_t recording_id, const std::string& reason,
                                        const std::vector<NewJob>& follow_ups, int64_t now) {
  std::lock_guard lock(impl_->mu);
  auto& db = impl_->db;
  return impl_->Transaction([&]() -> Status {
    RETURN_IF_ERROR(
        Stmt(db, "UPDATE recordings SET status = 'failed', failure_reason = ?, finalized_at = ? WHERE id = ?")
            .Bind(1, reason)
            .Bind(2, now)
            .Bind(3, recording_id)
            .Run());
    if (impl_->Changes() == 0) return NotFound("no recording " + std::to_string(recording_id));
    return sqlite::InsertJobs(db, follow_ups, now);
  });
}

Status SqliteIndex::RefinalizeRecording(int64_t recording_id, int64_t finalize_job_id, int64_t now) {
  std::lock_guard lock(impl_->mu);
  auto& db = impl_->db;
  return impl_->Transaction([&]() -> Status {
    RETURN_IF_ERROR(Stmt(db,
                         "UPDATE recordings SET status = 'finalizing', failure_reason = NULL, finalized_at = NULL "
                         "WHERE id = ? AND status = 'failed'")
                        .Bind(1, recording_id)
                        .Run());
    if (impl_->Changes() == 0)
      return FailedPrecondition("recording " + std::to_string(recording_id) + " is not failed");
    return sqlite::ReviveFailedJob(db, finalize_job_id, "finalize", now);
  });
}

Result<int> SqliteIndex::AddSessionEvents(const std::string& session_id, const std::vector<SessionEvent>& events,
                                          int64_t now) {
  std::lock_guard lock(impl_->mu);
  int added = 0;
  Status s = impl_->Transaction([&]() -> Status {
    for (const SessionEvent& e : events) {
      RETURN_IF_ERROR(Stmt(impl_->db,
                           "INSERT OR IGNORE INTO session_events(session_id, client_id, type, label, data, "
                           "recording_time_ms, upload_id, wall_time, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
                          .Bind(1, session_id)
                          .Bind(2, e.client_id)
                          .Bind(3, e.type)
                          .Bind(4, e.label)
                          .Bind(5, e.data_json)
                          .Bind(6, e.recording_time_ms)
                          .BindTextOrNull(7, e.upload_id)
                          .BindTextOrNull(8, e.wall_time)
                          .Bind(9, now)
                          .Run());
      added += impl_->Changes();
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return added;
}

Result<std::vector<SessionEvent>> SqliteIndex::SessionEvents(const std::string& session_id) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "SELECT e.client_id, e.type, e.label, e.data, e.recording_time_ms, e.upload_id, e.wall_time, "
         "COALESCE(u.recording_id, 0) FROM session_events e LEFT JOIN uploads u ON u.id = e.upload_id "
         "WHERE e.session_id = ? ORDER BY e.recording_time_ms, e.id");
  s.Bind(1, session_id);
  return sqlite::ReadAll<SessionEvent>(s, [](Stmt& row) {
    return SessionEvent{row.Text(0), row.Enum(1, EventType::kClientEvent),
                        row.Text(2), row.Text(3),
                        row.Int(4),  row.Text(5),
                        row.Text(6), row.Int(7)};
  });
}

}  // namespace recorder::server
