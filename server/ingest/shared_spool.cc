#include "ingest/shared_spool.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <iterator>
#include <memory>
#include <vector>

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

namespace {

// The chunks of an upload as one reader, each read served by the object holding it.
class ChunksReader : public RandomAccessReader {
 public:
  ChunksReader(MediaStore* objects, std::vector<UploadChunk> chunks)
      : objects_(objects), chunks_(std::move(chunks)), size_(chunks_.empty() ? 0 : chunks_.back().end) {}
  uint64_t size() const override { return size_; }

  Status ReadAt(uint64_t offset, void* out, size_t n) override {
    if (offset > size_ || n > size_ - offset) return IoError("read past the recorded chunks");
    auto* to = static_cast<uint8_t*>(out);
    while (n > 0) {
      // The chunk holding `offset`: the last one starting at or before it.
      auto it = std::upper_bound(chunks_.begin(), chunks_.end(), offset,
                                 [](uint64_t at, const UploadChunk& c) { return at < c.offset; });
      if (it == chunks_.begin() || offset >= std::prev(it)->end) return Corrupt("the recorded chunks have a gap");
      const UploadChunk& chunk = *std::prev(it);
      if (open_name_ != chunk.object) {
        auto object = objects_->Open(chunk.object);
        if (!object.ok()) return object.status();
        open_ = std::move(*object);
        open_name_ = chunk.object;
      }
      const size_t take = static_cast<size_t>(std::min<uint64_t>(n, chunk.end - offset));
      RETURN_IF_ERROR(open_->ReadAt(offset - chunk.offset, to, take));
      to += take;
      offset += take;
      n -= take;
    }
    return Status::Ok();
  }

 private:
  MediaStore* objects_;
  const std::vector<UploadChunk> chunks_;  // in order, each starting where the one before ends
  const uint64_t size_;
  std::unique_ptr<RandomAccessReader> open_;
  std::string open_name_;
};

}  // namespace

Result<std::unique_ptr<RandomAccessReader>> SharedSpool::OpenLiveReader(const std::string& key) {
  auto chunks = index_->UploadChunks(key);
  if (!chunks.ok()) return chunks.status();
  return std::unique_ptr<RandomAccessReader>(new ChunksReader(objects_, std::move(*chunks)));
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
