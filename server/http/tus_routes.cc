// The routes the candidate's page uses with its session's upload token: tus 1.0.0 uploads
// (creation, creation-with-upload, creation-defer-length, termination, expiration, checksum) and
// the session's questions, markers and client events.
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "http/respond.h"
#include "http/routes.h"
#include "http/session_views.h"
#include "ingest/tus_protocol.h"

namespace recorder::server {
namespace {

constexpr const char* kTusEndpoint = "/files/";
constexpr const char* kUploadRoute = R"(/files/([^/]+))";
constexpr const char* kCollectionRoute = R"(/files/?)";

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
  if (upload.state == UploadState::kReceiving) res.set_header("Upload-Expires", tus::HttpDate(upload.expires_at));
}

class TusRoutes {
 public:
  explicit TusRoutes(const HttpDeps& deps) : d_(deps) {}

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
      spdlog::warn("{} from {}: {}", LoggedRequest(req), req.remote_addr, Spec(session.error().err).message);
      WriteError(req, res, session.error());
      return std::nullopt;
    }
    return session.value();
  }

  // The upload token's session when it is the route's /sessions/{id}; otherwise the error is
  // written (403 for another session's token) and nullopt returned.
  std::optional<Session> AuthenticateRouteSession(const httplib::Request& req, httplib::Response& res) {
    auto session = AuthenticateToken(req, res);
    if (session && session->id != req.matches[1]) {
      WriteError(req, res, Err::kForeignSession);
      return std::nullopt;
    }
    return session;
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
    if (auto it = metadata->find("kind"); it != metadata->end() && !ParseName(it->second, &kind)) {
      return WriteError(req, res, {Err::kInvalidKind, "got '" + it->second + "'"});
    }
    // creation-with-upload: every check on the body happens before the upload exists.
    std::optional<tus::Checksum> checksum;
    if (!req.body.empty()) {
      if (!IsOffsetContentType(req)) return WriteError(req, res, Err::kWrongContentType);
      if (auto err = ParseChecksumHeader(req, &checksum)) return WriteError(req, res, *err);
    }
    auto upload = d_.ingest->CreateUpload(*session, length, kind, raw_metadata, req.body, checksum);
    if (!upload.ok()) return WriteError(req, res, upload.error());
    res.set_header("Location", std::string(kTusEndpoint) + upload->id);
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
    auto session = AuthenticateRouteSession(req, res);
    if (!session) return;
    auto events = ParseEvents(req.body);
    if (!events.ok()) return WriteError(req, res, events.error());
    auto added = d_.ingest->AddEvents(*session, events.value());
    if (!added.ok()) return WriteError(req, res, added.error());
    res.status = 201;
    nlohmann::json out = {{"stored", added.value()},
                          {"duplicates", events->size() - static_cast<size_t>(added.value())}};
    res.set_content(out.dump(), "application/json");
  }

  // The candidate ended the interview (the page sends this once the server has every byte and
  // marker): 204, also when it was ended before.
  void End(const httplib::Request& req, httplib::Response& res) {
    auto session = AuthenticateRouteSession(req, res);
    if (!session) return;
    auto ended = d_.ingest->End(*session);
    if (!ended.ok()) return WriteError(req, res, ended.error());
    res.status = 204;
  }

  // What the interview page shows: the host's questions (not cached: WriteJson says no-store), and
  // whether the interview was ended (by another browser of the candidate's, say): then the page
  // records nothing more.
  void Questions(const httplib::Request& req, httplib::Response& res) {
    auto session = AuthenticateRouteSession(req, res);
    if (!session) return;
    auto questions = d_.ingest->Questions(*session);
    if (!questions.ok()) return WriteError(req, res, questions.error());
    WriteJson(res, {{"questions", QuestionsJson(questions.value())}, {"ended", session->ended_at != 0}});
  }

  static Expected<std::vector<SessionEvent>> ParseEvents(const std::string& body_text) {
    // The recorder checks the same limits before it sends (web/recorder/events.js).
    constexpr size_t kMaxEvents = 500, kMaxText = 200, kMaxDataBytes = 16 * 1024;
    auto parsed = ParseJsonObject(body_text);
    if (!parsed.ok()) return parsed.error();
    const nlohmann::json& body = parsed.value();
    auto list = body.find("events");
    if (list == body.end() || !list->is_array() || list->empty() || list->size() > kMaxEvents) {
      return ApiError{Err::kInvalidEvents, "events must hold 1 to " + std::to_string(kMaxEvents) + " entries"};
    }
    std::vector<SessionEvent> events;
    for (size_t i = 0; i < list->size(); ++i) {
      const auto& e = (*list)[i];
      auto bad = [&](const std::string& why) {
        return ApiError{Err::kInvalidEvents, "event " + std::to_string(i) + ": " + why};
      };
      auto text = [&](const char* field) -> std::optional<std::string> {
        auto it = e.find(field);
        if (it == e.end() || !it->is_string()) return std::nullopt;
        return it->get<std::string>();
      };
      if (!e.is_object()) return bad("not an object");
      SessionEvent event;
      auto id = text("id"), type = text("type"), label = text("label");
      if (!id || id->empty() || id->size() > kMaxText) return bad("id must be a string of 1 to 200 bytes");
      if (!type || !ParseName(*type, &event.type)) return bad("type must be marker or client_event");
      if (!label || label->empty() || label->size() > kMaxText) return bad("label must be a string of 1 to 200 bytes");
      auto time = e.find("recording_time_ms");
      if (time == e.end() || !time->is_number() || time->get<double>() < 0 || time->get<double>() > 1e12) {
        return bad("recording_time_ms must be a number >= 0");
      }
      event.client_id = *id;
      event.label = *label;
      event.recording_time_ms = static_cast<int64_t>(time->get<double>() + 0.5);
      auto data = e.find("data");
      if (data != e.end() && !data->is_null() && !data->is_object()) return bad("data must be an object");
      event.data_json = data == e.end() || data->is_null() ? "{}" : data->dump();
      if (event.data_json.size() > kMaxDataBytes) return bad("data is over 16 KiB");
      if (auto wall = text("wall_time")) event.wall_time = wall->substr(0, 64);
      // The upload is named by its URL's last segment; Ingest checks it is one of this session's.
      if (auto url = text("upload_url"); url && !url->empty())
        event.upload_id = url->substr(url->find_last_of('/') + 1);
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

}  // namespace

void InstallTusRoutes(httplib::Server& http, const HttpDeps& deps) {
  auto routes = std::make_shared<TusRoutes>(deps);
  auto bind = [routes](void (TusRoutes::*method)(const httplib::Request&, httplib::Response&)) {
    return [routes, method](const httplib::Request& req, httplib::Response& res) { (routes.get()->*method)(req, res); };
  };
  http.Post(R"(/api/v1/sessions/([^/]+)/events)", bind(&TusRoutes::AddEvents));
  http.Get(R"(/api/v1/sessions/([^/]+)/questions)", bind(&TusRoutes::Questions));
  http.Post(R"(/api/v1/sessions/([^/]+)/end)", bind(&TusRoutes::End));
  http.Options(kCollectionRoute, bind(&TusRoutes::TusOptions));
  http.Options(kUploadRoute, bind(&TusRoutes::TusOptions));
  http.Post(kCollectionRoute, bind(&TusRoutes::Create));
  http.Get(kUploadRoute, bind(&TusRoutes::Head));  // cpp-httplib routes HEAD to GET handlers
  http.Patch(kUploadRoute, bind(&TusRoutes::Patch));
  http.Delete(kUploadRoute, bind(&TusRoutes::Delete));
}

}  // namespace recorder::server
