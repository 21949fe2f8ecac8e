#include "storage/fault_injection_file_system.h"

namespace recorder::server {

class FaultInjectionFileSystem::File : public AppendFile {
 public:
  File(FaultInjectionFileSystem* fs, std::unique_ptr<AppendFile> base, fs::path path)
      : fs_(fs), base_(std::move(base)), path_(std::move(path)) {}

  Status WriteAt(uint64_t offset, std::string_view bytes) override {
    if (fs_->TakeFailure(&fs_->failing_writes_)) {
      RETURN_IF_ERROR(base_->WriteAt(offset, bytes.substr(0, bytes.size() / 2)));
      return IoError("injected write failure on " + path_.filename().string());
    }
    return base_->WriteAt(offset, bytes);
  }
  Status Sync() override {
    if (fs_->TakeFailure(&fs_->failing_syncs_)) return IoError("injected fdatasync failure (EIO)");
    RETURN_IF_ERROR(base_->Sync());
    auto size = base_->Size();
    if (!size.ok()) return size.status();
    fs_->RecordSync(path_, *size);
    return Status::Ok();
  }
  Status Truncate(uint64_t size) override {
    if (fs_->TakeFailure(&fs_->failing_truncates_)) return IoError("injected truncate failure");
    return base_->Truncate(size);
  }
  Result<uint64_t> Size() override { return base_->Size(); }
  void DropCache(uint64_t offset, uint64_t length) override { base_->DropCache(offset, length); }

 private:
  FaultInjectionFileSystem* fs_;
  std::unique_ptr<AppendFile> base_;
  fs::path path_;
};

bool FaultInjectionFileSystem::TakeFailure(int* counter) {
  std::lock_guard lock(mu_);
  if (*counter == 0) return false;
  --*counter;
  return true;
}

void FaultInjectionFileSystem::RecordSync(const fs::path& path, uint64_t size) {
  std::lock_guard lock(mu_);
  synced_[path] = size;
}

void FaultInjectionFileSystem::FailNextSyncs(int n) {
  std::lock_guard lock(mu_);
  failing_syncs_ = n;
}

void FaultInjectionFileSystem::FailNextWrites(int n) {
  std::lock_guard lock(mu_);
  failing_writes_ = n;
}

void FaultInjectionFileSystem::FailNextTruncates(int n) {
  std::lock_guard lock(mu_);
  failing_truncates_ = n;
}

uint64_t FaultInjectionFileSystem::SyncedSize(const fs::path& path) {
  std::lock_guard lock(mu_);
  auto it = synced_.find(path);
  return it == synced_.end() ? 0 : it->second;
}

void FaultInjectionFileSystem::PowerCut() {
  std::lock_guard lock(mu_);
  for (const auto& [path, size] : synced_) {
    std::error_code ec;
    if (fs::exists(path, ec)) fs::resize_file(path, size, ec);
  }
}

Status FaultInjectionFileSystem::CreateExclusive(const fs::path& path) {
  RETURN_IF_ERROR(base_->CreateExclusive(path));
  RecordSync(path, 0);
  return Status::Ok();
}

Result<std::unique_ptr<AppendFile>> FaultInjectionFileSystem::OpenAppend(const fs::path& path) {
  auto base = base_->OpenAppend(path);
  if (!base.ok()) return base.status();
  return std::unique_ptr<AppendFile>(new File(this, std::move(base.value()), path));
}

Status FaultInjectionFileSystem::SyncFile(const fs::path& path) {
  RETURN_IF_ERROR(base_->SyncFile(path));
  auto size = base_->FileSize(path);
  if (size.ok()) RecordSync(path, *size);
  return Status::Ok();
}

Status FaultInjectionFileSystem::Rename(const fs::path& from, const fs::path& to) {
  RETURN_IF_ERROR(base_->Rename(from, to));
  std::lock_guard lock(mu_);
  if (auto it = synced_.find(from); it != synced_.end()) {
    synced_[to] = it->second;
    synced_.erase(from);
  }
  return Status::Ok();
}

Status FaultInjectionFileSystem::Remove(const fs::path& path, const fs::path& keep_folder) {
  RETURN_IF_ERROR(base_->Remove(path, keep_folder));
  std::lock_guard lock(mu_);
  synced_.erase(path);
  return Status::Ok();
}

}  // namespace recorder::server
