// What the SqliteIndex files share: the connection under its mutex, transactions, and the row
// readers and writers more than one role needs. Internal to index/sqlite.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "index/sqlite/connection.h"
#include "index/sqlite/sqlite_index.h"

namespace recorder::server {

struct SqliteIndex::Impl {
  std::mutex mu;  // one connection, used by one thread at a time
  sqlite::Connection db;
  std::unique_ptr<sqlite::Checkpointer> checkpointer;  // after db: stopped before db closes

  Status Exec(const char* sql);
  // Runs `body` in one write transaction. REQUIRES: mu held.
  Status Transaction(const std::function<Status()>& body);
  // Rows changed by the last statement.
  int Changes() { return sqlite3_changes(db.get()); }
  int64_t LastInsertId() { return sqlite3_last_insert_rowid(db.get()); }

  Result<int> Version();
  // Migrates to `target` (sqlite_schema.cc). FailedPrecondition when the file is newer.
  Status Migrate(int target);
};

namespace sqlite {

// "SELECT <upload columns> FROM uploads u JOIN recordings r ... " read by ReadUpload.
extern const char* const kSelectUpload;
Upload ReadUpload(Stmt& s);
// "SELECT <recording columns> FROM recordings " read by ReadRecording.
extern const char* const kSelectRecording;
Recording ReadRecording(Stmt& s);
// A session's questions in order.
Result<std::vector<Question>> ReadQuestions(Connection& db, const std::string& session_id);

// Enqueues each job (a taken dedupe key is skipped). REQUIRES: in a transaction.
Status InsertJobs(Connection& db, const std::vector<NewJob>& jobs, int64_t now);
// The failed job of `kind` is pending, due now, with no attempts. NotFound; FailedPrecondition when
// it is not failed.
Status ReviveFailedJob(Connection& db, int64_t job_id, const std::string& kind, int64_t now);
Status InsertAudit(Connection& db, const AuditEntry& entry);

}  // namespace sqlite
}  // namespace recorder::server
