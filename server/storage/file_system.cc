#include "storage/file_system.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace recorder::server {
namespace {

Status Errno(const std::string& what, const fs::path& path, int err = errno) {
  std::string msg = what + " " + path.string() + ": " + std::strerror(err);
  return err == ENOSPC || err == EDQUOT || err == EFBIG ? ResourceExhausted(msg) : IoError(msg);
}

// Closes the descriptor on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

Status SyncFolder(const fs::path& folder) {
  Fd dir{::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (dir.fd < 0) return Errno("open folder", folder);
  if (::fsync(dir.fd) != 0) return Errno("fsync folder", folder);
  return Status::Ok();
}

// Creates the missing folders of `folder`, each made durable in its parent.
Status CreateFolders(const fs::path& folder) {
  std::error_code ec;
  if (fs::is_directory(folder, ec)) return Status::Ok();
  RETURN_IF_ERROR(CreateFolders(folder.parent_path()));
  if (::mkdir(folder.c_str(), 0700) != 0 && errno != EEXIST) return Errno("create folder", folder);
  return SyncFolder(folder.parent_path());
}

class PosixAppendFile : public AppendFile {
 public:
  PosixAppendFile(int fd, fs::path path) : fd_(fd), path_(std::move(path)) {}
  ~PosixAppendFile() override { ::close(fd_); }

  Status WriteAt(uint64_t offset, std::string_view bytes) override {
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Errno("write", path_, n == 0 ? EIO : errno);
      done += static_cast<size_t>(n);
    }
    return Status::Ok();
  }
  Status Sync() override { return ::fdatasync(fd_) == 0 ? Status::Ok() : Errno("fdatasync", path_); }
  Status Truncate(uint64_t size) override {
    return ::ftruncate(fd_, static_cast<off_t>(size)) == 0 ? Status::Ok() : Errno("truncate", path_);
  }
  Result<uint64_t> Size() override {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return Errno("stat", path_);
    return static_cast<uint64_t>(st.st_size);
  }
  void DropCache(uint64_t offset, uint64_t length) override {
    (void)::posix_fadvise(fd_, static_cast<off_t>(offset), static_cast<off_t>(length), POSIX_FADV_DONTNEED);
  }

 private:
  int fd_;
  fs::path path_;
};

}  // namespace

Status PosixFileSystem::CreateExclusive(const fs::path& path) {
  for (int attempt = 0;; ++attempt) {
    RETURN_IF_ERROR(CreateFolders(path.parent_path()));
    Fd file{::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)};
    if (file.fd >= 0) break;
    if (errno == EEXIST) return AlreadyExists(path.filename().string() + " exists");
    // A concurrent Remove() may have taken the folder away between the two calls: once more.
    if (errno != ENOENT || attempt > 0) return Errno("create", path);
  }
  return SyncFolder(path.parent_path());
}

Result<std::unique_ptr<AppendFile>> PosixFileSystem::OpenAppend(const fs::path& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound(path.filename().string() + " does not exist");
    return Errno("open", path);
  }
  return std::unique_ptr<AppendFile>(new PosixAppendFile(fd, path));
}

Result<std::unique_ptr<RandomAccessReader>> PosixFileSystem::OpenReader(const fs::path& path) {
  return OpenFileReader(path.string());
}

Result<std::unique_ptr<FileWriter>> PosixFileSystem::CreateWriter(const fs::path& path) {
  RETURN_IF_ERROR(CreateFolders(path.parent_path()));
  return FileWriter::Create(path.string());
}

Result<uint64_t> PosixFileSystem::FileSize(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return NotFound(path.filename().string() + " does not exist");
    return Errno("stat", path);
  }
  return static_cast<uint64_t>(st.st_size);
}

Status PosixFileSystem::SyncFile(const fs::path& path) {
  Fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) return Errno("open", path);
  if (::fsync(file.fd) != 0) return Errno("fsync", path);
  return Status::Ok();
}

Status PosixFileSystem::Rename(const fs::path& from, const fs::path& to) {
  RETURN_IF_ERROR(CreateFolders(to.parent_path()));
  if (::rename(from.c_str(), to.c_str()) != 0) return Errno("rename to " + to.string() + " from", from);
  RETURN_IF_ERROR(SyncFolder(to.parent_path()));
  return from.parent_path() == to.parent_path() ? Status::Ok() : SyncFolder(from.parent_path());
}

Status PosixFileSystem::Remove(const fs::path& path, const fs::path& keep_folder) {
  if (::unlink(path.c_str()) != 0) {
    // Already gone (its folder too, perhaps): nothing changed, so there is nothing to sync.
    if (errno == ENOENT || errno == ENOTDIR) return Status::Ok();
    return Errno("remove", path);
  }
  fs::path folder = path.parent_path();
  if (folder != keep_folder && ::rmdir(folder.c_str()) == 0) return SyncFolder(folder.parent_path());
  return SyncFolder(folder);
}

Result<std::vector<ListedFile>> PosixFileSystem::ListFiles(const fs::path& folder) {
  std::vector<ListedFile> files;
  std::error_code ec;
  if (!fs::exists(folder, ec)) return files;
  for (auto it = fs::recursive_directory_iterator(folder, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    files.push_back({it->path(), static_cast<uint64_t>(st.st_size), static_cast<int64_t>(st.st_mtime)});
  }
  if (ec) return IoError("cannot list " + folder.string() + ": " + ec.message());
  return files;
}

}  // namespace recorder::server
