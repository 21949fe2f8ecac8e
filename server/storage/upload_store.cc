#include "storage/upload_store.h"

#include <spdlog/spdlog.h>

#include "storage/paths.h"

namespace recorder::server {
namespace {

constexpr std::string_view kSpoolSuffix = ".part";
constexpr std::string_view kScratchSuffix = ".finalizing";

}  // namespace

bool FileUploadStore::IsSpoolFile(std::string_view name) {
  return name.ends_with(kSpoolSuffix) || name.ends_with(kScratchSuffix);
}

Result<std::string> UploadStore::PutChunk(const std::string&, uint64_t, std::string_view) {
  return FailedPrecondition("this spool is not shared: bytes are appended, not put as chunks");
}

Status UploadStore::DiscardChunk(const std::string&) {
  return FailedPrecondition("this spool is not shared: it has no chunks");
}

Status ScratchFile::Discard() {
  writer_.reset();
  return fs_->Remove(path_, path_.parent_path());
}

FileUploadStore::FileUploadStore(const fs::path& root, FileSystem* fs) : root_(fs::canonical(root)), fs_(fs) {}

Result<fs::path> FileUploadStore::SpoolPath(const std::string& key) const {
  return ResolveInside(root_, key + std::string(kSpoolSuffix));
}

Result<fs::path> FileUploadStore::ScratchPath(const std::string& key) const {
  return ResolveInside(root_, key + std::string(kScratchSuffix));
}

Status FileUploadStore::Create(const std::string& key) {
  auto path = SpoolPath(key);
  if (!path.ok()) return path.status();
  return fs_->CreateExclusive(*path);
}

Status FileUploadStore::Append(const std::string& key, uint64_t offset, std::string_view bytes) {
  auto path = SpoolPath(key);
  if (!path.ok()) return path.status();
  auto file = fs_->OpenAppend(*path);
  if (!file.ok()) return file.status();
  // Bytes past `offset` were never acknowledged (a failed append whose cut-back failed too): cut
  // them first, or a shorter retry would leave some of them behind its end.
  auto size = (*file)->Size();
  if (!size.ok()) return size.status();
  if (*size > offset) RETURN_IF_ERROR((*file)->Truncate(offset));
  Status written = (*file)->WriteAt(offset, bytes);
  if (written.ok()) written = (*file)->Sync();
  if (!written.ok()) {
    // Leave the file at the acknowledged offset so its size on disk stays the truth.
    if (Status cut = (*file)->Truncate(offset); cut.ok()) {
      (void)(*file)->Sync();
    } else {
      spdlog::error("spool: cannot cut a failed append back to {}: {}", offset, cut.ToString());
    }
    return written;
  }
  // The bytes are on disk and nobody reads them before finalize: drop their now clean pages from
  // the page cache. Otherwise a thousand recordings fill memory with cache, and every write copies
  // into never-used pages, which on this VM costs 3x the CPU of reusing pages.
  (*file)->DropCache(offset, bytes.size());
  return Status::Ok();
}

Result<uint64_t> FileUploadStore::Size(const std::string& key) {
  auto path = SpoolPath(key);
  if (!path.ok()) return path.status();
  return fs_->FileSize(*path);
}

Status FileUploadStore::Truncate(const std::string& key, uint64_t size) {
  auto path = SpoolPath(key);
  if (!path.ok()) return path.status();
  auto file = fs_->OpenAppend(*path);
  if (!file.ok()) return file.status();
  RETURN_IF_ERROR((*file)->Truncate(size));
  return (*file)->Sync();
}

Status FileUploadStore::Sync(const std::string& key) {
  auto path = SpoolPath(key);
  if (!path.ok()) return path.status();
  return fs_->SyncFile(*path);
}

Result<std::unique_ptr<RandomAccessReader>> FileUploadStore::OpenReader(const std::string& key) {
  auto path = SpoolPath(key);
  if (!path.ok()) return path.status();
  return fs_->OpenReader(*path);
}

Result<std::unique_ptr<RandomAccessReader>> FileUploadStore::OpenLiveReader(const std::string& key) {
  auto path = SpoolPath(key);
  if (!path.ok()) return path.status();
  return OpenGrowingFileReader(path->string());
}

Result<std::unique_ptr<ScratchFile>> FileUploadStore::CreateScratch(const std::string& key) {
  auto path = ScratchPath(key);
  if (!path.ok()) return path.status();
  auto writer = fs_->CreateWriter(*path);
  if (!writer.ok()) return writer.status();
  return std::make_unique<ScratchFile>(fs_, std::move(writer.value()), *path);
}

Status FileUploadStore::Remove(const std::string& key) {
  for (auto path : {SpoolPath(key), ScratchPath(key)}) {
    if (!path.ok()) return path.status();
    RETURN_IF_ERROR(fs_->Remove(*path, root_));
  }
  return Status::Ok();
}

}  // namespace recorder::server
