// The SQLite schema: every migration since the first release, applied in order.
#include <iterator>

#include "index/sqlite/impl.h"

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
    // 5: the general job queue (any subject, a payload, leases instead of "running" forever,
    // dedupe keys instead of UNIQUE(kind, recording_id)); recordings name their media by key.
    R"sql(
ALTER TABLE recordings RENAME COLUMN path TO media_key;
CREATE TABLE job_queue(
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  subject_type TEXT NOT NULL CHECK(subject_type IN ('none', 'recording', 'session')),
  subject_id TEXT NOT NULL DEFAULT '',
  payload TEXT NOT NULL DEFAULT '{}',
  dedupe_key TEXT UNIQUE,  -- NULL: none
  state TEXT NOT NULL CHECK(state IN ('pending', 'running', 'done', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_run_at INTEGER NOT NULL,
  lease_owner TEXT,
  lease_expires_at INTEGER,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL);
INSERT INTO job_queue(id, kind, subject_type, subject_id, dedupe_key, state, attempts, next_run_at, last_error,
                      created_at, updated_at)
  SELECT id, kind, 'recording', CAST(recording_id AS TEXT), kind || ':recording:' || recording_id,
         CASE state WHEN 'running' THEN 'pending' ELSE state END, attempts, next_run_at, last_error, created_at,
         updated_at
  FROM jobs;
DROP TABLE jobs;
ALTER TABLE job_queue RENAME TO jobs;
CREATE INDEX jobs_due ON jobs(kind, state, next_run_at);
CREATE INDEX jobs_subject ON jobs(subject_type, subject_id);
)sql",
    // 6: transcripts, one per recording, going with it (ON DELETE CASCADE); segments in order and
    // their words.
    R"sql(
CREATE TABLE transcripts(
  recording_id INTEGER PRIMARY KEY REFERENCES recordings(id) ON DELETE CASCADE,
  engine TEXT NOT NULL,
  language TEXT NOT NULL,
  audio_seconds REAL NOT NULL,
  created_at INTEGER NOT NULL);
CREATE TABLE transcript_segments(
  recording_id INTEGER NOT NULL REFERENCES transcripts(recording_id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  start_ms INTEGER NOT NULL,
  end_ms INTEGER NOT NULL,
  text TEXT NOT NULL,
  confidence REAL NOT NULL,
  PRIMARY KEY(recording_id, seq));
CREATE TABLE transcript_words(
  recording_id INTEGER NOT NULL,
  segment_seq INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  start_ms INTEGER NOT NULL,
  end_ms INTEGER NOT NULL,
  text TEXT NOT NULL,
  confidence REAL NOT NULL,
  PRIMARY KEY(recording_id, segment_seq, seq),
  FOREIGN KEY(recording_id, segment_seq) REFERENCES transcript_segments(recording_id, seq) ON DELETE CASCADE);
)sql",
    // 7: the host's questions of a session, in order.
    R"sql(
CREATE TABLE session_questions(
  session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  question_id TEXT NOT NULL,
  text TEXT NOT NULL,
  max_seconds INTEGER NOT NULL,
  PRIMARY KEY(session_id, seq),
  UNIQUE(session_id, question_id));
)sql",
    // 8: full-text search of the transcripts (FTS5), kept by triggers. Its rowid names the segment
    // as recording_id * 1000000 + seq (a recording has far fewer segments): the segments' own
    // rowids are not stable across VACUUM.
    R"sql(
CREATE VIRTUAL TABLE transcript_search USING fts5(text, tokenize = 'unicode61 remove_diacritics 2');
CREATE TRIGGER transcript_segment_indexed AFTER INSERT ON transcript_segments BEGIN
  INSERT INTO transcript_search(rowid, text) VALUES (new.recording_id * 1000000 + new.seq, new.text);
END;
CREATE TRIGGER transcript_segment_unindexed AFTER DELETE ON transcript_segments BEGIN
  DELETE FROM transcript_search WHERE rowid = old.recording_id * 1000000 + old.seq;
END;
INSERT INTO transcript_search(rowid, text) SELECT recording_id * 1000000 + seq, text FROM transcript_segments;
)sql",
    // 9: the chunks of uploads in a shared spool (IngestIndex::AddUploadChunk).
    R"sql(
CREATE TABLE upload_chunks(
  upload_id TEXT NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
  chunk_offset INTEGER NOT NULL,
  end_offset INTEGER NOT NULL,
  object TEXT NOT NULL,
  PRIMARY KEY(upload_id, chunk_offset)) WITHOUT ROWID;
)sql",
    // 10: when the candidate ended a session and when it completed (IngestIndex::CompleteSession).
    // Sessions whose link had expired before are completed as they are: nobody waits for their
    // session.completed, and a first sweep must not send one for every old session.
    R"sql(
ALTER TABLE sessions ADD COLUMN ended_at INTEGER;
ALTER TABLE sessions ADD COLUMN completed_at INTEGER;
UPDATE sessions SET completed_at = token_expires_at WHERE token_expires_at <= CAST(strftime('%s', 'now') AS INTEGER);
CREATE INDEX sessions_open ON sessions(token_expires_at) WHERE completed_at IS NULL;
)sql",
    // 11: webhook endpoints registered through the API (WebhookIndex); events: space-separated.
    R"sql(
CREATE TABLE webhooks(
  id TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  secret TEXT NOT NULL,
  events TEXT NOT NULL,
  created_at INTEGER NOT NULL);
)sql",
};
static_assert(std::size(kMigrations) == SqliteIndex::kLatestSchemaVersion);

}  // namespace

Result<int> SqliteIndex::Impl::Version() {
  sqlite::Stmt s(db, "SELECT version FROM schema_version");
  auto row = s.Step();
  if (!row.ok()) return row.status();
  return *row ? static_cast<int>(s.Int(0)) : 0;
}

Status SqliteIndex::Impl::Migrate(int target) {
  RETURN_IF_ERROR(Exec("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)"));
  auto current = Version();
  if (!current.ok()) return current.status();
  if (*current > kLatestSchemaVersion) {
    return FailedPrecondition("database schema version " + std::to_string(*current) + " is newer than this server (" +
                              std::to_string(kLatestSchemaVersion) + ")");
  }
  for (int v = *current + 1; v <= target; ++v) {
    RETURN_IF_ERROR(Transaction([&]() -> Status {
      RETURN_IF_ERROR(Exec(kMigrations[v - 1]));
      RETURN_IF_ERROR(Exec("DELETE FROM schema_version"));
      return sqlite::Stmt(db, "INSERT INTO schema_version(version) VALUES (?)").Bind(1, v).Run();
    }));
  }
  return Status::Ok();
}

}  // namespace recorder::server
