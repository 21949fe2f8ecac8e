// The bytes of recordings, as files under the data folder. Knows nothing of HTTP or the index.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "common/status.h"

namespace recorder::server {

// Paths are relative to the store's root ("Jane_Doe/interview_video_20260101_120000.webm.part").
// Every method is thread-safe; callers serialize writes to one file (see UploadLocks).
class UploadStore {
 public:
  virtual ~UploadStore() = default;

  // Creates an empty file (and its folder); AlreadyExists when the name is taken.
  virtual Status CreateExclusive(const std::string& rel) = 0;
  // Writes `bytes` at `offset` and makes them durable (fdatasync) before returning Ok.
  // REQUIRES: offset == current size. On failure the file is cut back to `offset`.
  virtual Status Append(const std::string& rel, uint64_t offset, std::string_view bytes) = 0;
  virtual Result<uint64_t> Size(const std::string& rel) = 0;
  virtual bool Exists(const std::string& rel) = 0;
  // Makes the file's content durable (fsync).
  virtual Status Sync(const std::string& rel) = 0;
  // Atomically replaces `to` with `from`, then syncs the folder so the rename survives a crash.
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  // Ok when the file is gone (also when it never existed).
  virtual Status Remove(const std::string& rel) = 0;
  // Removes a folder that holds nothing; Ok (and the folder kept) when it is not empty or gone.
  virtual Status RemoveFolderIfEmpty(const std::string& rel) = 0;
  // The absolute path, for tools that need a real file (the WebM finalizer).
  virtual Result<std::string> AbsolutePath(const std::string& rel) = 0;
};

// Files on the local file system. Every path is proven inside root (names.h ResolveInside).
class FileUploadStore : public UploadStore {
 public:
  // REQUIRES: root exists.
  explicit FileUploadStore(const std::filesystem::path& root);

  Status CreateExclusive(const std::string& rel) override;
  Status Append(const std::string& rel, uint64_t offset, std::string_view bytes) override;
  Result<uint64_t> Size(const std::string& rel) override;
  bool Exists(const std::string& rel) override;
  Status Sync(const std::string& rel) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status Remove(const std::string& rel) override;
  Status RemoveFolderIfEmpty(const std::string& rel) override;
  Result<std::string> AbsolutePath(const std::string& rel) override;

 private:
  std::filesystem::path root_;  // canonical
};

// The fake: files in memory. `synced` is what would survive a power cut; DropUnsynced() simulates one.
class MemoryUploadStore : public UploadStore {
 public:
  Status CreateExclusive(const std::string& rel) override;
  Status Append(const std::string& rel, uint64_t offset, std::string_view bytes) override;
  Result<uint64_t> Size(const std::string& rel) override;
  bool Exists(const std::string& rel) override;
  Status Sync(const std::string& rel) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status Remove(const std::string& rel) override;
  Status RemoveFolderIfEmpty(const std::string& rel) override;
  Result<std::string> AbsolutePath(const std::string& rel) override;

  void DropUnsynced();
  std::string Contents(const std::string& rel);

 private:
  struct File {
    std::string data;
    size_t synced = 0;
  };
  std::mutex mu_;
  std::map<std::string, File> files_;
};

}  // namespace recorder::server
