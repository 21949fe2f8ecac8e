// SqliteIndex: the schema, its migrations and every SQL statement of the server.
#include <sqlite3.h>

#include <spdlog/spdlog.h>

#include <cctype>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "index.h"

namespace recorder::server {
namespace {

// Migration N takes the schema from version N-1 to N. Append only; never edit a shipped one.
const char* const kMigrations[] = {
    // 1: core tables.
    R"sql(
CREATE TABLE candidates(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  email TEXT,  -- lower-cased; NULL when not given
  folder TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL);
CREATE INDEX candidates_email ON candidates(email);
CREATE TABLE sessions(
  id TEXT PRIMARY KEY,
  candidate_id INTEGER NOT NULL REFERENCES candidates(id),
  job TEXT,
  token_sha256 TEXT NOT NULL UNIQUE,
  token_expires_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL);
CREATE TABLE recordings(
  id INTEGER PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions(id),
  kind TEXT NOT NULL CHECK(kind IN ('camera', 'screen', 'audio')),
  path TEXT NOT NULL UNIQUE,  -- final path relative to DATA; bytes arrive in path || '.part'
  bytes INTEGER NOT NULL DEFAULT 0,
  duration_ms INTEGER,
  status TEXT NOT NULL CHECK(status IN ('receiving', 'finalizing', 'ready', 'failed')),
  failure_reason TEXT,
  incomplete INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  uploaded_at INTEGER,
  finalized_at INTEGER);
CREATE TABLE uploads(
  id TEXT PRIMARY KEY,
  recording_id INTEGER NOT NULL UNIQUE REFERENCES recordings(id),
  upload_offset INTEGER NOT NULL DEFAULT 0,
  upload_length INTEGER,  -- NULL: Upload-Defer-Length
  metadata TEXT NOT NULL DEFAULT '',
  expires_at INTEGER NOT NULL,
  state TEXT NOT NULL CHECK(state IN ('receiving', 'complete', 'expired', 'terminated')),
  checksum_state TEXT NOT NULL DEFAULT 'unverified',  -- 'verified' once any chunk carried a checksum
  created_at INTEGER NOT NULL);
)sql",
    // 2: the durable job queue.
    R"sql(
CREATE TABLE jobs(
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  recording_id INTEGER NOT NULL REFERENCES recordings(id),
  state TEXT NOT NULL CHECK(state IN ('pending', 'running', 'done', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_run_at INTEGER NOT NULL,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE(kind, recording_id));
CREATE INDEX jobs_due ON jobs(state, next_run_at);
CREATE INDEX uploads_state ON uploads(state, expires_at);
)sql",
    // 3: markers and client events.
    R"sql(
CREATE TABLE session_events(
  id INTEGER PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions(id),
  client_id TEXT NOT NULL,
  type TEXT NOT NULL CHECK(type IN ('marker', 'client_event')),
  label TEXT NOT NULL,
  data TEXT NOT NULL,
  recording_time_ms INTEGER NOT NULL,
  upload_id TEXT REFERENCES uploads(id),
  wall_time TEXT,
  received_at INTEGER NOT NULL,
  UNIQUE(session_id, client_id));
)sql",
    // 4: HR accounts, their login sessions, and the audit log.
    R"sql(
CREATE TABLE accounts(
  id INTEGER PRIMARY KEY,
  username TEXT NOT NULL UNIQUE COLLATE NOCASE,
  password_hash TEXT NOT NULL,  -- argon2id, encoded
  role TEXT NOT NULL CHECK(role IN ('admin', 'reviewer')),
  created_at INTEGER NOT NULL);
CREATE TABLE login_sessions(
  token_sha256 TEXT PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  csrf_token TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL);
CREATE TABLE audit_log(
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT '{}');
CREATE INDEX sessions_created ON sessions(created_at);
CREATE INDEX recordings_session ON recordings(session_id);
CREATE INDEX recordings_created ON recordings(created_at);
)sql",
};
static_assert(std::size(kMigrations) == SqliteIndex::kLatestSchemaVersion);

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

Status SqlError(sqlite3* db, const std::string& what) {
  int code = sqlite3_extended_errcode(db);
  std::string msg = what + ": " + sqlite3_errmsg(db);
  if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY) return AlreadyExists(msg);
  if (code == SQLITE_FULL) return ResourceExhausted(msg);
  return Internal(msg);
}

// A connection to the database file at `path`, waiting up to 5 s for another connection's lock.
Result<DbPtr> OpenDatabase(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  DbPtr db(raw);  // closed on failure too: sqlite3_open_v2 may allocate a handle that reports the error
  if (rc != SQLITE_OK) {
    return IoError("cannot open database " + path + ": " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(raw, 5000);
  return db;
}

// The one connection and its compiled statements. The server runs a fixed set of SQL texts, and
// compiling them was most of SQLite's share of a PATCH, so each text is compiled once and lent
// out. REQUIRES: callers hold the index mutex (one thread at a time).
class Connection {
 public:
  struct Cached {
    std::unique_ptr<sqlite3_stmt, StmtFinalizer> stmt;
    bool lent = false;
  };

  void Open(sqlite3* raw) { db_.reset(raw); }
  sqlite3* get() const { return db_.get(); }

  // The cached statement for `sql`, or nullptr when it is already lent (a nested use of the same
  // text) or the cache is full; the caller then compiles its own.
  Cached* Lend(const std::string& sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
      if (cache_.size() >= kMaxCached) return nullptr;
      sqlite3_stmt* raw = nullptr;
      if (sqlite3_prepare_v3(db_.get(), sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &raw,
                             nullptr) != SQLITE_OK) {
        return nullptr;  // the caller's own prepare reports the error
      }
      it = cache_.emplace(sql, Cached{std::unique_ptr<sqlite3_stmt, StmtFinalizer>(raw)}).first;
    }
    if (it->second.lent) return nullptr;
    it->second.lent = true;
    return &it->second;
  }

 private:
  static constexpr size_t kMaxCached = 128;  // well above the number of SQL texts in this file
  DbPtr db_;                                 // declared first: closed after the statements are finalized
  std::unordered_map<std::string, Cached> cache_;
};

// One statement, from the connection's cache. Errors are kept and reported by Step(), so call
// sites stay linear.
class Stmt {
 public:
  Stmt(Connection& db, const std::string& sql) : db_(db.get()), cached_(db.Lend(sql)) {
    if (cached_) {
      stmt_ = cached_->stmt.get();
      return;
    }
    if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt_, nullptr) != SQLITE_OK) {
      status_ = SqlError(db_, "prepare");
    }
  }
  ~Stmt() {
    if (!cached_) {
      sqlite3_finalize(stmt_);
      return;
    }
    // Reset ends the statement's read of the database (a stepped SELECT would otherwise keep its
    // WAL snapshot) and makes it ready for the next borrower.
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    cached_->lent = false;
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Bind(int i, int64_t v) { return Check(sqlite3_bind_int64(stmt_, i, v)); }
  Stmt& Bind(int i, const std::string& v) {
    return Check(sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  Stmt& Bind(int i, std::optional<uint64_t> v) {
    return v ? Bind(i, static_cast<int64_t>(*v)) : Check(sqlite3_bind_null(stmt_, i));
  }
  Stmt& BindTextOrNull(int i, const std::string& v) {
    return v.empty() ? Check(sqlite3_bind_null(stmt_, i)) : Bind(i, v);
  }
  // true: a row is ready; false: done.
  Result<bool> Step() {
    if (!status_.ok()) return status_;
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqlError(db_, "step");
  }
  Status Run() {
    auto r = Step();
    return r.ok() ? Status::Ok() : r.status();
  }
  int64_t Int(int col) { return sqlite3_column_int64(stmt_, col); }
  bool IsNull(int col) { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string Text(int col) {
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, col)) : std::string();
  }

 private:
  Stmt& Check(int rc) {
    if (rc != SQLITE_OK && status_.ok()) status_ = SqlError(db_, "bind");
    return *this;
  }
  sqlite3* db_;
  Connection::Cached* cached_;
  sqlite3_stmt* stmt_ = nullptr;
  Status status_;
};

constexpr const char* kUploadColumns =
    "u.id, r.session_id, u.recording_id, r.path, u.upload_offset, u.upload_length, u.expires_at, u.state, "
    "u.metadata, u.checksum_state FROM uploads u JOIN recordings r ON r.id = u.recording_id ";

Upload ReadUpload(Stmt& s) {
  Upload u;
  u.id = s.Text(0);
  u.session_id = s.Text(1);
  u.recording_id = s.Int(2);
  u.path = s.Text(3);
  u.offset = static_cast<uint64_t>(s.Int(4));
  if (!s.IsNull(5)) u.length = static_cast<uint64_t>(s.Int(5));
  u.expires_at = s.Int(6);
  u.state = s.Text(7);
  u.metadata = s.Text(8);
  u.checksum_verified = s.Text(9) == "verified";
  return u;
}

constexpr const char* kRecordingColumns =
    "SELECT id, session_id, kind, path, status, failure_reason, bytes, duration_ms, incomplete, created_at, "
    "finalized_at, (SELECT metadata FROM uploads WHERE recording_id = recordings.id) FROM recordings ";

Recording ReadRecording(Stmt& s) {
  Recording r;
  r.id = s.Int(0);
  r.session_id = s.Text(1);
  r.kind = s.Text(2);
  r.path = s.Text(3);
  r.status = s.Text(4);
  r.failure_reason = s.Text(5);
  r.bytes = static_cast<uint64_t>(s.Int(6));
  r.duration_ms = s.Int(7);
  r.incomplete = s.Int(8) != 0;
  r.created_at = s.Int(9);
  r.finalized_at = s.Int(10);
  r.upload_metadata = s.Text(11);
  return r;
}

template <typename T, typename ReadRow>
Result<std::vector<T>> ReadAll(Stmt& s, ReadRow read) {
  std::vector<T> rows;
  for (;;) {
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) return rows;
    rows.push_back(read(s));
  }
}

// Copies the WAL into the database file from its own connection and thread, so the checkpoint's
// fsyncs happen outside the index mutex. With SQLite's automatic checkpoint, the commit that
// crossed 1000 WAL pages ran the checkpoint, fsyncs included, while every PATCH waited for the
// mutex. PASSIVE never blocks the writer; the writer restarts the WAL once it is all copied.
class Checkpointer {
 public:
  explicit Checkpointer(DbPtr db) : db_(std::move(db)), thread_([this] { Run(); }) {}
  ~Checkpointer() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  static constexpr std::chrono::milliseconds kInterval{250};

  void Run() {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, kInterval, [&] { return stopping_; })) {
      int rc = sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        spdlog::warn("index: WAL checkpoint failed: {}", sqlite3_errmsg(db_.get()));
      }
    }
  }

  DbPtr db_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the rest is built
};

}  // namespace

struct SqliteIndex::Impl {
  std::mutex mu;  // one connection, used by one thread at a time
  Connection db;
  std::unique_ptr<Checkpointer> checkpointer;  // after db: stopped before db closes

  Status Exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db.get(), sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown";
      sqlite3_free(err);
      return Internal(std::string("exec: ") + msg);
    }
    return Status::Ok();
  }

  // Runs `body` in one write transaction. REQUIRES: mu held.
  Status Transaction(const std::function<Status()>& body) {
    RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    Status s = body();
    if (!s.ok()) {
      (void)Exec("ROLLBACK");
      return s;
    }
    return Exec("COMMIT");
  }

  Result<int> Version() {
    Stmt s(db, "SELECT version FROM schema_version");
    auto row = s.Step();
    if (!row.ok()) return row.status();
    return *row ? static_cast<int>(s.Int(0)) : 0;
  }

  Status Migrate(int target) {
    RETURN_IF_ERROR(Exec("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)"));
    auto current = Version();
    if (!current.ok()) return current.status();
    if (*current > kLatestSchemaVersion) {
      return FailedPrecondition("database schema version " + std::to_string(*current) +
                                " is newer than this server (" + std::to_string(kLatestSchemaVersion) + ")");
    }
    for (int v = *current + 1; v <= target; ++v) {
      RETURN_IF_ERROR(Transaction([&]() -> Status {
        RETURN_IF_ERROR(Exec(kMigrations[v - 1]));
        RETURN_IF_ERROR(Exec("DELETE FROM schema_version"));
        return Stmt(db, "INSERT INTO schema_version(version) VALUES (?)").Bind(1, int64_t{v}).Run();
      }));
    }
    return Status::Ok();
  }
};

SqliteIndex::SqliteIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteIndex::~SqliteIndex() = default;

Result<std::unique_ptr<SqliteIndex>> SqliteIndex::Open(const std::string& path, int schema_version) {
  auto impl = std::make_unique<Impl>();
  auto main_db = OpenDatabase(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX);
  if (!main_db.ok()) return main_db.status();
  impl->db.Open(main_db->release());
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"}) {
    Status s = impl->Exec(pragma);
    if (!s.ok()) return IoError("cannot use database " + path + ": " + s.message());
  }
  Status migrated = impl->Migrate(schema_version);
  if (!migrated.ok()) return IoError("cannot migrate database " + path + ": " + migrated.message());

  auto checkpoint_db = OpenDatabase(path, SQLITE_OPEN_READWRITE);
  if (!checkpoint_db.ok()) return checkpoint_db.status();
  // A connection sees the WAL only once it has read the database; until then a checkpoint is a no-op.
  if (sqlite3_exec(checkpoint_db->get(), "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return IoError("cannot use database " + path + " for checkpoints: " + sqlite3_errmsg(checkpoint_db->get()));
  }
  RETURN_IF_ERROR(impl->Exec("PRAGMA wal_autocheckpoint=0"));
  impl->checkpointer = std::make_unique<Checkpointer>(std::move(checkpoint_db.value()));
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

Result<Candidate> SqliteIndex::FindOrCreateCandidate(const std::string& name, const std::string& email,
                                                     const std::string& folder_base, int64_t now) {
  std::lock_guard lock(impl_->mu);
  Connection& db = impl_->db;
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
      std::string folder = n == 1 ? folder_base : folder_base + "_" + std::to_string(n);
      Stmt insert(db, "INSERT INTO candidates(name, email, folder, created_at) VALUES (?, ?, ?, ?)");
      Status inserted = insert.Bind(1, name).BindTextOrNull(2, email).Bind(3, folder).Bind(4, now).Run();
      if (inserted.code() == StatusCode::kAlreadyExists) continue;
      RETURN_IF_ERROR(inserted);
      found = {sqlite3_last_insert_rowid(db.get()), folder};
      return Status::Ok();
    }
  });
  if (!s.ok()) return s;
  return found;
}

Status SqliteIndex::CreateSession(const std::string& session_id, int64_t candidate_id, const std::string& job,
                                  const std::string& token_sha256, int64_t token_expires_at, int64_t now) {
  std::lock_guard lock(impl_->mu);
  return Stmt(impl_->db,
              "INSERT INTO sessions(id, candidate_id, job, token_sha256, token_expires_at, created_at) "
              "VALUES (?, ?, ?, ?, ?, ?)")
      .Bind(1, session_id).Bind(2, candidate_id).BindTextOrNull(3, job).Bind(4, token_sha256)
      .Bind(5, token_expires_at).Bind(6, now)
      .Run();
}

Result<Session> SqliteIndex::SessionByTokenHash(const std::string& token_sha256) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "SELECT s.id, s.candidate_id, c.folder, s.token_expires_at FROM sessions s "
         "JOIN candidates c ON c.id = s.candidate_id WHERE s.token_sha256 = ?");
  auto row = s.Bind(1, token_sha256).Step();
  if (!row.ok()) return row.status();
  if (!*row) return NotFound("no session for this token");
  return Session{s.Text(0), s.Int(1), s.Text(2), s.Int(3)};
}

Result<Upload> SqliteIndex::CreateUpload(const Upload& upload, const std::string& kind, int64_t now) {
  std::lock_guard lock(impl_->mu);
  Connection& db = impl_->db;
  Upload created = upload;
  Status s = impl_->Transaction([&]() -> Status {
    Stmt live(db, "SELECT 1 FROM sessions WHERE id = ? AND token_expires_at > ?");
    auto row = live.Bind(1, upload.session_id).Bind(2, now).Step();
    if (!row.ok()) return row.status();
    if (!*row) return FailedPrecondition("session " + upload.session_id + " is gone or its token was revoked");
    RETURN_IF_ERROR(Stmt(db, "INSERT INTO recordings(session_id, kind, path, status, created_at) "
                             "VALUES (?, ?, ?, 'receiving', ?)")
                        .Bind(1, upload.session_id).Bind(2, kind).Bind(3, upload.path).Bind(4, now)
                        .Run());
    created.recording_id = sqlite3_last_insert_rowid(db.get());
    return Stmt(db, "INSERT INTO uploads(id, recording_id, upload_offset, upload_length, metadata, expires_at, "
                    "state, created_at) VALUES (?, ?, 0, ?, ?, ?, 'receiving', ?)")
        .Bind(1, upload.id).Bind(2, created.recording_id).Bind(3, upload.length).Bind(4, upload.metadata)
        .Bind(5, upload.expires_at).Bind(6, now)
        .Run();
  });
  if (!s.ok()) return s;
  created.offset = 0;
  created.state = "receiving";
  return created;
}

Result<Upload> SqliteIndex::GetUpload(const std::string& upload_id) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db, (std::string("SELECT ") + kUploadColumns + "WHERE u.id = ?"));
  auto row = s.Bind(1, upload_id).Step();
  if (!row.ok()) return row.status();
  if (!*row) return NotFound("no upload " + upload_id);
  return ReadUpload(s);
}

Status SqliteIndex::SetUploadProgress(const std::string& upload_id, uint64_t offset, std::optional<uint64_t> length,
                                      int64_t expires_at, bool checksum_verified) {
  std::lock_guard lock(impl_->mu);
  return Stmt(impl_->db,
              "UPDATE uploads SET upload_offset = ?, upload_length = ?, expires_at = ?, "
              "checksum_state = CASE WHEN ? THEN 'verified' ELSE checksum_state END "
              "WHERE id = ? AND state = 'receiving'")
      .Bind(1, static_cast<int64_t>(offset)).Bind(2, length).Bind(3, expires_at)
      .Bind(4, int64_t{checksum_verified}).Bind(5, upload_id)
      .Run();
}

Status SqliteIndex::FinishUpload(const std::string& upload_id, const std::string& state, bool incomplete,
                                 int64_t now) {
  std::lock_guard lock(impl_->mu);
  Connection& db = impl_->db;
  return impl_->Transaction([&]() -> Status {
    Stmt up(db, "UPDATE uploads SET state = ? WHERE id = ? AND state = 'receiving' RETURNING recording_id, upload_offset");
    auto row = up.Bind(1, state).Bind(2, upload_id).Step();
    if (!row.ok()) return row.status();
    if (!*row) return FailedPrecondition("upload " + upload_id + " is not receiving");
    int64_t recording_id = up.Int(0);
    int64_t bytes = up.Int(1);
    RETURN_IF_ERROR(up.Run());  // finish the RETURNING statement before the next one
    RETURN_IF_ERROR(Stmt(db, "UPDATE recordings SET status = 'finalizing', bytes = ?, incomplete = ?, "
                             "uploaded_at = ? WHERE id = ?")
                        .Bind(1, bytes).Bind(2, int64_t{incomplete}).Bind(3, now).Bind(4, recording_id)
                        .Run());
    return Stmt(db, "INSERT OR IGNORE INTO jobs(kind, recording_id, state, next_run_at, created_at, updated_at) "
                    "VALUES ('finalize', ?, 'pending', ?, ?, ?)")
        .Bind(1, recording_id).Bind(2, now).Bind(3, now).Bind(4, now)
        .Run();
  });
}

Status SqliteIndex::TerminateUpload(const std::string& upload_id, const std::string& reason, int64_t now) {
  std::lock_guard lock(impl_->mu);
  Connection& db = impl_->db;
  return impl_->Transaction([&]() -> Status {
    Stmt up(db, "UPDATE uploads SET state = 'terminated' WHERE id = ? RETURNING recording_id");
    auto row = up.Bind(1, upload_id).Step();
    if (!row.ok()) return row.status();
    if (!*row) return NotFound("no upload " + upload_id);
    int64_t recording_id = up.Int(0);
    RETURN_IF_ERROR(up.Run());
    return Stmt(db, "UPDATE recordings SET status = 'failed', failure_reason = ?, bytes = 0, finalized_at = ? "
                    "WHERE id = ?")
        .Bind(1, reason).Bind(2, now).Bind(3, recording_id)
        .Run();
  });
}

Result<std::vector<Upload>> SqliteIndex::UploadsInState(const std::string& state) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db, (std::string("SELECT ") + kUploadColumns + "WHERE u.state = ? ORDER BY u.rowid"));
  s.Bind(1, state);
  return ReadAll<Upload>(s, ReadUpload);
}

Result<std::vector<Upload>> SqliteIndex::ExpiredUploads(int64_t now) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         (std::string("SELECT ") + kUploadColumns + "WHERE u.state = 'receiving' AND u.expires_at <= ?"));
  s.Bind(1, now);
  return ReadAll<Upload>(s, ReadUpload);
}

Result<Recording> SqliteIndex::GetRecording(int64_t recording_id) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db, (std::string(kRecordingColumns) + "WHERE id = ?"));
  auto row = s.Bind(1, recording_id).Step();
  if (!row.ok()) return row.status();
  if (!*row) return NotFound("no recording " + std::to_string(recording_id));
  return ReadRecording(s);
}

Result<std::vector<Recording>> SqliteIndex::RecordingsOfSession(const std::string& session_id) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db, (std::string(kRecordingColumns) + "WHERE session_id = ? ORDER BY id"));
  s.Bind(1, session_id);
  return ReadAll<Recording>(s, ReadRecording);
}

Status SqliteIndex::MarkRecordingReady(int64_t recording_id, uint64_t bytes, int64_t duration_ms, bool incomplete,
                                       int64_t now) {
  std::lock_guard lock(impl_->mu);
  return Stmt(impl_->db,
              "UPDATE recordings SET status = 'ready', bytes = ?, duration_ms = ?, incomplete = ?, "
              "failure_reason = NULL, finalized_at = ? WHERE id = ?")
      .Bind(1, static_cast<int64_t>(bytes)).Bind(2, duration_ms).Bind(3, int64_t{incomplete}).Bind(4, now)
      .Bind(5, recording_id)
      .Run();
}

Status SqliteIndex::MarkRecordingFailed(int64_t recording_id, const std::string& reason, int64_t now) {
  std::lock_guard lock(impl_->mu);
  return Stmt(impl_->db,
              "UPDATE recordings SET status = 'failed', failure_reason = ?, finalized_at = ? WHERE id = ?")
      .Bind(1, reason).Bind(2, now).Bind(3, recording_id)
      .Run();
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
                          .Bind(1, session_id).Bind(2, e.client_id).Bind(3, e.type).Bind(4, e.label)
                          .Bind(5, e.data_json).Bind(6, e.recording_time_ms).BindTextOrNull(7, e.upload_id)
                          .BindTextOrNull(8, e.wall_time).Bind(9, now)
                          .Run());
      added += sqlite3_changes(impl_->db.get());
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
  return ReadAll<SessionEvent>(s, [](Stmt& row) {
    return SessionEvent{row.Text(0), row.Text(1), row.Text(2), row.Text(3), row.Int(4), row.Text(5), row.Text(6),
                        row.Int(7)};
  });
}

Status SqliteIndex::EnqueueJob(const std::string& kind, int64_t recording_id, int64_t now) {
  std::lock_guard lock(impl_->mu);
  return Stmt(impl_->db,
              "INSERT OR IGNORE INTO jobs(kind, recording_id, state, next_run_at, created_at, updated_at) "
              "VALUES (?, ?, 'pending', ?, ?, ?)")
      .Bind(1, kind).Bind(2, recording_id).Bind(3, now).Bind(4, now).Bind(5, now)
      .Run();
}

Result<std::optional<Job>> SqliteIndex::ClaimJob(int64_t now) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "UPDATE jobs SET state = 'running', attempts = attempts + 1, updated_at = ?1 WHERE id = "
         "(SELECT id FROM jobs WHERE state = 'pending' AND next_run_at <= ?1 ORDER BY next_run_at, id LIMIT 1) "
         "RETURNING id, kind, recording_id, attempts");
  auto row = s.Bind(1, now).Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<Job>();
  Job job{s.Int(0), s.Text(1), s.Int(2), static_cast<int>(s.Int(3))};
  RETURN_IF_ERROR(s.Run());
  return std::optional<Job>(job);
}

Status SqliteIndex::CompleteJob(int64_t job_id, int64_t now) {
  std::lock_guard lock(impl_->mu);
  return Stmt(impl_->db, "UPDATE jobs SET state = 'done', last_error = NULL, updated_at = ? WHERE id = ?")
      .Bind(1, now).Bind(2, job_id)
      .Run();
}

Status SqliteIndex::RetryJob(int64_t job_id, int64_t next_run_at, const std::string& error) {
  std::lock_guard lock(impl_->mu);
  return Stmt(impl_->db,
              "UPDATE jobs SET state = 'pending', next_run_at = ?, last_error = ?, updated_at = ? WHERE id = ?")
      .Bind(1, next_run_at).Bind(2, error).Bind(3, next_run_at).Bind(4, job_id)
      .Run();
}

Status SqliteIndex::FailJob(int64_t job_id, const std::string& error, int64_t now) {
  std::lock_guard lock(impl_->mu);
  return Stmt(impl_->db, "UPDATE jobs SET state = 'failed', last_error = ?, updated_at = ? WHERE id = ?")
      .Bind(1, error).Bind(2, now).Bind(3, job_id)
      .Run();
}

Result<int> SqliteIndex::RequeueRunningJobs() {
  std::lock_guard lock(impl_->mu);
  RETURN_IF_ERROR(Stmt(impl_->db, "UPDATE jobs SET state = 'pending' WHERE state = 'running'").Run());
  return sqlite3_changes(impl_->db.get());
}

// ---- accounts, login sessions, audit ----

Status SqliteIndex::CreateAccount(const Account& account, int64_t now) {
  std::lock_guard lock(impl_->mu);
  return Stmt(impl_->db, "INSERT INTO accounts(username, password_hash, role, created_at) VALUES (?, ?, ?, ?)")
      .Bind(1, account.username).Bind(2, account.password_hash).Bind(3, account.role).Bind(4, now)
      .Run();
}

Result<Account> SqliteIndex::AccountByName(const std::string& username) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db, "SELECT id, username, password_hash, role FROM accounts WHERE username = ?");
  auto row = s.Bind(1, username).Step();
  if (!row.ok()) return row.status();
  if (!*row) return NotFound("no account " + username);
  return Account{s.Int(0), s.Text(1), s.Text(2), s.Text(3)};
}

Result<int> SqliteIndex::CountAccounts() {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db, "SELECT count(*) FROM accounts");
  auto row = s.Step();
  if (!row.ok()) return row.status();
  return static_cast<int>(s.Int(0));
}

Status SqliteIndex::CreateLoginSession(const LoginSession& login, int64_t now) {
  std::lock_guard lock(impl_->mu);
  return Stmt(impl_->db,
              "INSERT INTO login_sessions(token_sha256, account_id, csrf_token, expires_at, created_at) "
              "VALUES (?, ?, ?, ?, ?)")
      .Bind(1, login.token_sha256).Bind(2, login.account.id).Bind(3, login.csrf_token).Bind(4, login.expires_at)
      .Bind(5, now)
      .Run();
}

Result<LoginSession> SqliteIndex::LoginSessionByTokenHash(const std::string& token_sha256, int64_t now) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "SELECT l.token_sha256, a.id, a.username, a.password_hash, a.role, l.csrf_token, l.expires_at "
         "FROM login_sessions l JOIN accounts a ON a.id = l.account_id WHERE l.token_sha256 = ? AND l.expires_at > ?");
  auto row = s.Bind(1, token_sha256).Bind(2, now).Step();
  if (!row.ok()) return row.status();
  if (!*row) return NotFound("no login session");
  return LoginSession{s.Text(0), Account{s.Int(1), s.Text(2), s.Text(3), s.Text(4)}, s.Text(5), s.Int(6)};
}

Status SqliteIndex::DeleteLoginSession(const std::string& token_sha256, int64_t now) {
  std::lock_guard lock(impl_->mu);
  return Stmt(impl_->db, "DELETE FROM login_sessions WHERE token_sha256 = ? OR expires_at <= ?")
      .Bind(1, token_sha256).Bind(2, now)
      .Run();
}

namespace {

Status InsertAudit(Connection& db, const AuditEntry& e) {
  return Stmt(db, "INSERT INTO audit_log(at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)")
      .Bind(1, e.at).Bind(2, e.actor).Bind(3, e.action).Bind(4, e.target).Bind(5, e.detail_json)
      .Run();
}

// Escapes LIKE's wildcards so user text matches literally (ESCAPE '\').
std::string LikePattern(const std::string& text) {
  std::string out = "%";
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') out.push_back('\\');
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out + "%";
}

// Sessions with their derived status, filtered by ?1..?5 (text pattern, job pattern, from, to, status).
constexpr const char* kSessionsWithStatus = R"sql(
WITH summary AS (
  SELECT s.rowid AS seq, s.id, s.candidate_id, c.name, COALESCE(c.email, '') AS email, COALESCE(s.job, '') AS job, s.created_at,
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

}  // namespace

Status SqliteIndex::AppendAudit(const AuditEntry& entry) {
  std::lock_guard lock(impl_->mu);
  return InsertAudit(impl_->db, entry);
}

Result<std::vector<AuditEntry>> SqliteIndex::AuditEntries(int limit) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db, "SELECT id, at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT ?");
  s.Bind(1, int64_t{limit});
  return ReadAll<AuditEntry>(s, [](Stmt& row) {
    return AuditEntry{row.Int(0), row.Int(1), row.Text(2), row.Text(3), row.Text(4), row.Text(5)};
  });
}

// ---- the results read model ----

Result<SessionPage> SqliteIndex::ListSessions(const SessionFilter& filter) {
  std::lock_guard lock(impl_->mu);
  Connection& db = impl_->db;
  auto bind_filter = [&](Stmt& s) -> Stmt& {
    return s.Bind(1, LikePattern(filter.text)).Bind(2, LikePattern(filter.job)).Bind(3, filter.created_from)
        .Bind(4, filter.created_to).Bind(5, filter.status);
  };
  SessionPage page;
  Stmt count(db, (std::string(kSessionsWithStatus) + "SELECT count(*) FROM summary WHERE ?5 = '' OR status = ?5"));
  auto row = bind_filter(count).Step();
  if (!row.ok()) return row.status();
  page.total = count.Int(0);

  Stmt list(db, (std::string(kSessionsWithStatus) +
                 "SELECT id, candidate_id, name, email, job, created_at, status FROM summary "
                 "WHERE ?5 = '' OR status = ?5 ORDER BY created_at DESC, seq DESC LIMIT ?6 OFFSET ?7"));
  bind_filter(list).Bind(6, int64_t{filter.limit}).Bind(7, int64_t{filter.offset});
  auto sessions = ReadAll<SessionSummary>(list, [](Stmt& r) {
    return SessionSummary{r.Text(0), r.Int(1), r.Text(2), r.Text(3), r.Text(4), r.Int(5), r.Text(6), {}};
  });
  if (!sessions.ok()) return sessions.status();
  for (SessionSummary& summary : *sessions) {
    Stmt recs(db, (std::string(kRecordingColumns) + "WHERE session_id = ? ORDER BY id"));
    recs.Bind(1, summary.session_id);
    auto recordings = ReadAll<Recording>(recs, ReadRecording);
    if (!recordings.ok()) return recordings.status();
    summary.recordings = std::move(*recordings);
  }
  page.sessions = std::move(*sessions);
  return page;
}

Result<SessionSummary> SqliteIndex::GetSessionSummary(const std::string& session_id) {
  std::lock_guard lock(impl_->mu);
  Connection& db = impl_->db;
  Stmt s(db, (std::string(kSessionsWithStatus) +
              "SELECT id, candidate_id, name, email, job, created_at, status FROM summary WHERE id = ?5"));
  auto row = s.Bind(1, std::string("%%")).Bind(2, std::string("%%")).Bind(3, int64_t{0}).Bind(4, INT64_MAX)
                 .Bind(5, session_id).Step();
  if (!row.ok()) return row.status();
  if (!*row) return NotFound("no session " + session_id);
  SessionSummary summary{s.Text(0), s.Int(1), s.Text(2), s.Text(3), s.Text(4), s.Int(5), s.Text(6), {}};
  Stmt recs(db, (std::string(kRecordingColumns) + "WHERE session_id = ? ORDER BY id"));
  recs.Bind(1, session_id);
  auto recordings = ReadAll<Recording>(recs, ReadRecording);
  if (!recordings.ok()) return recordings.status();
  summary.recordings = std::move(*recordings);
  return summary;
}

Result<std::vector<std::string>> SqliteIndex::SessionIdsOfCandidate(int64_t candidate_id) {
  std::lock_guard lock(impl_->mu);
  Stmt c(impl_->db, "SELECT 1 FROM candidates WHERE id = ?");
  auto row = c.Bind(1, candidate_id).Step();
  if (!row.ok()) return row.status();
  if (!*row) return NotFound("no candidate " + std::to_string(candidate_id));
  Stmt s(impl_->db, "SELECT id FROM sessions WHERE candidate_id = ? ORDER BY created_at");
  s.Bind(1, candidate_id);
  return ReadAll<std::string>(s, [](Stmt& r) { return r.Text(0); });
}

// ---- deletion ----

namespace {

// Deletes a session's rows, and its candidate's when no session is left. REQUIRES: in a transaction.
Status DeleteSessionRows(Connection& db, const std::string& session_id) {
  Stmt find(db, "SELECT candidate_id FROM sessions WHERE id = ?");
  auto row = find.Bind(1, session_id).Step();
  if (!row.ok()) return row.status();
  if (!*row) return NotFound("no session " + session_id);
  int64_t candidate_id = find.Int(0);
  for (const char* sql : {
           "DELETE FROM session_events WHERE session_id = ?1",
           "DELETE FROM jobs WHERE recording_id IN (SELECT id FROM recordings WHERE session_id = ?1)",
           "DELETE FROM uploads WHERE recording_id IN (SELECT id FROM recordings WHERE session_id = ?1)",
           "DELETE FROM recordings WHERE session_id = ?1",
           "DELETE FROM sessions WHERE id = ?1",
       }) {
    RETURN_IF_ERROR(Stmt(db, sql).Bind(1, session_id).Run());
  }
  return Stmt(db, "DELETE FROM candidates WHERE id = ? AND NOT EXISTS (SELECT 1 FROM sessions WHERE candidate_id = ?)")
      .Bind(1, candidate_id).Bind(2, candidate_id)
      .Run();
}

Status CheckSessionIdle(Connection& db, const std::string& session_id) {
  Stmt busy(db, "SELECT count(*) FROM recordings WHERE session_id = ? AND status IN ('receiving', 'finalizing')");
  auto row = busy.Bind(1, session_id).Step();
  if (!row.ok()) return row.status();
  if (busy.Int(0) > 0) return FailedPrecondition("session " + session_id + " has recordings in progress");
  return Status::Ok();
}

}  // namespace

Status SqliteIndex::RevokeSessionToken(const std::string& session_id) {
  std::lock_guard lock(impl_->mu);
  RETURN_IF_ERROR(Stmt(impl_->db, "UPDATE sessions SET token_expires_at = 0 WHERE id = ?").Bind(1, session_id).Run());
  if (sqlite3_changes(impl_->db.get()) == 0) return NotFound("no session " + session_id);
  return Status::Ok();
}

Result<StoredFiles> SqliteIndex::PrepareSessionDeletion(const std::string& session_id) {
  std::lock_guard lock(impl_->mu);
  Connection& db = impl_->db;
  StoredFiles files;
  Status s = impl_->Transaction([&]() -> Status {
    Stmt revoke(db, "UPDATE sessions SET token_expires_at = 0 WHERE id = ?");
    RETURN_IF_ERROR(revoke.Bind(1, session_id).Run());
    if (sqlite3_changes(db.get()) == 0) return NotFound("no session " + session_id);
    RETURN_IF_ERROR(CheckSessionIdle(db, session_id));
    Stmt recs(db, "SELECT path, bytes FROM recordings WHERE session_id = ?");
    recs.Bind(1, session_id);
    for (;;) {
      auto row = recs.Step();
      if (!row.ok()) return row.status();
      if (!*row) return Status::Ok();
      files.paths.push_back(recs.Text(0));
      files.bytes += static_cast<uint64_t>(recs.Int(1));
    }
  });
  if (!s.ok()) return s;
  return files;
}

Status SqliteIndex::DeleteSession(const std::string& session_id, const AuditEntry& audit) {
  std::lock_guard lock(impl_->mu);
  Connection& db = impl_->db;
  return impl_->Transaction([&]() -> Status {
    RETURN_IF_ERROR(CheckSessionIdle(db, session_id));
    RETURN_IF_ERROR(DeleteSessionRows(db, session_id));
    return InsertAudit(db, audit);
  });
}

Result<std::vector<Recording>> SqliteIndex::RecordingsCreatedBefore(int64_t cutoff) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         (std::string(kRecordingColumns) + "WHERE created_at < ? AND status IN ('ready', 'failed') ORDER BY id"));
  s.Bind(1, cutoff);
  return ReadAll<Recording>(s, ReadRecording);
}

Result<std::vector<std::string>> SqliteIndex::EmptySessionsCreatedBefore(int64_t cutoff) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "SELECT id FROM sessions s WHERE created_at < ? AND NOT EXISTS "
         "(SELECT 1 FROM recordings r WHERE r.session_id = s.id) ORDER BY created_at");
  s.Bind(1, cutoff);
  return ReadAll<std::string>(s, [](Stmt& r) { return r.Text(0); });
}

Status SqliteIndex::DeleteRecording(int64_t recording_id, const AuditEntry& audit) {
  std::lock_guard lock(impl_->mu);
  Connection& db = impl_->db;
  return impl_->Transaction([&]() -> Status {
    Stmt find(db, "SELECT session_id FROM recordings WHERE id = ?");
    auto row = find.Bind(1, recording_id).Step();
    if (!row.ok()) return row.status();
    if (!*row) return NotFound("no recording " + std::to_string(recording_id));
    std::string session_id = find.Text(0);
    RETURN_IF_ERROR(find.Run());
    for (const char* sql : {
             "DELETE FROM session_events WHERE upload_id IN (SELECT id FROM uploads WHERE recording_id = ?1)",
             "DELETE FROM jobs WHERE recording_id = ?1",
             "DELETE FROM uploads WHERE recording_id = ?1",
             "DELETE FROM recordings WHERE id = ?1",
         }) {
      RETURN_IF_ERROR(Stmt(db, sql).Bind(1, recording_id).Run());
    }
    Stmt left(db, "SELECT count(*) FROM recordings WHERE session_id = ?");
    auto count = left.Bind(1, session_id).Step();
    if (!count.ok()) return count.status();
    if (left.Int(0) == 0) RETURN_IF_ERROR(DeleteSessionRows(db, session_id));
    return InsertAudit(db, audit);
  });
}

}  // namespace recorder::server
