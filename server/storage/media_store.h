// Finalized recordings (and, later, captions and clips) under their keys. The file store keeps
// them in the data folder ("<data>/Jane_Doe/interview_video_20261122_143022.webm"); an object
// store (S3) is the scale-out alternative. Callers never see where an object lives.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/io.h"
#include "common/status.h"
#include "storage/file_system.h"
#include "storage/upload_store.h"

namespace recorder::server {

struct MediaObject {
  std::string key;
  uint64_t size = 0;
  int64_t modified_at = 0;  // Unix seconds
};

// Thread-safe.
class MediaStore {
 public:
  virtual ~MediaStore() = default;

  // Stores the synced scratch file under `key`, replacing what was there; durable when Ok. The
  // scratch file is consumed (moved or copied and then dropped).
  virtual Status Put(const std::string& key, ScratchFile& file) = 0;
  // Stores `bytes` (a spool chunk, at most a request body) under `key`; durable and verified
  // (the store checked their checksum) when Ok.
  virtual Status PutBytes(const std::string& key, std::string_view bytes) = 0;
  // For ranged reads. NotFound when there is no such object.
  virtual Result<std::unique_ptr<RandomAccessReader>> Open(const std::string& key) = 0;
  virtual Result<uint64_t> Size(const std::string& key) = 0;  // NotFound
  // Ok when the object is gone (also when it never existed).
  virtual Status Delete(const std::string& key) = 0;
  // Objects whose key starts with `prefix` ("" for all).
  virtual Result<std::vector<MediaObject>> List(const std::string& prefix) = 0;
};

// Files under the data folder; the embedded default. Every path is proven inside it (paths.h).
class FileMediaStore : public MediaStore {
 public:
  // REQUIRES: root exists. `fs` outlives the store.
  FileMediaStore(const fs::path& root, FileSystem* fs);

  Status Put(const std::string& key, ScratchFile& file) override;
  Status PutBytes(const std::string& key, std::string_view bytes) override;
  Result<std::unique_ptr<RandomAccessReader>> Open(const std::string& key) override;
  Result<uint64_t> Size(const std::string& key) override;
  Status Delete(const std::string& key) override;
  Result<std::vector<MediaObject>> List(const std::string& prefix) override;

 private:
  fs::path root_;  // canonical
  FileSystem* fs_;
};

}  // namespace recorder::server
