#include "ingest/names.h"

#include <ctime>

namespace recorder::server {
namespace {

// Decodes one UTF-8 code point at s[*i]; returns -1 (and skips one byte) when invalid.
int32_t NextCodePoint(std::string_view s, size_t* i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b0 = byte(*i);
  int len = b0 < 0x80 ? 1 : (b0 >> 5) == 0x6 ? 2 : (b0 >> 4) == 0xE ? 3 : (b0 >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || *i + len > s.size()) {
    ++*i;
    return -1;
  }
  int32_t cp = len == 1 ? b0 : b0 & (0xFF >> (len + 1));
  for (int k = 1; k < len; ++k) {
    unsigned char b = byte(*i + k);
    if ((b >> 6) != 0x2) {
      ++*i;
      return -1;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  static constexpr int32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  *i += len;
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  return cp;
}

void AppendUtf8(int32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool IsSpace(int32_t cp) {
  return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\v' || cp == '\f' || cp == 0xA0 ||
         cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

// Non-ASCII code points that must not reach a file name: C1 controls, invisible format
// characters (zero-width, bidi overrides that can disguise an extension), look-alike slashes,
// private use, noncharacters and specials.
bool IsDroppedNonAscii(int32_t cp) {
  return cp < 0xA0 || cp == 0xAD || (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202E) ||
         (cp >= 0x2060 && cp <= 0x206F) || cp == 0x2044 || cp == 0x2215 || cp == 0x29F8 || cp == 0x29F9 ||
         cp == 0xFF0F || cp == 0xFF3C || (cp >= 0xE000 && cp <= 0xF8FF) || (cp >= 0xFDD0 && cp <= 0xFDEF) ||
         (cp >= 0xFFF0 && cp <= 0xFFFF) || (cp & 0xFFFE) == 0xFFFE || cp >= 0xF0000;
}

bool IsTrimmed(char c) { return c == '.' || c == '_' || c == '-'; }

}  // namespace

std::string SanitizeFolderName(std::string_view name) {
  std::string out;
  std::string pending;  // a separator ('_' or '.') written only if something follows it
  for (size_t i = 0; i < name.size();) {
    int32_t cp = NextCodePoint(name, &i);
    if (cp < 0) continue;
    if (IsSpace(cp) || cp == '_') {
      if (pending != ".") pending = "_";
      continue;
    }
    if (cp == '.') {
      pending = ".";
      continue;
    }
    bool keep = cp >= 0x80
                    ? !IsDroppedNonAscii(cp)
                    : (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || cp == '-';
    if (!keep) continue;
    std::string piece = pending;
    AppendUtf8(cp, &piece);
    if (out.size() + piece.size() > kMaxFolderBytes) break;
    if (!out.empty()) out += pending;
    pending.clear();
    AppendUtf8(cp, &out);
  }
  size_t begin = 0, end = out.size();
  while (begin < end && IsTrimmed(out[begin])) ++begin;
  while (end > begin && IsTrimmed(out[end - 1])) --end;
  out = out.substr(begin, end - begin);
  if (out.empty()) return "candidate";
  // The server's own entries in DATA (the API key file) are never a candidate's folder.
  if (out == "api-key") out += "_candidate";
  return out;
}

std::string RecordingFileName(RecordingKind kind, int64_t unix_seconds, int n) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d_%H%M%S", &tm);
  std::string stem = kind == RecordingKind::kAudio ? "interview_audio_" : "interview_video_";
  stem += stamp;
  if (kind == RecordingKind::kScreen) stem += "_screen";
  return WithCollisionSuffix(stem, n) + ".webm";
}

}  // namespace recorder::server
