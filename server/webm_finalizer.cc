#include "finalizer.h"

namespace recorder::server {

Result<webm::FinalizeInfo> WebmFinalizer::Finalize(const std::string& live_path, const std::string& seekable_path) {
  return webm::Finalize(live_path, seekable_path);
}

Status WebmFinalizer::Verify(const std::string& path, const webm::FinalizeInfo& expected) {
  return webm::Verify(path, expected);
}

}  // namespace recorder::server
