// The PostgreSQL schema: every migration since the first release, applied in order. It holds the
// same data as the SQLite schema (sqlite_schema.cc) at its latest version; the history differs.
#include <iterator>

#include "index/postgres/impl.h"

namespace recorder::server {
namespace {

// Migration N takes the schema from version N-1 to N. Append only; never edit a shipped one.
const char* const kMigrations[] = {
    // 1: everything SQLite's schema 8 has. Times are Unix seconds (BIGINT), ids identities; the
    // insertion order SQLite's rowid gave is `seq` where a listing needs it. Transcript search is
    // a tsvector of the unaccented text, kept by PostgreSQL (a generated column) under a GIN index.
    R"sql(
CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public;
-- unaccent() is only STABLE (its dictionary could change); with the dictionary named it is
-- immutable in practice, which a generated column requires.
CREATE FUNCTION recorder_search_text(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
  AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$;
CREATE TABLE candidates(
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name TEXT NOT NULL,
  email TEXT,  -- lower-cased; NULL when not given
  folder TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL);
CREATE INDEX candidates_email ON candidates(email);
CREATE TABLE sessions(
  id TEXT PRIMARY KEY,
  seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
  candidate_id BIGINT NOT NULL REFERENCES candidates(id),
  job TEXT,
  token_sha256 TEXT NOT NULL UNIQUE,
  token_expires_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL);
CREATE INDEX sessions_created ON sessions(created_at);
CREATE INDEX sessions_candidate ON sessions(candidate_id);
CREATE TABLE session_questions(
  session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  question_id TEXT NOT NULL,
  text TEXT NOT NULL,
  max_seconds INTEGER NOT NULL,
  PRIMARY KEY(session_id, seq),
  UNIQUE(session_id, question_id));
CREATE TABLE recordings(
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions(id),
  kind TEXT NOT NULL CHECK(kind IN ('camera', 'screen', 'audio')),
  media_key TEXT NOT NULL UNIQUE,
  bytes BIGINT NOT NULL DEFAULT 0,
  duration_ms BIGINT,
  status TEXT NOT NULL CHECK(status IN ('receiving', 'finalizing', 'ready', 'failed')),
  failure_reason TEXT,
  incomplete BOOLEAN NOT NULL DEFAULT false,
  created_at BIGINT NOT NULL,
  uploaded_at BIGINT,
  finalized_at BIGINT);
CREATE INDEX recordings_session ON recordings(session_id);
CREATE INDEX recordings_created ON recordings(created_at);
CREATE TABLE uploads(
  id TEXT PRIMARY KEY,
  seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
  recording_id BIGINT NOT NULL UNIQUE REFERENCES recordings(id),
  upload_offset BIGINT NOT NULL DEFAULT 0,
  upload_length BIGINT,  -- NULL: Upload-Defer-Length
  metadata TEXT NOT NULL DEFAULT '',
  expires_at BIGINT NOT NULL,
  state TEXT NOT NULL CHECK(state IN ('receiving', 'complete', 'expired', 'terminated')),
  checksum_state TEXT NOT NULL DEFAULT 'unverified',
  created_at BIGINT NOT NULL);
CREATE INDEX uploads_state ON uploads(state, expires_at);
CREATE TABLE session_events(
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions(id),
  client_id TEXT NOT NULL,
  type TEXT NOT NULL CHECK(type IN ('marker', 'client_event')),
  label TEXT NOT NULL,
  data TEXT NOT NULL,
  recording_time_ms BIGINT NOT NULL,
  upload_id TEXT REFERENCES uploads(id),
  wall_time TEXT,
  received_at BIGINT NOT NULL,
  UNIQUE(session_id, client_id));
CREATE TABLE jobs(
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind TEXT NOT NULL,
  subject_type TEXT NOT NULL CHECK(subject_type IN ('none', 'recording', 'session')),
  subject_id TEXT NOT NULL DEFAULT '',
  payload TEXT NOT NULL DEFAULT '{}',
  dedupe_key TEXT UNIQUE,  -- NULL: none
  state TEXT NOT NULL CHECK(state IN ('pending', 'running', 'done', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_run_at BIGINT NOT NULL,
  lease_owner TEXT,
  lease_expires_at BIGINT,
  last_error TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL);
CREATE INDEX jobs_due ON jobs(kind, state, next_run_at);
CREATE INDEX jobs_subject ON jobs(subject_type, subject_id);
CREATE TABLE accounts(
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  username TEXT NOT NULL,
  password_hash TEXT NOT NULL,  -- argon2id, encoded
  role TEXT NOT NULL CHECK(role IN ('admin', 'reviewer')),
  created_at BIGINT NOT NULL);
CREATE UNIQUE INDEX accounts_username ON accounts(lower(username));
CREATE TABLE login_sessions(
  token_sha256 TEXT PRIMARY KEY,
  account_id BIGINT NOT NULL REFERENCES accounts(id),
  csrf_token TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL);
CREATE TABLE audit_log(
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT '{}');
CREATE TABLE transcripts(
  recording_id BIGINT PRIMARY KEY REFERENCES recordings(id) ON DELETE CASCADE,
  engine TEXT NOT NULL,
  language TEXT NOT NULL,
  audio_seconds DOUBLE PRECISION NOT NULL,
  created_at BIGINT NOT NULL);
CREATE TABLE transcript_segments(
  recording_id BIGINT NOT NULL REFERENCES transcripts(recording_id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  start_ms BIGINT NOT NULL,
  end_ms BIGINT NOT NULL,
  text TEXT NOT NULL,
  confidence DOUBLE PRECISION NOT NULL,
  search tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, recorder_search_text(text))) STORED,
  PRIMARY KEY(recording_id, seq));
CREATE INDEX transcript_segments_search ON transcript_segments USING GIN(search);
CREATE TABLE transcript_words(
  recording_id BIGINT NOT NULL,
  segment_seq INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  start_ms BIGINT NOT NULL,
  end_ms BIGINT NOT NULL,
  text TEXT NOT NULL,
  confidence DOUBLE PRECISION NOT NULL,
  PRIMARY KEY(recording_id, segment_seq, seq),
  FOREIGN KEY(recording_id, segment_seq) REFERENCES transcript_segments(recording_id, seq) ON DELETE CASCADE);
)sql",
    // 2: the chunks of uploads in a shared spool (IngestIndex::AddUploadChunk).
    R"sql(
CREATE TABLE upload_chunks(
  upload_id TEXT NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
  chunk_offset BIGINT NOT NULL,
  end_offset BIGINT NOT NULL,
  object TEXT NOT NULL,
  PRIMARY KEY(upload_id, chunk_offset));
)sql",
    // 3: when the candidate ended a session and when it completed (IngestIndex::CompleteSession).
    // Sessions whose link had expired before are completed as they are: nobody waits for their
    // session.completed, and a first sweep must not send one for every old session.
    R"sql(
ALTER TABLE sessions ADD COLUMN ended_at BIGINT;
ALTER TABLE sessions ADD COLUMN completed_at BIGINT;
UPDATE sessions SET completed_at = token_expires_at WHERE token_expires_at <= extract(epoch FROM now())::BIGINT;
CREATE INDEX sessions_open ON sessions(token_expires_at) WHERE completed_at IS NULL;
)sql",
    // 4: webhook endpoints registered through the API (WebhookIndex); events: space-separated.
    R"sql(
CREATE TABLE webhooks(
  id TEXT PRIMARY KEY,
  seq BIGINT GENERATED ALWAYS AS IDENTITY,
  url TEXT NOT NULL,
  secret TEXT NOT NULL,
  events TEXT NOT NULL,
  created_at BIGINT NOT NULL);
)sql",
};
static_assert(std::size(kMigrations) == PostgresIndex::kLatestSchemaVersion);

// Held for the migration's transaction: servers starting together migrate one at a time.
constexpr int64_t kMigrationLock = 0x7265636f7264;  // "record"

}  // namespace

Result<int> PostgresIndex::Impl::Version(pg::Conn& c) {
  auto rows = c.Exec("SELECT version FROM schema_version");
  if (!rows.ok()) return rows.status();
  return rows->empty() ? 0 : static_cast<int>(rows->Int(0, 0));
}

Status PostgresIndex::Impl::Migrate(pg::Conn& c, int target) {
  return c.Transaction([&]() -> Status {
    RETURN_IF_ERROR(c.Exec("SELECT pg_advisory_xact_lock($1)", {kMigrationLock}).status());
    RETURN_IF_ERROR(c.ExecScript("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)"));
    auto current = Version(c);
    if (!current.ok()) return current.status();
    if (*current > kLatestSchemaVersion) {
      return FailedPrecondition("database schema version " + std::to_string(*current) + " is newer than this server (" +
                                std::to_string(kLatestSchemaVersion) + ")");
    }
    for (int v = *current + 1; v <= target; ++v) RETURN_IF_ERROR(c.ExecScript(kMigrations[v - 1]));
    if (target <= *current) return Status::Ok();
    RETURN_IF_ERROR(c.Exec("DELETE FROM schema_version").status());
    return c.Exec("INSERT INTO schema_version(version) VALUES ($1)", {target}).status();
  });
}

}  // namespace recorder::server
