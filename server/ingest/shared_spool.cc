#include "ingest/shared_spool.h"

#include <spdlog/spdlog.h>

#include <cinttypes>
#include <cstdio>

#include "base/crypto.h"
#include "base/printable.h"

namespace recorder::server {
namespace {

// Candidate folders never start with '.', so no media key falls under it.
constexpr std::string_view kChunkRoot = ".spool/";
constexpr size_t kCopyPiece = size_t{1} << 20;

}  // namespace

SharedSpool::SharedSpool(MediaStore* objects, IngestIndex* index, const fs::path& local_root, FileSystem* fs)
    : objects_(objects), index_(index), local_(local_root, fs) {}

std::string SharedSpool::ChunkPrefix(const std::string& key) {
  return std::string(kChunkRoot) + (key.empty() ? "" : key + "/");
}

Status SharedSpool::Create(const std::string&) { return Status::Ok(); }

Status SharedSpool::Append(const std::string&, uint64_t, std::string_view) {
  return FailedPrecondition("a shared spool takes bytes as chunks (PutChunk)");
}

Result<std::string> SharedSpool::PutChunk(const std::string& key, uint64_t offset, std::string_view bytes) {
  // The offset, zero-padded, sorts a listing in upload order; the random part tells apart the
  // objects of two servers that took the same offset.
  char name[48];
  std::snprintf(name, sizeof name, "%020" PRIu64 "-", offset);
  std::string chunk = ChunkPrefix(key) + name + RandomHex(8);
  RETURN_IF_ERROR(objects_->PutBytes(chunk, bytes));
  return chunk;
}

Status SharedSpool::DiscardChunk(const std::string& chunk) { return objects_->Delete(chunk); }

Result<uint64_t> SharedSpool::Size(const std::string& key) {
  auto chunks = index_->UploadChunks(key);
  if (!chunks.ok()) return chunks.status();
  return chunks->empty() ? 0 : chunks->back().end;
}

Status SharedSpool::Truncate(const std::string&, uint64_t) { return Status::Ok(); }

Status SharedSpool::Sync(const std::string&) { return Status::Ok(); }

Result<std::unique_ptr<RandomAccessReader>> SharedSpool::OpenReader(const std::string& key) {
  auto chunks = index_->UploadChunks(key);
  if (!chunks.ok()) return chunks.status();
  // A copy left by an earlier attempt may be short or stale: start over.
  RETURN_IF_ERROR(local_.Remove(key));
  RETURN_IF_ERROR(local_.Create(key));
  uint64_t position = 0;
  std::string piece;
  for (const UploadChunk& chunk : *chunks) {
    if (chunk.offset != position || chunk.end < chunk.offset) {
      return Corrupt("the chunks of " + Printable(key) + " do not follow each other: " + std::to_string(position) +
                     " then [" + std::to_string(chunk.offset) + ", " + std::to_string(chunk.end) + ")");
    }
    auto object = objects_->Open(chunk.object);
    if (!object.ok()) return object.status();
    const uint64_t size = chunk.end - chunk.offset;
    if ((*object)->size() != size) {
      return Corrupt("chunk " + Printable(chunk.object) + " holds " + std::to_string((*object)->size()) +
                     " bytes, the index says " + std::to_string(size));
    }
    for (uint64_t done = 0; done < size;) {
      piece.resize(static_cast<size_t>(std::min<uint64_t>(kCopyPiece, size - done)));
      RETURN_IF_ERROR((*object)->ReadAt(done, piece.data(), piece.size()));
      RETURN_IF_ERROR(local_.Append(key, position, piece));
      done += piece.size();
      position += piece.size();
    }
  }
  return local_.OpenReader(key);
}

Result<std::unique_ptr<ScratchFile>> SharedSpool::CreateScratch(const std::string& key) {
  return local_.CreateScratch(key);
}

Status SharedSpool::Remove(const std::string& key) {
  RETURN_IF_ERROR(local_.Remove(key));
  auto objects = objects_->List(ChunkPrefix(key));
  if (!objects.ok()) return objects.status();
  for (const MediaObject& object : *objects) RETURN_IF_ERROR(objects_->Delete(object.key));
  return Status::Ok();
}

}  // namespace recorder::server
