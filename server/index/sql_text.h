// SQL text both index implementations build the same way.
#pragma once

#include <cctype>
#include <string>

namespace recorder::server {

// A LIKE pattern that finds `text` anywhere, ignoring ASCII case, with LIKE's wildcards in it
// escaped so user text matches literally (ESCAPE '\'); "%%" for empty text.
inline std::string LikePattern(const std::string& text) {
  std::string out = "%";
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') out.push_back('\\');
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out + "%";
}

// A search word as TranscriptIndex::SearchTranscripts takes it: ASCII letters and digits, and any
// non-ASCII (UTF-8) letters; nothing a query syntax could read as an operator or a quote.
inline bool IsSearchWord(const std::string& word) {
  if (word.empty()) return false;
  for (char c : word) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x80 && !std::isalnum(byte)) return false;
  }
  return true;
}

}  // namespace recorder::server
