#include "ingest/tus_protocol.h"

#include <openssl/evp.h>

#include <cctype>
#include <cstdio>
#include <ctime>
#include <memory>

namespace recorder::server::tus {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool ParseUnsigned(std::string_view text, uint64_t* value) {
  if (text.empty() || text.size() > 19) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > static_cast<uint64_t>(INT64_MAX)) return false;
  *value = v;
  return true;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    int pad = (text[i + 3] == '=') + (text[i + 2] == '=' && text[i + 3] == '=');
    if (pad > 0 && !last) return std::nullopt;
    int v[4];
    for (int k = 0; k < 4 - pad; ++k) {
      v[k] = Base64Value(text[i + k]);
      if (v[k] < 0) return std::nullopt;
    }
    out.push_back(static_cast<char>((v[0] << 2) | (v[1] >> 4)));
    if (pad < 2) out.push_back(static_cast<char>(((v[1] & 0xF) << 4) | (v[2] >> 2)));
    if (pad < 1) out.push_back(static_cast<char>(((v[2] & 0x3) << 6) | v[3]));
  }
  return out;
}

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<uint8_t>(bytes[i + 2]);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back(i + 2 < bytes.size() ? kAlphabet[n & 63] : '=');
  }
  return out;
}

std::optional<std::map<std::string, std::string>> ParseMetadata(std::string_view header) {
  std::map<std::string, std::string> out;
  if (Trim(header).empty()) return out;
  while (true) {
    size_t comma = header.find(',');
    std::string_view pair = Trim(header.substr(0, comma));
    size_t space = pair.find(' ');
    std::string_view key = pair.substr(0, space);
    if (key.empty()) return std::nullopt;
    std::string value;
    if (space != std::string_view::npos) {
      auto decoded = Base64Decode(Trim(pair.substr(space + 1)));
      if (!decoded) return std::nullopt;
      value = std::move(*decoded);
    }
    if (!out.emplace(std::string(key), std::move(value)).second) return std::nullopt;
    if (comma == std::string_view::npos) return out;
    header.remove_prefix(comma + 1);
  }
}

std::optional<Checksum> ParseChecksum(std::string_view header) {
  header = Trim(header);
  size_t space = header.find(' ');
  if (space == 0 || space == std::string_view::npos) return std::nullopt;
  auto digest = Base64Decode(Trim(header.substr(space + 1)));
  if (!digest || digest->empty()) return std::nullopt;
  std::string algorithm(header.substr(0, space));
  for (char& c : algorithm) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return Checksum{algorithm, *digest};
}

std::optional<std::string> Digest(const std::string& algorithm, std::string_view data) {
  const EVP_MD* md = algorithm == "sha1" ? EVP_sha1() : algorithm == "sha256" ? EVP_sha256() : nullptr;
  if (md == nullptr) return std::nullopt;
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), out, &size, md, nullptr) != 1) return std::nullopt;
  return std::string(reinterpret_cast<char*>(out), size);
}

std::string HttpDate(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday], tm.tm_mday,
                kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

}  // namespace recorder::server::tus
