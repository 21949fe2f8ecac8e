#include "http/respond.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "base/printable.h"
#include "http/byte_ranges.h"
#include "ingest/tus_protocol.h"

namespace recorder::server {

void WriteError(const httplib::Request& req, httplib::Response& res, const ApiError& error) {
  const ErrorSpec& spec = Spec(error.err);
  res.status = spec.http_status;
  // An error is always sent whole, even when a range had been chosen before it.
  res.headers.erase("Content-Range");
  std::string message = spec.message;
  if (error.err == Err::kInternal) {
    spdlog::error("{}: {}", LoggedRequest(req), Printable(error.detail, 1000));
  } else if (!error.detail.empty()) {
    message += ": " + error.detail;
  }
  if (error.err == Err::kUnsupportedTusVersion) res.set_header("Tus-Version", tus::kVersion);
  if (error.retry_after_seconds > 0) res.set_header("Retry-After", std::to_string(error.retry_after_seconds));
  nlohmann::json body = {{"error", spec.code}, {"message", message}};
  res.set_content(body.dump(), "application/json");
}

void WriteError(const httplib::Request& req, httplib::Response& res, Err err) {
  WriteError(req, res, ApiError{err, {}});
}

void WriteJson(httplib::Response& res, const nlohmann::json& body, int status) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(body.dump(), "application/json");
}

std::optional<BodySlice> SelectRange(const httplib::Request& req, httplib::Response& res, uint64_t size) {
  res.set_header("Accept-Ranges", "bytes");
  const BodySlice whole{0, size};
  if (req.has_header("If-Range")) return whole;
  RangeAnswer answer = ParseRange(req.get_header_value("Range"), size);
  if (answer.kind == RangeAnswer::kUnsatisfiable) {
    WriteError(req, res, Err::kRangeNotSatisfiable);
    res.set_header("Content-Range", "bytes */" + std::to_string(size));
    return std::nullopt;
  }
  if (answer.kind != RangeAnswer::kRanges || answer.ranges.size() != 1) return whole;
  const ByteRange& range = answer.ranges.front();
  res.status = 206;
  res.set_header("Content-Range", "bytes " + std::to_string(range.first) + "-" + std::to_string(range.last) + "/" +
                                      std::to_string(size));
  return BodySlice{range.first, range.length()};
}

std::string LoggedRequest(const httplib::Request& req) { return Printable(req.method) + " " + Printable(req.path); }

std::string ClientAddress(const httplib::Request& req, const std::vector<std::string>& trusted_proxies) {
  auto trusted = [&](std::string_view address) {
    return std::find(trusted_proxies.begin(), trusted_proxies.end(), address) != trusted_proxies.end();
  };
  if (!trusted(req.remote_addr)) return req.remote_addr;
  // Each proxy appends the address it got the request from: read from the right, past our own.
  std::string forwarded;
  for (size_t i = 0, n = req.get_header_value_count("X-Forwarded-For"); i < n; ++i) {
    forwarded += (forwarded.empty() ? "" : ",") + req.get_header_value("X-Forwarded-For", i);
  }
  std::string_view rest = forwarded;
  while (!rest.empty()) {
    size_t comma = rest.rfind(',');
    std::string_view entry = comma == std::string_view::npos ? rest : rest.substr(comma + 1);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
    while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
    // An address is hex digits, dots and colons; anything else is not one (and not logged as one).
    const bool address = !entry.empty() && entry.size() <= 45 &&
                         entry.find_first_not_of("0123456789abcdefABCDEF.:") == std::string_view::npos;
    if (!address) break;
    if (!trusted(entry)) return std::string(entry);
  }
  return req.remote_addr;
}

std::string BearerToken(const httplib::Request& req) {
  std::string value = req.get_header_value("Authorization");
  constexpr std::string_view kScheme = "Bearer ";
  if (value.size() <= kScheme.size() || value.compare(0, kScheme.size(), kScheme) != 0) return {};
  return value.substr(kScheme.size());
}

Expected<nlohmann::json> ParseJsonObject(const std::string& body) {
  auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return Err::kInvalidJson;
  return json;
}

}  // namespace recorder::server
