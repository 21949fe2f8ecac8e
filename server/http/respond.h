// What every route file uses to answer: the one place an ApiError becomes a response, JSON bodies,
// and the Authorization header.
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/errors.h"

namespace recorder::server {

void WriteError(const httplib::Request& req, httplib::Response& res, const ApiError& error);
void WriteError(const httplib::Request& req, httplib::Response& res, Err err);
// A JSON body, never cached (it carries personal data).
void WriteJson(httplib::Response& res, const nlohmann::json& body, int status = 200);
// The bytes of a GET or HEAD answer, chosen by SelectRange.
struct BodySlice {
  uint64_t offset = 0;
  uint64_t length = 0;
};
// Applies the request's Range (http/byte_ranges.h) to a representation of `size` bytes: one range
// is 206 with Content-Range; several are answered whole (200), which is never more than the file
// and spares us multipart/byteranges, which no client of ours asks for; an unsatisfiable Range is
// written as the 416 error (with "Content-Range: bytes */size") and gives nullopt. A Range with
// If-Range is answered whole too: we send no validators it could match. Sets Accept-Ranges.
std::optional<BodySlice> SelectRange(const httplib::Request& req, httplib::Response& res, uint64_t size);
// "METHOD path" for a log line, escaped (base/printable.h): cpp-httplib has percent-decoded the
// path, so "%0a" in a URL would otherwise start a forged line.
std::string LoggedRequest(const httplib::Request& req);
// The client's address: the peer's, unless the peer is one of `trusted_proxies` (a load balancer
// in front of several servers); then the last X-Forwarded-For entry that is not a trusted proxy.
// An untrusted peer's X-Forwarded-For is ignored: it could name any address to dodge a limit.
std::string ClientAddress(const httplib::Request& req, const std::vector<std::string>& trusted_proxies);
// "Bearer <secret>" -> secret; empty when absent or another scheme.
std::string BearerToken(const httplib::Request& req);
// A JSON object from the body; kInvalidJson otherwise.
Expected<nlohmann::json> ParseJsonObject(const std::string& body);

}  // namespace recorder::server
