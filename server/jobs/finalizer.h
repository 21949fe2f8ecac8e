// The seam between the finalize job and the WebM remuxer (shared/webm/finalize.h), so job tests
// can stand in a trivial one.
#pragma once

#include "common/io.h"
#include "common/status.h"
#include "webm/finalize.h"

namespace recorder::server {

class Finalizer {
 public:
  virtual ~Finalizer() = default;
  // Same contracts as recorder::webm::Finalize / Verify. Thread-safe.
  virtual Result<webm::FinalizeInfo> Finalize(RandomAccessReader& live, SeekableWriter& seekable) = 0;
  virtual Status Verify(RandomAccessReader& finalized, const webm::FinalizeInfo& expected) = 0;
};

// The real one: recorder::webm::Finalize and Verify.
class WebmFinalizer : public Finalizer {
 public:
  Result<webm::FinalizeInfo> Finalize(RandomAccessReader& live, SeekableWriter& seekable) override {
    return webm::Finalize(live, seekable);
  }
  Status Verify(RandomAccessReader& finalized, const webm::FinalizeInfo& expected) override {
    return webm::Verify(finalized, expected);
  }
};

}  // namespace recorder::server
