#include "index/sqlite/connection.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace recorder::server::sqlite {

Status SqlError(sqlite3* db, const std::string& what) {
  int code = sqlite3_extended_errcode(db);
  std::string msg = what + ": " + sqlite3_errmsg(db);
  if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY) return AlreadyExists(msg);
  if (code == SQLITE_FULL) return ResourceExhausted(msg);
  return Internal(msg);
}

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

void Checkpointer::Run() {
  constexpr std::chrono::milliseconds kInterval{250};
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, kInterval, [&] { return stopping_; })) {
    int rc = sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
      spdlog::warn("index: WAL checkpoint failed: {}", sqlite3_errmsg(db_.get()));
    }
  }
}

}  // namespace recorder::server::sqlite
