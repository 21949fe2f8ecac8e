#include "index/sqlite/connection.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace recorder::server::sqlite {

Status SqlError(sqlite3* db, const std::string& what) {
  int code = sqlite3_extended_errcode(db);
  std::string msg = what + ": " + sqlite3_errmsg(db);
  if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY) return AlreadyExists(msg);
  if (code == SQLITE_FULL) return ResourceExhausted(msg);
  return Internal(msg);
}

Status CreateOwnerOnly(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("cannot open database " + path + ": " + std::strerror(errno));
  const bool ok = ::fchmod(fd, 0600) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) return IoError("cannot make database " + path + " private: " + std::strerror(err));
  // Left by an older version with the database's old mode; SQLite reuses them as they are.
  for (const char* suffix : {"-wal", "-shm"}) {
    if (::chmod((path + suffix).c_str(), 0600) != 0 && errno != ENOENT) {
      return IoError("cannot make " + path + suffix + " private: " + std::strerror(errno));
    }
  }
  return Status::Ok();
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
