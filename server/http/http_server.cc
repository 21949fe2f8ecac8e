// What every request goes through: CORS, the body of errors raised outside our handlers, the
// health and metrics endpoints, and the static pages.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "http/respond.h"
#include "http/routes.h"
#include "ingest/tus_protocol.h"

namespace recorder::server {
namespace {

using httplib::Request;
using httplib::Response;

bool StartsWith(const std::string& path, std::string_view prefix) { return path.rfind(prefix, 0) == 0; }
bool IsTusPath(const std::string& path) { return path == "/files" || StartsWith(path, "/files/"); }
// The HR API is same-origin only: it never answers CORS, so other sites cannot read it.
bool IsHrPath(const std::string& path) { return StartsWith(path, "/api/v1/hr/"); }
bool IsStaticPath(const std::string& path) {
  return !StartsWith(path, "/api/") && !IsTusPath(path) && path != "/healthz" && path != "/metrics";
}
// The recorder ES module and its WASM core, which other sites' pages load from this server: their
// encoder Web Worker imports the scripts with importScripts (a no-cors request, which
// Cross-Origin-Resource-Policy: same-origin would block). Everything else stays same-origin.
bool IsEmbeddableStaticPath(const std::string& path) {
  return StartsWith(path, "/recorder/") || StartsWith(path, "/gen/");
}

// The Content-Security-Policy of our pages: scripts, styles and workers only from files of this
// server (no inline script or style anywhere in web/), WASM compilation for the encoder core
// ('wasm-unsafe-eval', not eval), blob: workers (the encoder's bootstrap), and framing as
// FrameAncestors says.
constexpr const char* kPageCsp =
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors ";

// Who may frame a page: nobody, except the candidate page by the origins named in
// --allowed-origins (the host platforms that embed it; "*" alone names none).
std::string FrameAncestors(const HttpOptions& options, const std::string& path) {
  std::string origins;
  if (path == "/interview.html") {
    for (const std::string& origin : options.allowed_origins) {
      if (origin != "*") origins += (origins.empty() ? "" : " ") + origin;
    }
  }
  return origins.empty() ? "'none'" : origins;
}

bool OriginAllowed(const HttpOptions& options, const std::string& origin) {
  const auto& allowed = options.allowed_origins;
  return std::find(allowed.begin(), allowed.end(), "*") != allowed.end() ||
         std::find(allowed.begin(), allowed.end(), origin) != allowed.end();
}

// Runs before routing and before the body is read: answers CORS preflights. (Nothing with a body
// is rejected here: unread body bytes would corrupt the next request on the connection.)
httplib::Server::HandlerResponse PreRoute(const Request& req, Response& res) {
  if (req.method == "OPTIONS" && req.has_header("Access-Control-Request-Method")) {
    res.status = 204;
    res.set_header("Access-Control-Allow-Methods", "POST, GET, HEAD, PATCH, DELETE, OPTIONS");
    res.set_header("Access-Control-Allow-Headers",
                   "Authorization, Content-Type, Tus-Resumable, Upload-Length, Upload-Defer-Length, "
                   "Upload-Offset, Upload-Metadata, Upload-Checksum, X-Requested-With");
    res.set_header("Access-Control-Max-Age", "86400");
    return httplib::Server::HandlerResponse::Handled;
  }
  return httplib::Server::HandlerResponse::Unhandled;
}

// Runs for every response, including errors, preflights and static files (GET and HEAD alike).
void PostRoute(const HttpDeps& d, const Request& req, Response& res) {
  std::string origin = req.get_header_value("Origin");
  if (!origin.empty() && !IsHrPath(req.path) && OriginAllowed(d.options, origin)) {
    res.set_header("Access-Control-Allow-Origin", origin);
    res.set_header("Vary", "Origin");
    res.set_header("Access-Control-Expose-Headers",
                   "Location, Upload-Offset, Upload-Length, Upload-Defer-Length, Upload-Metadata, Upload-Expires, "
                   "Tus-Version, Tus-Resumable, Tus-Max-Size, Tus-Extension, Tus-Checksum-Algorithm");
  }
  if (IsTusPath(req.path)) res.set_header("Tus-Resumable", tus::kVersion);
  // Every response: no type sniffing (a recording or JSON is never run as a script), no Referer
  // (URLs carry session ids and upload tokens).
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  if (res.get_header_value("Content-Type").rfind("text/html", 0) == 0) {
    std::string ancestors = FrameAncestors(d.options, req.path);
    res.set_header("Content-Security-Policy", kPageCsp + ancestors);
    if (ancestors == "'none'") res.set_header("X-Frame-Options", "DENY");
  }
  if (IsStaticPath(req.path)) {
    // Cross-origin isolated pages: SharedArrayBuffer for the threaded WASM encoder.
    res.set_header("Cross-Origin-Opener-Policy", "same-origin");
    res.set_header("Cross-Origin-Embedder-Policy", "require-corp");
    res.set_header("Cross-Origin-Resource-Policy", IsEmbeddableStaticPath(req.path) ? "cross-origin" : "same-origin");
    res.set_header("Cache-Control", "no-cache");
  }
  d.metrics->CountResponse(res.status);
}

// Fills the body of errors raised outside our handlers (cpp-httplib's 404, 413, 400).
httplib::Server::HandlerResponse OnError(const Request& req, Response& res) {
  if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
  if (res.status == 413) spdlog::warn("{}: request body over the limit", LoggedRequest(req));
  if (res.status == 431 || res.status == 414) spdlog::warn("request line or headers over the limit ({})", res.status);
  WriteError(req, res, ErrForHttpStatus(res.status));
  return httplib::Server::HandlerResponse::Handled;
}

void InstallStaticPages(httplib::Server& http, const std::string& web_dir) {
  if (web_dir.empty()) return;
  if (!http.set_mount_point("/", web_dir)) {
    spdlog::warn("static pages folder {} does not exist; serving none", web_dir);
    return;
  }
  http.set_file_extension_and_mimetype_mapping("js", "text/javascript");
  http.set_file_extension_and_mimetype_mapping("mjs", "text/javascript");
  http.set_file_extension_and_mimetype_mapping("wasm", "application/wasm");
  http.set_file_extension_and_mimetype_mapping("webm", "video/webm");
  // cpp-httplib has read the whole file into the body (GET and HEAD alike); Range picks from it.
  http.set_file_request_handler([](const Request& req, Response& res) {
    const std::optional<BodySlice> slice = SelectRange(req, res, res.body.size());
    if (slice && slice->length != res.body.size()) res.body = res.body.substr(slice->offset, slice->length);
  });
}

}  // namespace

void InstallRoutes(httplib::Server& http, const HttpDeps& deps) {
  auto d = std::make_shared<HttpDeps>(deps);
  http.set_pre_routing_handler(httplib::Server::HandlerWithResponse(PreRoute));
  http.set_post_routing_handler([d](const Request& req, Response& res) { PostRoute(*d, req, res); });
  // Decided from the request line before any body byte is read: only tus uploads carry media; an
  // events batch (the recorder sends 50 events of up to 16 KiB data) and a session's creation (up
  // to 100 questions of 2000 bytes, with the API key) get 16x the JSON limit.
  http.set_payload_max_length_handler([d](const Request& req) {
    bool tus_body = (req.method == "PATCH" && StartsWith(req.path, "/files/")) ||
                    (req.method == "POST" && (req.path == "/files" || req.path == "/files/"));
    if (tus_body) return d->options.max_tus_body_bytes;
    bool events = req.method == "POST" && StartsWith(req.path, "/api/v1/sessions/") && req.path.size() > 7 &&
                  req.path.compare(req.path.size() - 7, 7, "/events") == 0;
    bool new_session = req.method == "POST" && req.path == "/api/v1/sessions";
    return events || new_session ? 16 * d->options.max_json_bytes : d->options.max_json_bytes;
  });
  http.set_error_handler(httplib::Server::HandlerWithResponse(OnError));
  http.set_exception_handler([](const Request& req, Response& res, std::exception_ptr) {
    WriteError(req, res, {Err::kInternal, "exception escaped a handler"});
  });
  http.Get("/healthz", [d](const Request&, Response& res) {
    Status health = d->health();
    if (health.ok()) return res.set_content("ok\n", "text/plain");
    spdlog::error("health check failed: {}", health.ToString());
    res.status = Spec(Err::kUnavailable).http_status;
    res.set_content("unhealthy: " + health.message() + "\n", "text/plain");
  });
  http.Get("/metrics",
           [d](const Request&, Response& res) { res.set_content(d->metrics_text(), "text/plain; version=0.0.4"); });
  InstallTusRoutes(http, deps);
  InstallHostApiRoutes(http, deps);
  InstallHrRoutes(http, deps);
  InstallStaticPages(http, deps.options.web_dir);
}

}  // namespace recorder::server
