// SqliteIndex: opening, the connection's transactions, and the row readers and writers that more
// than one role shares. Each role's SQL is in its own file (sqlite_ingest.cc, sqlite_jobs.cc,
// sqlite_accounts.cc, sqlite_results.cc); the schema is in sqlite_schema.cc.
#include "index/sqlite/sqlite_index.h"

#include "index/sqlite/impl.h"

namespace recorder::server {

using sqlite::Stmt;

Status SqliteIndex::Impl::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db.get(), sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown";
    sqlite3_free(err);
    return Internal(std::string("exec: ") + msg);
  }
  return Status::Ok();
}

Status SqliteIndex::Impl::Transaction(const std::function<Status()>& body) {
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Status s = body();
  if (!s.ok()) {
    (void)Exec("ROLLBACK");
    return s;
  }
  return Exec("COMMIT");
}

SqliteIndex::SqliteIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteIndex::~SqliteIndex() = default;

Result<std::unique_ptr<SqliteIndex>> SqliteIndex::Open(const std::string& path, int schema_version) {
  auto impl = std::make_unique<Impl>();
  RETURN_IF_ERROR(sqlite::CreateOwnerOnly(path));
  auto main_db = sqlite::OpenDatabase(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX);
  if (!main_db.ok()) return main_db.status();
  impl->db.Open(main_db->release());
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"}) {
    Status s = impl->Exec(pragma);
    if (!s.ok()) return IoError("cannot use database " + path + ": " + s.message());
  }
  Status migrated = impl->Migrate(schema_version);
  if (!migrated.ok()) return IoError("cannot migrate database " + path + ": " + migrated.message());

  auto checkpoint_db = sqlite::OpenDatabase(path, SQLITE_OPEN_READWRITE);
  if (!checkpoint_db.ok()) return checkpoint_db.status();
  // A connection sees the WAL only once it has read the database; until then a checkpoint is a no-op.
  if (sqlite3_exec(checkpoint_db->get(), "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return IoError("cannot use database " + path + " for checkpoints: " + sqlite3_errmsg(checkpoint_db->get()));
  }
  RETURN_IF_ERROR(impl->Exec("PRAGMA wal_autocheckpoint=0"));
  impl->checkpointer = std::make_unique<sqlite::Checkpointer>(std::move(checkpoint_db.value()));
  return std::unique_ptr<SqliteIndex>(new SqliteIndex(std::move(impl)));
}

Result<int> SqliteIndex::SchemaVersion() {
  std::lock_guard lock(impl_->mu);
  return impl_->Version();
}

Status SqliteIndex::Ping() {
  std::lock_guard lock(impl_->mu);
  return Stmt(impl_->db, "SELECT count(*) FROM schema_version").Run();
}

namespace sqlite {

const char* const kSelectUpload =
    "SELECT u.id, r.session_id, u.recording_id, r.media_key, u.upload_offset, u.upload_length, u.expires_at, "
    "u.state, u.metadata, u.checksum_state FROM uploads u JOIN recordings r ON r.id = u.recording_id ";

Upload ReadUpload(Stmt& s) {
  Upload u;
  u.id = s.Text(0);
  u.session_id = s.Text(1);
  u.recording_id = s.Int(2);
  u.media_key = s.Text(3);
  u.offset = static_cast<uint64_t>(s.Int(4));
  if (!s.IsNull(5)) u.length = static_cast<uint64_t>(s.Int(5));
  u.expires_at = s.Int(6);
  u.state = s.Enum(7, UploadState::kReceiving);
  u.metadata = s.Text(8);
  u.checksum_verified = s.Text(9) == "verified";
  return u;
}

const char* const kSelectRecording =
    "SELECT id, session_id, kind, media_key, status, failure_reason, bytes, duration_ms, incomplete, created_at, "
    "finalized_at, (SELECT metadata FROM uploads WHERE recording_id = recordings.id) FROM recordings ";

Recording ReadRecording(Stmt& s) {
  Recording r;
  r.id = s.Int(0);
  r.session_id = s.Text(1);
  r.kind = s.Enum(2, RecordingKind::kCamera);
  r.media_key = s.Text(3);
  r.status = s.Enum(4, RecordingStatus::kFailed);
  r.failure_reason = s.Text(5);
  r.bytes = static_cast<uint64_t>(s.Int(6));
  r.duration_ms = s.Int(7);
  r.incomplete = s.Int(8) != 0;
  r.created_at = s.Int(9);
  r.finalized_at = s.Int(10);
  r.upload_metadata = s.Text(11);
  return r;
}

Status InsertAudit(Connection& db, const AuditEntry& e) {
  return Stmt(db, "INSERT INTO audit_log(at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)")
      .Bind(1, e.at)
      .Bind(2, e.actor)
      .Bind(3, e.action)
      .Bind(4, e.target)
      .Bind(5, e.detail_json)
      .Run();
}

}  // namespace sqlite
}  // namespace recorder::server
