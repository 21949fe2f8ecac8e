// Every name and path the server builds from user input. The only place that joins paths under DATA.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/status.h"

namespace recorder::server {

// A folder name for a candidate: Unicode letters and digits kept as they are, whitespace runs
// become one '_', path separators, control, format (bidi, zero-width) and other ASCII
// punctuation are dropped, dot runs collapse to one dot, no leading/trailing '.', '_' or '-',
// at most kMaxFolderBytes bytes cut at a code point boundary; never empty ("candidate") and never
// a name the server uses in DATA itself ("api-key"; its own folder ".recorder" starts with a dot).
// Invalid UTF-8 bytes are dropped. No Unicode normalization (no ICU here).
inline constexpr size_t kMaxFolderBytes = 96;
std::string SanitizeFolderName(std::string_view name);

// "<base>" for n == 1, "<base>_<n>" otherwise: how folder and file collisions are resolved.
std::string WithCollisionSuffix(std::string_view base, int n);

enum class RecordingKind { kCamera, kScreen, kAudio };
// "camera" | "screen" | "audio"; false for anything else.
bool ParseRecordingKind(std::string_view text, RecordingKind* kind);
const char* RecordingKindName(RecordingKind kind);

// interview_video_YYYYMMDD_HHMMSS.webm, interview_video_YYYYMMDD_HHMMSS_screen.webm or
// interview_audio_YYYYMMDD_HHMMSS.webm with the UTC time of `unix_seconds`; n > 1 adds "_<n>"
// before ".webm".
std::string RecordingFileName(RecordingKind kind, int64_t unix_seconds, int n);

// The suffix a recording file carries until it is finalized.
inline constexpr std::string_view kPartSuffix = ".part";

// Joins `relative` under `root` and proves the result stays inside root: relative must be
// non-empty, not absolute, without "." or ".." components, and the existing part of the joined
// path must not leave root through a symlink. REQUIRES: root is an absolute, canonical path.
Result<std::filesystem::path> ResolveInside(const std::filesystem::path& root, std::string_view relative);

}  // namespace recorder::server
