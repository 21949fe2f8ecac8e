// The spool of several servers behind a load balancer, sharing an object store and the index: any
// server may take an upload's next PATCH, and any may finalize it, so no acknowledged byte lives
// on one machine. Each PATCH's bytes become one object, ".spool/<key>/<offset>-<random>", which the
// index records (IngestIndex::AddUploadChunk) in the same transaction that moves the upload's
// offset, and only then is the PATCH acknowledged. Two servers racing for one offset both store
// an object; the index takes one, and the other is discarded (the random part keeps them apart).
// An object whose record never came (a server died between the two) is not the upload's: reads
// follow the index, and Remove lists the prefix, so it goes with the upload.
//
// Finalize reads a local copy: OpenReader assembles the recorded chunks, in order and checked
// end to end, into a local spool file; scratch files are local too (FileUploadStore under
// `local_root`).
#pragma once

#include <string>
#include <string_view>

#include "index/ingest_index.h"
#include "storage/media_store.h"
#include "storage/upload_store.h"

namespace recorder::server {

// Thread-safe.
class SharedSpool : public UploadStore {
 public:
  // Chunks go to `objects` (S3), their records to `index`. All three outlive the spool.
  // REQUIRES: local_root exists.
  SharedSpool(MediaStore* objects, IngestIndex* index, const fs::path& local_root, FileSystem* fs);

  // The index's unique media key reserves a name; there is nothing to create until bytes come.
  Status Create(const std::string& key) override;
  // Not used: bytes arrive through PutChunk.
  Status Append(const std::string& key, uint64_t offset, std::string_view bytes) override;
  // The end of the recorded chunks.
  Result<uint64_t> Size(const std::string& key) override;
  // Ok: a chunk the index did not record is never read, and goes with the upload.
  Status Truncate(const std::string& key, uint64_t size) override;
  Status Sync(const std::string& key) override;  // Ok: a chunk is durable when PutChunk returns
  // A local copy of the recorded chunks; Corrupt when they do not follow each other from 0.
  Result<std::unique_ptr<RandomAccessReader>> OpenReader(const std::string& key) override;
  // The recorded chunks read where they are (the objects), one open object at a time.
  Result<std::unique_ptr<RandomAccessReader>> OpenLiveReader(const std::string& key) override;
  Result<std::unique_ptr<ScratchFile>> CreateScratch(const std::string& key) override;
  // The local files, then every object under the key's prefix.
  Status Remove(const std::string& key) override;

  bool shared() const override { return true; }
  Result<std::string> PutChunk(const std::string& key, uint64_t offset, std::string_view bytes) override;
  Status DiscardChunk(const std::string& chunk) override;

  // Where the chunks of `key` are kept ("" for every key).
  static std::string ChunkPrefix(const std::string& key);

 private:
  MediaStore* objects_;
  IngestIndex* index_;
  FileUploadStore local_;
};

}  // namespace recorder::server
