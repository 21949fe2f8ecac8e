// The operating system's files, behind one seam: the spool and the file media store do all their
// file I/O through a FileSystem, so a test can put a FaultInjectionFileSystem in between that
// remembers which bytes reached fdatasync, drops the rest on a simulated power cut and fails writes
// or syncs on demand (after leveldb's FaultInjectionTestEnv). Paths are absolute; callers prove
// them inside the data folder first (paths.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/io.h"
#include "common/status.h"

namespace recorder::server {

namespace fs = std::filesystem;

// An open file that one writer appends to. Not thread-safe.
class AppendFile {
 public:
  virtual ~AppendFile() = default;
  // Writes all of `bytes` at `offset`. IoError, or ResourceExhausted for a full disk.
  virtual Status WriteAt(uint64_t offset, std::string_view bytes) = 0;
  // Makes the written bytes durable (fdatasync).
  virtual Status Sync() = 0;
  virtual Status Truncate(uint64_t size) = 0;
  virtual Result<uint64_t> Size() = 0;
  // A hint: nothing reads [offset, offset + length) soon (posix_fadvise DONTNEED).
  virtual void DropCache(uint64_t offset, uint64_t length) = 0;
};

struct ListedFile {
  fs::path path;
  uint64_t size = 0;
  int64_t modified_at = 0;  // Unix seconds
};

// Thread-safe.
class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Creates an empty file (and its folders); AlreadyExists when the name is taken. The new name
  // (and a new folder) is durable when this returns.
  virtual Status CreateExclusive(const fs::path& path) = 0;
  virtual Result<std::unique_ptr<AppendFile>> OpenAppend(const fs::path& path) = 0;          // NotFound
  virtual Result<std::unique_ptr<RandomAccessReader>> OpenReader(const fs::path& path) = 0;  // NotFound
  // Creates or truncates a file written through a buffer (owner-only permissions).
  virtual Result<std::unique_ptr<FileWriter>> CreateWriter(const fs::path& path) = 0;
  virtual Result<uint64_t> FileSize(const fs::path& path) = 0;  // NotFound
  // Makes a whole file durable (fsync).
  virtual Status SyncFile(const fs::path& path) = 0;
  // Atomically replaces `to` with `from` (creating `to`'s folders), durable when this returns.
  virtual Status Rename(const fs::path& from, const fs::path& to) = 0;
  // Ok when the file is gone (also when it never existed); then removes its folder if that is
  // left empty and is not `keep_folder`.
  virtual Status Remove(const fs::path& path, const fs::path& keep_folder) = 0;
  // Regular files under `folder`, recursively; an absent folder has none.
  virtual Result<std::vector<ListedFile>> ListFiles(const fs::path& folder) = 0;
};

// The real one.
class PosixFileSystem : public FileSystem {
 public:
  Status CreateExclusive(const fs::path& path) override;
  Result<std::unique_ptr<AppendFile>> OpenAppend(const fs::path& path) override;
  Result<std::unique_ptr<RandomAccessReader>> OpenReader(const fs::path& path) override;
  Result<std::unique_ptr<FileWriter>> CreateWriter(const fs::path& path) override;
  Result<uint64_t> FileSize(const fs::path& path) override;
  Status SyncFile(const fs::path& path) override;
  Status Rename(const fs::path& from, const fs::path& to) override;
  Status Remove(const fs::path& path, const fs::path& keep_folder) override;
  Result<std::vector<ListedFile>> ListFiles(const fs::path& folder) override;
};

}  // namespace recorder::server
