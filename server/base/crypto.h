// Random tokens, digests, base64, HMAC and secret comparison: the server's uses of OpenSSL outside tus.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace recorder::server {

// Random bytes from OpenSSL as lower-case hex. `bytes` >= 16 for tokens and ids. Aborts when the
// random source fails: there is no safe fallback for tokens.
std::string RandomHex(size_t bytes);
// Lower-case hex of raw bytes.
std::string HexEncode(std::string_view bytes);
// SHA-256 of `data` as lower-case hex (how tokens and cookies are stored).
std::string Sha256Hex(std::string_view data);
// Constant-time comparison of secrets (API keys, CSRF tokens).
bool SameSecret(std::string_view a, std::string_view b);
// Standard base64 (with padding).
std::string Base64Encode(std::string_view bytes);
// The bytes of standard base64; false when `text` is not base64.
bool Base64Decode(std::string_view text, std::string* bytes);
// The raw HMAC-SHA256 of `data` under `key`.
std::string HmacSha256(std::string_view key, std::string_view data);

}  // namespace recorder::server
