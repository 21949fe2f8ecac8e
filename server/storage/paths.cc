#include "storage/paths.h"

#include <algorithm>
#include <string>

namespace recorder::server {

Result<std::filesystem::path> ResolveInside(const std::filesystem::path& root, std::string_view relative) {
  namespace fs = std::filesystem;
  fs::path rel(relative);
  if (relative.empty() || rel.is_absolute() || relative.find('\0') != std::string_view::npos) {
    return InvalidArgument("path '" + std::string(relative) + "' is not a relative path");
  }
  for (const fs::path& part : rel) {
    if (part.empty() || part == "." || part == "..") {
      return InvalidArgument("path '" + std::string(relative) + "' has a '.' or '..' component");
    }
  }
  fs::path joined = root / rel;
  std::error_code ec;
  fs::path resolved = fs::weakly_canonical(joined, ec);
  if (ec) return IoError("cannot resolve '" + joined.string() + "': " + ec.message());
  auto mismatch = std::mismatch(root.begin(), root.end(), resolved.begin(), resolved.end());
  if (mismatch.first != root.end()) {
    return InvalidArgument("path '" + std::string(relative) + "' leaves the data folder");
  }
  return joined;
}

}  // namespace recorder::server
