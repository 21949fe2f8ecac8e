// The seam between the finalize job and the WebM remuxer (shared/webm/finalize.h).
#pragma once

#include <string>

#include "common/status.h"
#include "webm/finalize.h"

namespace recorder::server {

class Finalizer {
 public:
  virtual ~Finalizer() = default;
  // Same contracts as recorder::webm::Finalize / Verify. Thread-safe.
  virtual Result<webm::FinalizeInfo> Finalize(const std::string& live_path, const std::string& seekable_path) = 0;
  virtual Status Verify(const std::string& path, const webm::FinalizeInfo& expected) = 0;
};

// The real one: recorder::webm::Finalize and Verify.
class WebmFinalizer : public Finalizer {
 public:
  Result<webm::FinalizeInfo> Finalize(const std::string& live_path, const std::string& seekable_path) override;
  Status Verify(const std::string& path, const webm::FinalizeInfo& expected) override;
};

}  // namespace recorder::server
