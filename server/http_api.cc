#include "http_api.h"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "tus_protocol.h"

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

void WriteError(const httplib::Request& req, httplib::Response& res, Err err) { WriteError(req, res, ApiError{err, {}}); }

std::string BearerToken(const httplib::Request& req) {
  std::string value = req.get_header_value("Authorization");
  constexpr std::string_view kScheme = "Bearer ";
  if (value.size() <= kScheme.size() || value.compare(0, kScheme.size(), kScheme) != 0) return {};
  return value.substr(kScheme.size());
}

bool SameSecret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

namespace {

constexpr const char* kTusEndpoint = "/files/";
constexpr const char* kUploadRoute = R"(/files/([^/]+))";
constexpr const char* kCollectionRoute = R"(/files/?)";


bool IsTusPath(const std::string& path) { return path == "/files" || path.rfind("/files/", 0) == 0; }
// The HR API is same-origin only: it never answers CORS, so other sites cannot read it.
bool IsHrPath(const std::string& path) { return path.rfind("/api/v1/hr/", 0) == 0; }

bool OriginAllowed(const Config& config, const std::string& origin) {
  const auto& allowed = config.allowed_origins;
  return std::find(allowed.begin(), allowed.end(), "*") != allowed.end() ||
         std::find(allowed.begin(), allowed.end(), origin) != allowed.end();
}

// Optional unsigned header: false when present but not a number.
bool OptionalNumber(const httplib::Request& req, const char* name, std::optional<uint64_t>* out) {
  if (!req.has_header(name)) return true;
  uint64_t v;
  if (!tus::ParseUnsigned(req.get_header_value(name), &v)) return false;
  *out = v;
  return true;
}

bool IsOffsetContentType(const httplib::Request& req) {
  std::string type = req.get_header_value("Content-Type");
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  return type == tus::kOffsetContentType;
}

// Parses Upload-Checksum if present. Returns the error to answer, if any.
std::optional<Err> ParseChecksumHeader(const httplib::Request& req, std::optional<tus::Checksum>* out) {
  if (!req.has_header("Upload-Checksum")) return std::nullopt;
  auto checksum = tus::ParseChecksum(req.get_header_value("Upload-Checksum"));
  if (!checksum) return Err::kInvalidChecksumHeader;
  if (!tus::Digest(checksum->algorithm, "")) return Err::kUnsupportedChecksumAlgorithm;
  *out = std::move(*checksum);
  return std::nullopt;
}

void SetUploadHeaders(httplib::Response& res, const Upload& upload) {
  res.set_header("Upload-Offset", std::to_string(upload.offset));
  if (upload.state == "receiving") res.set_header("Upload-Expires", tus::HttpDate(upload.expires_at));
}

class Api {
 public:
  explicit Api(const HttpDeps& deps) : d_(deps) {}

  // ---- cross-cutting ----

  // Runs before routing and before the body is read: answers CORS preflights. (Nothing with a
  // body is rejected here: unread body bytes would corrupt the next request on the connection.)
  httplib::Server::HandlerResponse PreRoute(const httplib::Request& req, httplib::Response& res) {
    if (req.method == "OPTIONS" && req.has_header("Access-Control-Request-Method")) {
      res.status = 204;
      res.set_header("Access-Control-Allow-Methods", "POST, GET, HEAD, PATCH, DELETE, OPTIONS");
      res.set_header("Access-Control-Allow-Headers",
                     "Authorization, Content-Type, Tus-Resumable, Upload-Length, Upload-Defer-Length, "
                     "Upload-Offset, Upload-Metadata, Upload-Checksum, Upload-Concat, X-Requested-With, "
                     "X-HTTP-Method-Override");
      res.set_header("Access-Control-Max-Age", "86400");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  }

  // Runs for every response, including errors and preflights.
  void PostRoute(const httplib::Request& req, httplib::Response& res) {
    std::string origin = req.get_header_value("Origin");
    if (!origin.empty() && !IsHrPath(req.path) && OriginAllowed(*d_.config, origin)) {
      res.set_header("Access-Control-Allow-Origin", origin);
      res.set_header("Vary", "Origin");
      res.set_header("Access-Control-Expose-Headers",
                     "Location, Upload-Offset, Upload-Length, Upload-Defer-Length, Upload-Metadata, Upload-Expires, "
                     "Tus-Version, Tus-Resumable, Tus-Max-Size, Tus-Extension, Tus-Checksum-Algorithm");
    }
    if (IsTusPath(req.path)) res.set_header("Tus-Resumable", tus::kVersion);
    d_.metrics->CountResponse(res.status);
  }

  // Fills the body of errors raised outside our handlers (cpp-httplib's 404, 413, 400).
  httplib::Server::HandlerResponse OnError(const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    if (res.status == 413) spdlog::warn("{} {}: request body over the limit", req.method, req.path);
    WriteError(req, res, ErrForHttpStatus(res.status));
    return httplib::Server::HandlerResponse::Handled;
  }

  // ---- plain endpoints ----

  void Healthz(const httplib::Request&, httplib::Response& res) {
    Status db = d_.index->Ping();
    bool writable = ::access(d_.data_dir.c_str(), W_OK | X_OK) == 0;
    if (db.ok() && writable) {
      res.set_content("ok\n", "text/plain");
      return;
    }
    std::string why = !db.ok() ? db.ToString() : "data folder " + d_.data_dir + " is not writable";
    spdlog::error("health check failed: {}", why);
    res.status = Spec(Err::kUnavailable).http_status;
    res.set_content(std::string("unhealthy: ") + why + "\n", "text/plain");
  }

  void Metrics(const httplib::Request&, httplib::Response& res) {
    auto active = d_.index->UploadsInState("receiving");
    res.set_content(d_.metrics->Render(active.ok() ? static_cast<int64_t>(active->size()) : -1),
                    "text/plain; version=0.0.4");
  }

  void CreateSession(const httplib::Request& req, httplib::Response& res) {
    std::string key = BearerToken(req);
    if (key.empty()) return WriteError(req, res, Err::kMissingApiKey);
    if (!SameSecret(key, d_.api_key)) {
      spdlog::warn("session creation with a wrong API key from {}", req.remote_addr);
      return WriteError(req, res, Err::kInvalidApiKey);
    }
    auto body = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object()) return WriteError(req, res, Err::kInvalidJson);
    auto text = [&](const char* field, std::string* out) {
      auto it = body.find(field);
      if (it == body.end() || it->is_null()) return true;
      if (!it->is_string()) return false;
      *out = it->get<std::string>();
      return true;
    };
    std::string name, email, job;
    if (!text("candidate_name", &name) || !text("candidate_email", &email)) {
      return WriteError(req, res, {Err::kInvalidJson, "candidate_name and candidate_email must be strings"});
    }
    if (auto it = body.find("job"); it != body.end() && !it->is_null()) job = it->is_string() ? it->get<std::string>() : it->dump();
    if (name.find_first_not_of(" \t\r\n") == std::string::npos) return WriteError(req, res, Err::kMissingCandidateName);
    auto session = d_.ingest->CreateSession(name, email, job);
    if (!session.ok()) return WriteError(req, res, session.error());
    nlohmann::json out = {{"session_id", session->session_id},
                          {"upload_token", session->upload_token},
                          {"tus_endpoint", kTusEndpoint},
                          {"expires_at", session->expires_at}};
    res.status = 201;
    res.set_content(out.dump(), "application/json");
  }

  // ---- tus ----

  void TusOptions(const httplib::Request&, httplib::Response& res) {
    res.status = 204;
    res.set_header("Tus-Version", tus::kVersion);
    res.set_header("Tus-Extension", tus::kExtensions);
    res.set_header("Tus-Max-Size", std::to_string(d_.ingest->options().max_upload_size));
    res.set_header("Tus-Checksum-Algorithm", tus::kChecksumAlgorithms);
  }

  // Checks Tus-Resumable and the upload token; on failure writes the error and returns nullopt.
  std::optional<Session> Authenticate(const httplib::Request& req, httplib::Response& res) {
    if (!req.has_header("Tus-Resumable")) {
      WriteError(req, res, Err::kMissingTusResumable);
      return std::nullopt;
    }
    if (req.get_header_value("Tus-Resumable") != tus::kVersion) {
      WriteError(req, res, {Err::kUnsupportedTusVersion, "got " + req.get_header_value("Tus-Resumable")});
      return std::nullopt;
    }
    return AuthenticateToken(req, res);
  }

  // Checks the upload token alone (for the session's non-tus routes).
  std::optional<Session> AuthenticateToken(const httplib::Request& req, httplib::Response& res) {
    std::string token = BearerToken(req);
    if (token.empty()) {
      WriteError(req, res, Err::kMissingUploadToken);
      return std::nullopt;
    }
    auto session = d_.ingest->Authenticate(token);
    if (!session.ok()) {
      spdlog::warn("{} {} from {}: {}", req.method, req.path, req.remote_addr, Spec(session.error().err).message);
      WriteError(req, res, session.error());
      return std::nullopt;
    }
    return session.value();
  }

  void Create(const httplib::Request& req, httplib::Response& res) {
    auto session = Authenticate(req, res);
    if (!session) return;
    bool has_length = req.has_header("Upload-Length");
    bool deferred = req.has_header("Upload-Defer-Length");
    if (has_length == deferred || (deferred && req.get_header_value("Upload-Defer-Length") != "1")) {
      return WriteError(req, res, Err::kAmbiguousUploadLength);
    }
    std::optional<uint64_t> length;
    if (!OptionalNumber(req, "Upload-Length", &length)) return WriteError(req, res, Err::kInvalidUploadLength);
    std::string raw_metadata = req.get_header_value("Upload-Metadata");
    auto metadata = tus::ParseMetadata(raw_metadata);
    if (!metadata) return WriteError(req, res, Err::kInvalidMetadata);
    RecordingKind kind = RecordingKind::kCamera;
    if (auto it = metadata->find("kind"); it != metadata->end() && !ParseRecordingKind(it->second, &kind)) {
      return WriteError(req, res, {Err::kInvalidKind, "got '" + it->second + "'"});
    }
    // creation-with-upload: every check on the body happens before the upload exists.
    std::optional<tus::Checksum> checksum;
    if (!req.body.empty()) {
      if (!IsOffsetContentType(req)) return WriteError(req, res, Err::kWrongContentType);
      if (auto err = ParseChecksumHeader(req, &checksum)) return WriteError(req, res, *err);
    }
    auto upload = d_.ingest->CreateUpload(*session, length, kind, raw_metadata);
    if (!upload.ok()) return WriteError(req, res, upload.error());
    res.set_header("Location", std::string(kTusEndpoint) + upload->id);
    if (!req.body.empty() || length == uint64_t{0}) {  // an empty upload is complete at creation
      auto appended = d_.ingest->Append(*session, upload->id, 0, std::nullopt, req.body, checksum);
      if (!appended.ok()) return WriteError(req, res, appended.error());
      upload = appended.value();
    }
    SetUploadHeaders(res, upload.value());
    res.status = 201;
  }

  void Head(const httplib::Request& req, httplib::Response& res) {
    if (req.method != "HEAD") return WriteError(req, res, Err::kMethodNotAllowed);
    auto session = Authenticate(req, res);
    if (!session) return;
    auto upload = d_.ingest->Info(*session, req.matches[1]);
    res.set_header("Cache-Control", "no-store");
    if (!upload.ok()) return WriteError(req, res, upload.error());
    SetUploadHeaders(res, upload.value());
    if (upload->length) {
      res.set_header("Upload-Length", std::to_string(*upload->length));
    } else {
      res.set_header("Upload-Defer-Length", "1");
    }
    if (!upload->metadata.empty()) res.set_header("Upload-Metadata", upload->metadata);
    res.status = 200;
  }

  void Patch(const httplib::Request& req, httplib::Response& res) {
    auto session = Authenticate(req, res);
    if (!session) return;
    if (!IsOffsetContentType(req)) return WriteError(req, res, Err::kWrongContentType);
    std::optional<uint64_t> offset, length;
    if (!OptionalNumber(req, "Upload-Offset", &offset) || !offset) {
      return WriteError(req, res, Err::kInvalidUploadOffset);
    }
    if (!OptionalNumber(req, "Upload-Length", &length)) return WriteError(req, res, Err::kInvalidUploadLength);
    std::optional<tus::Checksum> checksum;
    if (auto err = ParseChecksumHeader(req, &checksum)) return WriteError(req, res, *err);
    auto upload = d_.ingest->Append(*session, req.matches[1], *offset, length, req.body, checksum);
    if (!upload.ok()) return WriteError(req, res, upload.error());
    SetUploadHeaders(res, upload.value());
    res.status = 204;
  }

  // ---- markers and client events ----

  // POST /api/v1/sessions/{id}/events with the session's upload token. Idempotent per event id, so
  // a client may resend a batch whose answer it lost.
  void AddEvents(const httplib::Request& req, httplib::Response& res) {
    auto session = AuthenticateToken(req, res);
    if (!session) return;
    if (session->id != req.matches[1]) return WriteError(req, res, Err::kForeignSession);
    auto events = ParseEvents(req.body);
    if (!events.ok()) return WriteError(req, res, events.error());
    auto added = d_.ingest->AddEvents(*session, events.value());
    if (!added.ok()) return WriteError(req, res, added.error());
    res.status = 201;
    nlohmann::json out = {{"stored", added.value()}, {"duplicates", events->size() - static_cast<size_t>(added.value())}};
    res.set_content(out.dump(), "application/json");
  }

  static Expected<std::vector<SessionEvent>> ParseEvents(const std::string& body_text) {
    constexpr size_t kMaxEvents = 500, kMaxText = 200, kMaxDataBytes = 16 * 1024;
    auto body = nlohmann::json::parse(body_text, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object()) return Err::kInvalidJson;
    auto list = body.find("events");
    if (list == body.end() || !list->is_array() || list->empty() || list->size() > kMaxEvents) {
      return ApiError{Err::kInvalidEvents, "events must hold 1 to " + std::to_string(kMaxEvents) + " entries"};
    }
    std::vector<SessionEvent> events;
    for (size_t i = 0; i < list->size(); ++i) {
      const auto& e = (*list)[i];
      auto bad = [&](const std::string& why) { return ApiError{Err::kInvalidEvents, "event " + std::to_string(i) + ": " + why}; };
      auto text = [&](const char* field) -> std::optional<std::string> {
        auto it = e.find(field);
        if (it == e.end() || !it->is_string()) return std::nullopt;
        return it->get<std::string>();
      };
      if (!e.is_object()) return bad("not an object");
      SessionEvent event;
      auto id = text("id"), type = text("type"), label = text("label");
      if (!id || id->empty() || id->size() > kMaxText) return bad("id must be a string of 1 to 200 bytes");
      if (!type || (*type != "marker" && *type != "client_event")) return bad("type must be marker or client_event");
      if (!label || label->empty() || label->size() > kMaxText) return bad("label must be a string of 1 to 200 bytes");
      auto time = e.find("recording_time_ms");
      if (time == e.end() || !time->is_number() || time->get<double>() < 0 || time->get<double>() > 1e12) {
        return bad("recording_time_ms must be a number >= 0");
      }
      event.client_id = *id;
      event.type = *type;
      event.label = *label;
      event.recording_time_ms = static_cast<int64_t>(time->get<double>() + 0.5);
      auto data = e.find("data");
      if (data != e.end() && !data->is_null() && !data->is_object()) return bad("data must be an object");
      event.data_json = data == e.end() || data->is_null() ? "{}" : data->dump();
      if (event.data_json.size() > kMaxDataBytes) return bad("data is over 16 KiB");
      if (auto wall = text("wall_time")) event.wall_time = wall->substr(0, 64);
      // The upload is named by its URL's last segment; Ingest checks it is one of this session's.
      if (auto url = text("upload_url"); url && !url->empty()) event.upload_id = url->substr(url->find_last_of('/') + 1);
      events.push_back(std::move(event));
    }
    return events;
  }

  void Delete(const httplib::Request& req, httplib::Response& res) {
    auto session = Authenticate(req, res);
    if (!session) return;
    auto done = d_.ingest->Terminate(*session, req.matches[1]);
    if (!done.ok()) return WriteError(req, res, done.error());
    res.status = 204;
  }

 private:
  HttpDeps d_;
};

// The recorder ES module and its WASM core, which other sites' pages load from this server: their
// encoder Web Worker imports the scripts with importScripts (a no-cors request, which
// Cross-Origin-Resource-Policy: same-origin would block). Everything else stays same-origin.
bool IsEmbeddableStaticPath(const std::string& path) {
  return path.rfind("/recorder/", 0) == 0 || path.rfind("/gen/", 0) == 0;
}

// Static pages: cross-origin isolated (SharedArrayBuffer for the threaded WASM encoder).
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
  http.set_file_request_handler([](const httplib::Request& req, httplib::Response& res) {
    res.set_header("Cross-Origin-Opener-Policy", "same-origin");
    res.set_header("Cross-Origin-Embedder-Policy", "require-corp");
    res.set_header("Cross-Origin-Resource-Policy", IsEmbeddableStaticPath(req.path) ? "cross-origin" : "same-origin");
    res.set_header("Cache-Control", "no-cache");
  });
}

}  // namespace

void InstallHttpApi(httplib::Server& http, const HttpDeps& deps) {
  auto api = std::make_shared<Api>(deps);
  auto bind = [api](void (Api::*method)(const httplib::Request&, httplib::Response&)) -> httplib::Server::Handler {
    return [api, method](const httplib::Request& req, httplib::Response& res) { (api.get()->*method)(req, res); };
  };
  using Request = httplib::Request;
  using Response = httplib::Response;
  http.set_pre_routing_handler(httplib::Server::HandlerWithResponse(
      [api](const Request& req, Response& res) { return api->PreRoute(req, res); }));
  http.set_post_routing_handler([api](const Request& req, Response& res) { api->PostRoute(req, res); });
  http.set_error_handler(httplib::Server::HandlerWithResponse(
      [api](const Request& req, Response& res) { return api->OnError(req, res); }));
  http.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
    WriteError(req, res, {Err::kInternal, "exception escaped a handler"});
  });
  http.Get("/healthz", bind(&Api::Healthz));
  http.Get("/metrics", bind(&Api::Metrics));
  http.Post("/api/v1/sessions", bind(&Api::CreateSession));
  http.Post(R"(/api/v1/sessions/([^/]+)/events)", bind(&Api::AddEvents));
  http.Options(kCollectionRoute, bind(&Api::TusOptions));
  http.Options(kUploadRoute, bind(&Api::TusOptions));
  http.Post(kCollectionRoute, bind(&Api::Create));
  http.Get(kUploadRoute, bind(&Api::Head));  // cpp-httplib routes HEAD to GET handlers
  http.Patch(kUploadRoute, bind(&Api::Patch));
  http.Delete(kUploadRoute, bind(&Api::Delete));
  InstallResultsApi(http, deps);
  InstallStaticPages(http, deps.config->web_dir);
}

}  // namespace recorder::server
