#include "storage/media_store.h"

#include "storage/paths.h"

namespace recorder::server {

FileMediaStore::FileMediaStore(const fs::path& root, FileSystem* fs) : root_(fs::canonical(root)), fs_(fs) {}

Status FileMediaStore::Put(const std::string& key, ScratchFile& file) {
  auto path = ResolveInside(root_, key);
  if (!path.ok()) return path.status();
  RETURN_IF_ERROR(file.Sync());
  // The scratch file sits beside its key in the data folder: a rename, no copy.
  return fs_->Rename(file.local_path(), *path);
}

Status FileMediaStore::PutBytes(const std::string& key, std::string_view bytes) {
  auto path = ResolveInside(root_, key);
  if (!path.ok()) return path.status();
  // Written beside its name and renamed over it: a reader never sees half an object.
  fs::path partial = *path;
  partial += ".putting";
  auto writer = fs_->CreateWriter(partial);
  if (!writer.ok()) return writer.status();
  Status written = (*writer)->Write(bytes.data(), bytes.size());
  if (written.ok()) written = (*writer)->Sync();
  writer->reset();
  if (written.ok()) written = fs_->Rename(partial, *path);
  if (!written.ok()) (void)fs_->Remove(partial, root_);
  return written;
}

Result<std::unique_ptr<RandomAccessReader>> FileMediaStore::Open(const std::string& key) {
  auto path = ResolveInside(root_, key);
  if (!path.ok()) return path.status();
  return fs_->OpenReader(*path);
}

Result<uint64_t> FileMediaStore::Size(const std::string& key) {
  auto path = ResolveInside(root_, key);
  if (!path.ok()) return path.status();
  return fs_->FileSize(*path);
}

Status FileMediaStore::Delete(const std::string& key) {
  auto path = ResolveInside(root_, key);
  if (!path.ok()) return path.status();
  return fs_->Remove(*path, root_);
}

Result<std::vector<MediaObject>> FileMediaStore::List(const std::string& prefix) {
  auto files = fs_->ListFiles(root_);
  if (!files.ok()) return files.status();
  std::vector<MediaObject> objects;
  for (const ListedFile& file : *files) {
    std::string key = fs::relative(file.path, root_).generic_string();
    // Media keys are "<folder>/<name>"; the server's own files (DATA/api-key, DATA/.recorder/)
    // and the spool's (".part", ".finalizing") are not media.
    if (key.find('/') == std::string::npos || key[0] == '.') continue;
    if (FileUploadStore::IsSpoolFile(key)) continue;
    if (key.compare(0, prefix.size(), prefix) != 0) continue;
    objects.push_back({key, file.size, file.modified_at});
  }
  return objects;
}

}  // namespace recorder::server
