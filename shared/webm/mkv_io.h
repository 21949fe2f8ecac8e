// libwebm's reader and writer interfaces over ours (common/io.h). Internal to shared/webm.
#pragma once

#include <algorithm>

#include <mkvmuxer/mkvmuxer.h>
#include <mkvparser/mkvparser.h>

#include "common/io.h"

namespace recorder::webm::internal {

class MkvReaderAdapter : public mkvparser::IMkvReader {
 public:
  explicit MkvReaderAdapter(RandomAccessReader& input) : input_(input) {}
  int Read(long long pos, long len, unsigned char* buf) override {
    if (pos < 0 || len < 0) return -1;
    return input_.ReadAt(static_cast<uint64_t>(pos), buf, static_cast<size_t>(len)).ok() ? 0 : -1;
  }
  int Length(long long* total, long long* available) override {
    const auto size = static_cast<long long>(input_.size());
    if (total) *total = size;
    if (available) *available = size;
    return 0;
  }

 private:
  RandomAccessReader& input_;
};

// mkvmuxer only says "failed"; the first error of the writer is kept so the caller can report it
// (ResourceExhausted for a full disk, IoError otherwise).
class MkvWriterAdapter : public mkvmuxer::IMkvWriter {
 public:
  explicit MkvWriterAdapter(SeekableWriter& output) : output_(output) {}
  // Signatures use mkvmuxer's own integer typedefs (long long based), not <cstdint>'s.
  mkvmuxer::int32 Write(const void* buf, mkvmuxer::uint32 len) override {
    mkvmuxer::int32 rc = Keep(output_.Write(buf, len));
    end_ = std::max(end_, output_.Position());
    return rc;
  }
  mkvmuxer::int64 Position() const override { return static_cast<mkvmuxer::int64>(output_.Position()); }
  mkvmuxer::int32 Position(mkvmuxer::int64 pos) override {
    if (pos < 0) return -1;
    return Keep(output_.Seek(static_cast<uint64_t>(pos)));
  }
  bool Seekable() const override { return true; }
  void ElementStartNotify(mkvmuxer::uint64, mkvmuxer::int64) override {}

  const Status& error() const { return error_; }
  // The end of the output: the largest position written (mkvmuxer ends by seeking back).
  uint64_t end() const { return end_; }

 private:
  mkvmuxer::int32 Keep(Status s) {
    if (s.ok()) return 0;
    if (error_.ok()) error_ = std::move(s);
    return -1;
  }
  SeekableWriter& output_;
  Status error_;
  uint64_t end_ = 0;
};

}  // namespace recorder::webm::internal
