// The one place that turns a key (from the index, ultimately from user input) into a path.
#pragma once

#include <filesystem>
#include <string_view>

#include "common/status.h"

namespace recorder::server {

// Joins `relative` under `root` and proves the result stays inside root: relative must be
// non-empty, not absolute, without "." or ".." components, and the existing part of the joined
// path must not leave root through a symlink. REQUIRES: root is an absolute, canonical path.
Result<std::filesystem::path> ResolveInside(const std::filesystem::path& root, std::string_view relative);

}  // namespace recorder::server
