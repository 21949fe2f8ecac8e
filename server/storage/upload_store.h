// The spool: bytes of recordings still being uploaded, durable before they are acknowledged, and
// the scratch files that finalize writes. Keyed by the recording's media key; where the bytes live
// is this module's business (FileUploadStore: "<data>/<key>.part", scratch "<data>/<key>.finalizing",
// so a finished file is renamed into the file media store without a copy).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "common/io.h"
#include "common/status.h"
#include "storage/file_system.h"

namespace recorder::server {

// A local file that finalize writes and a MediaStore then takes (MediaStore::Put). Its file stays
// until a store takes it, Discard() removes it, or UploadStore::Remove() removes the recording's
// files (as after a crash). Not thread-safe.
class ScratchFile : public SeekableWriter {
 public:
  ScratchFile(FileSystem* fs, std::unique_ptr<FileWriter> writer, fs::path path)
      : fs_(fs), writer_(std::move(writer)), path_(std::move(path)) {}

  Status Write(const void* data, size_t n) override { return writer_->Write(data, n); }
  uint64_t Position() const override { return writer_->Position(); }
  Status Seek(uint64_t position) override { return writer_->Seek(position); }
  // Writes out and makes the content durable.
  Status Sync() { return writer_->Sync(); }
  uint64_t size() const { return writer_->size(); }
  Result<std::unique_ptr<RandomAccessReader>> OpenReader() { return fs_->OpenReader(path_); }
  // Removes the file (a failed finalize).
  Status Discard();
  // For MediaStore implementations only: where the synced file is.
  const fs::path& local_path() const { return path_; }

 private:
  FileSystem* fs_;
  std::unique_ptr<FileWriter> writer_;
  fs::path path_;
};

// Thread-safe; callers serialize writes to one upload (see UploadLocks).
class UploadStore {
 public:
  virtual ~UploadStore() = default;

  // Creates the empty spool file of `key`; AlreadyExists when taken.
  virtual Status Create(const std::string& key) = 0;
  // Writes `bytes` at `offset` and makes them durable (fdatasync) before returning Ok. On failure
  // the file is cut back to `offset`, so it never holds bytes that were not acknowledged (and
  // should that cut fail, the next Append at `offset` makes it first).
  // REQUIRES: offset <= current size, and the bytes before it acknowledged.
  virtual Status Append(const std::string& key, uint64_t offset, std::string_view bytes) = 0;
  virtual Result<uint64_t> Size(const std::string& key) = 0;  // NotFound
  // Cuts the spool file back to `size` bytes, durably.
  virtual Status Truncate(const std::string& key, uint64_t size) = 0;
  // Makes the whole spool file durable (fsync).
  virtual Status Sync(const std::string& key) = 0;
  virtual Result<std::unique_ptr<RandomAccessReader>> OpenReader(const std::string& key) = 0;  // NotFound
  // A reader over the bytes stored so far, made without copying them: a live view reads a
  // recording while it grows, reopening as it does. Its size may run ahead of the acknowledged
  // offset (a PATCH being written): callers read no further than the index's offset.
  virtual Result<std::unique_ptr<RandomAccessReader>> OpenLiveReader(const std::string& key) { return OpenReader(key); }
  // A fresh scratch file for finalizing `key` (an earlier one is replaced).
  virtual Result<std::unique_ptr<ScratchFile>> CreateScratch(const std::string& key) = 0;
  // Removes the spool and scratch files of `key` (Ok when there are none).
  virtual Status Remove(const std::string& key) = 0;

  // A spool that several servers share (SharedSpool: chunks as objects) answers true. Then a
  // PATCH's bytes go to PutChunk, not Append, and the caller records the returned chunk name with
  // IngestIndex::AddUploadChunk before acknowledging them; the index's chunks are the upload's
  // bytes, and Size and OpenReader follow them. A chunk the index refused is DiscardChunk'ed.
  virtual bool shared() const { return false; }
  virtual Result<std::string> PutChunk(const std::string& key, uint64_t offset, std::string_view bytes);
  virtual Status DiscardChunk(const std::string& chunk);
};

// Files under the data folder. Every path is proven inside it (paths.h).
class FileUploadStore : public UploadStore {
 public:
  // REQUIRES: root exists. `fs` outlives the store.
  FileUploadStore(const fs::path& root, FileSystem* fs);

  Status Create(const std::string& key) override;
  Status Append(const std::string& key, uint64_t offset, std::string_view bytes) override;
  Result<uint64_t> Size(const std::string& key) override;
  Status Truncate(const std::string& key, uint64_t size) override;
  Status Sync(const std::string& key) override;
  Result<std::unique_ptr<RandomAccessReader>> OpenReader(const std::string& key) override;
  // The spool file as it grows, still readable after finalize moved it (common/io.h
  // OpenGrowingFileReader; not through `fs`: no fault is injected into viewing).
  Result<std::unique_ptr<RandomAccessReader>> OpenLiveReader(const std::string& key) override;
  Result<std::unique_ptr<ScratchFile>> CreateScratch(const std::string& key) override;
  Status Remove(const std::string& key) override;

  // True for the spool's and scratch files' names, which share the data folder with media.
  static bool IsSpoolFile(std::string_view name);

 private:
  Result<fs::path> SpoolPath(const std::string& key) const;
  Result<fs::path> ScratchPath(const std::string& key) const;

  fs::path root_;  // canonical
  FileSystem* fs_;
};

}  // namespace recorder::server
