// Every name the server builds from user input: candidate folders and recording file names, which
// together make a recording's media key. (Keys become paths only in storage/, which proves them.)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "index/records.h"

namespace recorder::server {

// A folder name for a candidate: Unicode letters and digits kept as they are, whitespace runs
// become one '_', path separators, control, format (bidi, zero-width) and other ASCII
// punctuation are dropped, dot runs collapse to one dot, no leading/trailing '.', '_' or '-',
// at most kMaxFolderBytes bytes cut at a code point boundary; never empty ("candidate") and never
// a name the server uses in DATA itself ("api-key"; its own folder ".recorder" starts with a dot).
// Invalid UTF-8 bytes are dropped. No Unicode normalization (no ICU here).
inline constexpr size_t kMaxFolderBytes = 96;
std::string SanitizeFolderName(std::string_view name);

// interview_video_YYYYMMDD_HHMMSS.webm, interview_video_YYYYMMDD_HHMMSS_screen.webm or
// interview_audio_YYYYMMDD_HHMMSS.webm with the UTC time of `unix_seconds`; n > 1 adds "_<n>"
// before ".webm".
std::string RecordingFileName(RecordingKind kind, int64_t unix_seconds, int n);

}  // namespace recorder::server
