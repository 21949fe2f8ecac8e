// The FileSystem fake for durability tests, after leveldb's FaultInjectionTestEnv: real files
// underneath, plus a memory of how many bytes of each appended file reached Sync(). PowerCut()
// truncates every such file to what was synced, as a power cut would; FailNextSyncs() and
// FailNextWrites() make the next calls fail after their bytes reached the file (EIO from
// fdatasync leaves unsynced bytes behind, as the kernel does); FailNextTruncates() makes a cut-back
// fail too.
#pragma once

#include <map>
#include <mutex>

#include "storage/file_system.h"

namespace recorder::server {

class FaultInjectionFileSystem : public FileSystem {
 public:
  explicit FaultInjectionFileSystem(FileSystem* base) : base_(base) {}

  // Every file appended to through OpenAppend() is cut back to its last synced size.
  void PowerCut();
  // The next `n` AppendFile::Sync() calls fail with IoError (the data stays written, unsynced).
  void FailNextSyncs(int n);
  // The next `n` AppendFile::WriteAt() calls write half of their bytes, then fail.
  void FailNextWrites(int n);
  // The next `n` AppendFile::Truncate() calls fail and leave the file as it was.
  void FailNextTruncates(int n);
  // Bytes of `path` known to be durable; 0 for a file never synced.
  uint64_t SyncedSize(const fs::path& path);

  Status CreateExclusive(const fs::path& path) override;
  Result<std::unique_ptr<AppendFile>> OpenAppend(const fs::path& path) override;
  Result<std::unique_ptr<RandomAccessReader>> OpenReader(const fs::path& path) override {
    return base_->OpenReader(path);
  }
  Result<std::unique_ptr<FileWriter>> CreateWriter(const fs::path& path) override { return base_->CreateWriter(path); }
  Result<uint64_t> FileSize(const fs::path& path) override { return base_->FileSize(path); }
  Status SyncFile(const fs::path& path) override;
  Status Rename(const fs::path& from, const fs::path& to) override;
  Status Remove(const fs::path& path, const fs::path& keep_folder) override;
  Result<std::vector<ListedFile>> ListFiles(const fs::path& folder) override { return base_->ListFiles(folder); }

 private:
  class File;
  friend class File;
  // Called by File; each takes mu_.
  bool TakeFailure(int* counter);
  void RecordSync(const fs::path& path, uint64_t size);

  FileSystem* base_;
  std::mutex mu_;
  std::map<fs::path, uint64_t> synced_;  // files appended to: their durable size
  int failing_syncs_ = 0;
  int failing_writes_ = 0;
  int failing_truncates_ = 0;
};

}  // namespace recorder::server
