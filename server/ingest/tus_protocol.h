// tus 1.0.0 header grammar: pure functions over header values, no I/O. Untrusted input only
// reaches the server through these parsers.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace recorder::server::tus {

inline constexpr const char* kVersion = "1.0.0";
inline constexpr const char* kExtensions =
    "creation,creation-with-upload,creation-defer-length,termination,expiration,checksum";
inline constexpr const char* kChecksumAlgorithms = "sha1,sha256";
inline constexpr const char* kOffsetContentType = "application/offset+octet-stream";

// Decimal digits only (no sign, no spaces), at most 2^63-1.
bool ParseUnsigned(std::string_view text, uint64_t* value);

// RFC 4648 base64 with padding; nullopt on any other character or bad padding.
std::optional<std::string> Base64Decode(std::string_view text);
std::string Base64Encode(std::string_view bytes);

// Upload-Metadata: comma-separated "key base64value" or "key"; keys non-empty, unique, without
// spaces or commas. Returns decoded values; nullopt when malformed.
std::optional<std::map<std::string, std::string>> ParseMetadata(std::string_view header);

struct Checksum {
  std::string algorithm;  // lower-case, e.g. "sha1"
  std::string digest;     // raw bytes
};
// Upload-Checksum: "<algorithm> <base64 digest>"; nullopt when malformed.
std::optional<Checksum> ParseChecksum(std::string_view header);
// The digest of `data` with a supported algorithm; nullopt for an unsupported one.
std::optional<std::string> Digest(const std::string& algorithm, std::string_view data);

// RFC 7231 IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
std::string HttpDate(int64_t unix_seconds);

}  // namespace recorder::server::tus
