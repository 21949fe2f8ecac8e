#include "http/respond.h"

#include <spdlog/spdlog.h>

#include "ingest/tus_protocol.h"

namespace recorder::server {

void WriteError(const httplib::Request& req, httplib::Response& res, const ApiError& error) {
  const ErrorSpec& spec = Spec(error.err);
  res.status = spec.http_status;
  // cpp-httplib applies a request's Range to any body, errors included (a 404 became a 416 with a
  // slice of the JSON); an error is always sent whole. The Request object itself is not const.
  const_cast<httplib::Request&>(req).ranges.clear();
  std::string message = spec.message;
  if (error.err == Err::kInternal) {
    spdlog::error("{} {}: {}", req.method, req.path, error.detail);
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
