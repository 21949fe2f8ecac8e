#include "common/io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace recorder {
namespace {

constexpr size_t kWriteBuffer = 1 << 20;

Status ErrnoStatus(const std::string& what, int err) {
  std::string m = what + ": " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT || err == EFBIG) return ResourceExhausted(std::move(m));
  return IoError(std::move(m));
}

class FileReader : public RandomAccessReader {
 public:
  // `growing`: size() follows the file (see OpenGrowingFileReader).
  FileReader(int fd, uint64_t size, std::string path, bool growing)
      : fd_(fd), size_(size), path_(std::move(path)), growing_(growing) {}
  ~FileReader() override { ::close(fd_); }
  uint64_t size() const override {
    struct stat st {};
    if (growing_ && ::fstat(fd_, &st) == 0) return static_cast<uint64_t>(st.st_size);
    return size_;
  }
  Status ReadAt(uint64_t offset, void* out, size_t n) override {
    const uint64_t size = this->size();
    if (offset > size || n > size - offset) {
      return IoError("read of " + std::to_string(n) + " bytes at " + std::to_string(offset) + " is past the end of " +
                     path_ + " (" + std::to_string(size) + " bytes)");
    }
    auto* dst = static_cast<char*>(out);
    while (n > 0) {
      ssize_t got = ::pread(fd_, dst, n, static_cast<off_t>(offset));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return ErrnoStatus("cannot read " + path_, errno);
      if (got == 0) return IoError(path_ + " shrank while it was read");
      dst += got;
      n -= static_cast<size_t>(got);
      offset += static_cast<uint64_t>(got);
    }
    return Status::Ok();
  }

 private:
  int fd_;
  uint64_t size_;
  std::string path_;
  bool growing_;
};

bool PwriteAll(int fd, const char* data, size_t n, uint64_t offset) {
  while (n > 0) {
    ssize_t put = ::pwrite(fd, data, n, static_cast<off_t>(offset));
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) return false;
    data += put;
    n -= static_cast<size_t>(put);
    offset += static_cast<uint64_t>(put);
  }
  return true;
}

// A FileWriter's file is made durable at the end (Sync): big pieces start going to the disk as soon
// as they are written, so that the disk works while the rest is produced and Sync waits for the
// tail only. Advisory: an error here shows up in Sync's fdatasync.
void StartWriteback(int fd, uint64_t offset, size_t n) {
#if defined(__linux__) && !defined(__EMSCRIPTEN__)
  if (n >= kWriteBuffer / 2)
    (void)::sync_file_range(fd, static_cast<off_t>(offset), static_cast<off_t>(n), SYNC_FILE_RANGE_WRITE);
#else
  (void)fd, (void)offset, (void)n;
#endif
}

}  // namespace

Status MemoryReader::ReadAt(uint64_t offset, void* out, size_t n) {
  if (offset > bytes_.size() || n > bytes_.size() - offset) {
    return IoError("read of " + std::to_string(n) + " bytes at " + std::to_string(offset) + " is past the end (" +
                   std::to_string(bytes_.size()) + " bytes)");
  }
  std::memcpy(out, bytes_.data() + offset, n);
  return Status::Ok();
}

Status MemoryWriter::Write(const void* data, size_t n) {
  if (position_ + n > bytes_.size()) bytes_.resize(position_ + n);
  std::memcpy(bytes_.data() + position_, data, n);
  position_ += n;
  return Status::Ok();
}

Status MemoryWriter::Seek(uint64_t position) {
  if (position > bytes_.size()) return IoError("seek past the end");
  position_ = position;
  return Status::Ok();
}

namespace {

Result<std::unique_ptr<RandomAccessReader>> OpenReader(const std::string& path, bool growing) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return NotFound("no such file: " + path);
    return ErrnoStatus("cannot open " + path, err);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return IoError("not a regular file: " + path);
  }
  return std::unique_ptr<RandomAccessReader>(new FileReader(fd, static_cast<uint64_t>(st.st_size), path, growing));
}

}  // namespace

Result<std::unique_ptr<RandomAccessReader>> OpenFileReader(const std::string& path) {
  return OpenReader(path, /*growing=*/false);
}

Result<std::unique_ptr<RandomAccessReader>> OpenGrowingFileReader(const std::string& path) {
  return OpenReader(path, /*growing=*/true);
}

Result<std::unique_ptr<FileWriter>> FileWriter::Create(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("cannot create " + path, errno);
  return std::unique_ptr<FileWriter>(new FileWriter(fd, path));
}

FileWriter::~FileWriter() { ::close(fd_); }

Status FileWriter::Fail(const char* op, int err) {
  if (error_.ok()) error_ = ErrnoStatus(std::string(op) + " " + path_, err);
  return error_;
}

Status FileWriter::Flush() {
  if (!error_.ok()) return error_;
  if (!buffer_.empty() && !PwriteAll(fd_, buffer_.data(), buffer_.size(), buffer_start_)) return Fail("write", errno);
  StartWriteback(fd_, buffer_start_, buffer_.size());
  buffer_.clear();
  buffer_start_ = position_;
  return Status::Ok();
}

Status FileWriter::Write(const void* data, size_t n) {
  if (!error_.ok()) return error_;
  // The buffer always ends at the position: a seek flushes it.
  if (buffer_.size() + n > kWriteBuffer) RETURN_IF_ERROR(Flush());
  if (n >= kWriteBuffer) {
    if (!PwriteAll(fd_, static_cast<const char*>(data), n, position_)) return Fail("write", errno);
    StartWriteback(fd_, position_, n);
  } else {
    buffer_.append(static_cast<const char*>(data), n);
  }
  position_ += n;
  size_ = std::max(size_, position_);
  if (buffer_.empty()) buffer_start_ = position_;
  return Status::Ok();
}

Status FileWriter::Seek(uint64_t position) {
  RETURN_IF_ERROR(Flush());
  if (position > size_) return Fail("seek past the end of", EINVAL);
  position_ = position;
  buffer_start_ = position;
  return Status::Ok();
}

Status FileWriter::Sync() {
  RETURN_IF_ERROR(Flush());
  if (::fdatasync(fd_) != 0) return Fail("fdatasync", errno);
  return Status::Ok();
}

}  // namespace recorder
