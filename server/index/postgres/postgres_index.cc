// PostgresIndex: opening, and the row readers and writers that more than one role shares. Each
// role's SQL is in its own file, as for SqliteIndex; the schema is in postgres_schema.cc.
#include "index/postgres/postgres_index.h"

#include "index/postgres/impl.h"

namespace recorder::server {

PostgresIndex::PostgresIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PostgresIndex::~PostgresIndex() = default;

Result<std::unique_ptr<PostgresIndex>> PostgresIndex::Open(const std::string& conninfo, int max_connections) {
  auto impl = std::make_unique<Impl>(conninfo, max_connections);
  Status migrated = impl->With([&](pg::Conn& c) { return impl->Migrate(c, kLatestSchemaVersion); });
  if (!migrated.ok()) return IoError("cannot use the PostgreSQL index: " + migrated.message());
  return std::unique_ptr<PostgresIndex>(new PostgresIndex(std::move(impl)));
}

Result<int> PostgresIndex::SchemaVersion() {
  return impl_->With([&](pg::Conn& c) { return impl_->Version(c); });
}

Status PostgresIndex::Ping() {
  return impl_->With([](pg::Conn& c) { return c.Exec("SELECT 1").status(); });
}

namespace pg {

const char* const kSelectUpload =
    "SELECT u.id, r.session_id, u.recording_id, r.media_key, u.upload_offset, u.upload_length, u.expires_at, "
    "u.state, u.metadata, u.checksum_state FROM uploads u JOIN recordings r ON r.id = u.recording_id ";

Upload ReadUpload(const Row& r) {
  Upload u;
  u.id = r.Text(0);
  u.session_id = r.Text(1);
  u.recording_id = r.Int(2);
  u.media_key = r.Text(3);
  u.offset = static_cast<uint64_t>(r.Int(4));
  if (!r.IsNull(5)) u.length = static_cast<uint64_t>(r.Int(5));
  u.expires_at = r.Int(6);
  u.state = r.Enum(7, UploadState::kReceiving);
  u.metadata = r.Text(8);
  u.checksum_verified = r.Text(9) == "verified";
  return u;
}

const char* const kSelectRecording =
    "SELECT id, session_id, kind, media_key, status, COALESCE(failure_reason, ''), bytes, duration_ms, incomplete, "
    "created_at, finalized_at, (SELECT metadata FROM uploads WHERE recording_id = recordings.id) FROM recordings ";

Recording ReadRecording(const Row& r) {
  Recording rec;
  rec.id = r.Int(0);
  rec.session_id = r.Text(1);
  rec.kind = r.Enum(2, RecordingKind::kCamera);
  rec.media_key = r.Text(3);
  rec.status = r.Enum(4, RecordingStatus::kFailed);
  rec.failure_reason = r.Text(5);
  rec.bytes = static_cast<uint64_t>(r.Int(6));
  rec.duration_ms = r.Int(7);
  rec.incomplete = r.Bool(8);
  rec.created_at = r.Int(9);
  rec.finalized_at = r.Int(10);
  rec.upload_metadata = r.Text(11);
  return rec;
}

Result<std::vector<Question>> ReadQuestions(Conn& c, const std::string& session_id) {
  auto rows = c.Exec("SELECT question_id, text, max_seconds FROM session_questions WHERE session_id = $1 ORDER BY seq",
                     {session_id});
  if (!rows.ok()) return rows.status();
  return ReadAll<Question>(*rows, [](const Row& r) {
    return Question{r.Text(0), r.Text(1), static_cast<int>(r.Int(2))};
  });
}

Status InsertAudit(Conn& c, const AuditEntry& e) {
  return c
      .Exec("INSERT INTO audit_log(at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)",
            {e.at, e.actor, e.action, e.target, e.detail_json})
      .status();
}

}  // namespace pg
}  // namespace recorder::server
