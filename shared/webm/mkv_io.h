// libwebm's reader interface over ours (common/io.h). Internal to shared/webm.
#pragma once

#include <mkvparser/mkvparser.h>

#include <algorithm>
#include <cstdint>
#include <memory>

#include "common/status.h"
#include "webm/block_walker.h"

namespace recorder::webm::internal {

// mkvparser reads a few bytes at a time; the window makes that one read of the input per 64 KB.
// With `available` below the input's size, mkvparser sees the rest as not yet arrived (the way it
// reads a download in progress): it parses nothing, and allocates nothing, beyond that point.
class MkvReaderAdapter : public mkvparser::IMkvReader {
 public:
  explicit MkvReaderAdapter(WindowedSource& input, uint64_t available = UINT64_MAX)
      : input_(input), available_(std::min(available, input.size())) {}
  int Read(long long pos, long len, unsigned char* buf) override {
    if (pos < 0 || len < 0 || static_cast<uint64_t>(pos) + static_cast<uint64_t>(len) > available_) return -1;
    return input_.Read(static_cast<uint64_t>(pos), buf, static_cast<size_t>(len)) ? 0 : -1;
  }
  int Length(long long* total, long long* available) override {
    if (total) *total = static_cast<long long>(input_.size());
    if (available) *available = static_cast<long long>(available_);
    return 0;
  }

 private:
  WindowedSource& input_;
  const uint64_t available_;
};

// Parses the EBML header, Info and Tracks with mkvparser, which sees only the first
// kMaxHeaderBytes of the input. A live stream has all of them before the first Cluster, so a
// file cut before that has nothing worth keeping: Corrupt.
Result<std::unique_ptr<mkvparser::Segment>> ParseHeaders(WindowedSource& src, mkvparser::IMkvReader& reader);

}  // namespace recorder::webm::internal
