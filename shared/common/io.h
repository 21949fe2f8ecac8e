// Byte sources and sinks that cross module edges: the WebM finalizer reads a live recording and
// writes a seekable one through these, so the server's storage decides where the bytes live (a
// spool file, an object store) and the finalizer never sees a path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace recorder {

// Reads by absolute offset from bytes whose size does not change while they are read (a file
// that is no longer written, an object). Not thread-safe: one reader per job.
class RandomAccessReader {
 public:
  virtual ~RandomAccessReader() = default;
  virtual uint64_t size() const = 0;
  // Copies exactly [offset, offset + n) into `out`. IoError when the range is not wholly inside
  // size() or the read fails.
  virtual Status ReadAt(uint64_t offset, void* out, size_t n) = 0;
};

// Where a muxer writes: sequential writes at the position, with seeks back to fill in sizes.
// Not thread-safe.
class SeekableWriter {
 public:
  virtual ~SeekableWriter() = default;
  // IoError, or ResourceExhausted when the disk or a quota is full.
  virtual Status Write(const void* data, size_t n) = 0;
  virtual uint64_t Position() const = 0;
  // REQUIRES: position <= the largest position written so far.
  virtual Status Seek(uint64_t position) = 0;
};

// In-memory versions, for tests and fuzzers.
class MemoryReader : public RandomAccessReader {
 public:
  // REQUIRES: `bytes` outlives the reader.
  explicit MemoryReader(std::string_view bytes) : bytes_(bytes) {}
  uint64_t size() const override { return bytes_.size(); }
  Status ReadAt(uint64_t offset, void* out, size_t n) override;

 private:
  std::string_view bytes_;
};

class MemoryWriter : public SeekableWriter {
 public:
  Status Write(const void* data, size_t n) override;
  uint64_t Position() const override { return position_; }
  Status Seek(uint64_t position) override;
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
  uint64_t position_ = 0;
};

// A regular file read with pread. NotFound when `path` does not exist, IoError otherwise.
Result<std::unique_ptr<RandomAccessReader>> OpenFileReader(const std::string& path);
// The same for a file that is still being appended to: size() is the file's size at each call.
// The open descriptor keeps reading the file after it is renamed or unlinked.
Result<std::unique_ptr<RandomAccessReader>> OpenGrowingFileReader(const std::string& path);

// A file written through a buffer (a muxer writes element by element, a few bytes at a time).
// Each megabyte written out starts going to the disk at once (sync_file_range), so that Sync waits
// for the tail only.
class FileWriter : public SeekableWriter {
 public:
  // Creates or truncates `path` with owner-only permissions.
  static Result<std::unique_ptr<FileWriter>> Create(const std::string& path);
  ~FileWriter() override;

  Status Write(const void* data, size_t n) override;
  uint64_t Position() const override { return position_; }
  Status Seek(uint64_t position) override;
  // Writes the buffer out and makes the file's content durable (fdatasync). The first error of
  // any earlier call is returned again: a failed write is never reported as a durable file.
  Status Sync();
  // The largest position written so far: the file's size once synced.
  uint64_t size() const { return size_; }

 private:
  FileWriter(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  Status Flush();
  Status Fail(const char* op, int err);

  int fd_;
  std::string path_;
  std::string buffer_;  // bytes for [buffer_start_, buffer_start_ + buffer_.size())
  uint64_t buffer_start_ = 0;
  uint64_t position_ = 0;
  uint64_t size_ = 0;
  Status error_;  // sticky
};

}  // namespace recorder
