// SQL text both index implementations build the same way.
#pragma once

#include <cctype>
#include <sstream>
#include <string>
#include <vector>

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

// A list of words (event types) as one column, space-separated, and back.
inline std::string JoinWords(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}
inline std::vector<std::string> SplitWords(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream in(text);
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

}  // namespace recorder::server
