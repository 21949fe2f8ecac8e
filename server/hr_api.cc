// Routes of the results side: the HR API (login cookie + CSRF token, /api/v1/hr/...) and the host
// platform's read API (API key, GET /api/v1/sessions...). Validates and delegates to Accounts and
// Results; errors go through WriteError like every other route.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "http_api.h"

namespace recorder::server {
namespace {

constexpr const char* kCookieName = "recorder_hr";
constexpr int kMaxListLimit = 500;

using httplib::Request;
using httplib::Response;
using nlohmann::json;

// The value of one cookie from the Cookie header; empty when absent.
std::string CookieValue(const Request& req, const std::string& name) {
  const std::string header = req.get_header_value("Cookie");
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string pair = header.substr(pos, end - pos);
    size_t start = pair.find_first_not_of(' ');
    if (start != std::string::npos && pair.compare(start, name.size() + 1, name + "=") == 0) {
      return pair.substr(start + name.size() + 1);
    }
    pos = end + 1;
  }
  return {};
}

// "YYYY-MM-DD" -> Unix seconds at 00:00 UTC; false when malformed.
bool ParseDate(const std::string& text, int64_t* out) {
  std::tm tm{};
  int y, m, d;
  char rest;
  if (text.size() != 10 || std::sscanf(text.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &rest) != 3) return false;
  if (m < 1 || m > 12 || d < 1 || d > 31 || y < 1970) return false;
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  *out = static_cast<int64_t>(timegm(&tm));
  return true;
}

bool ParseInt(const std::string& text, int64_t min, int64_t max, int64_t* out) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos) return false;
  *out = std::stoll(text);
  return *out >= min && *out <= max;
}

Expected<SessionFilter> ParseFilter(const Request& req) {
  SessionFilter filter;
  auto bad = [](const std::string& why) { return ApiError{Err::kInvalidFilter, why}; };
  filter.text = req.get_param_value("q").substr(0, 200);
  filter.job = req.get_param_value("job").substr(0, 200);
  filter.status = req.get_param_value("status");
  if (!filter.status.empty() && filter.status != "recording" && filter.status != "processing" &&
      filter.status != "ready" && filter.status != "failed" && filter.status != "empty") {
    return bad("unknown status '" + filter.status.substr(0, 40) + "'");
  }
  int64_t value;
  if (req.has_param("from") && !req.get_param_value("from").empty()) {
    if (!ParseDate(req.get_param_value("from"), &value)) return bad("from must be YYYY-MM-DD");
    filter.created_from = value;
  }
  if (req.has_param("to") && !req.get_param_value("to").empty()) {
    if (!ParseDate(req.get_param_value("to"), &value)) return bad("to must be YYYY-MM-DD");
    filter.created_to = value + 86400 - 1;  // inclusive: the whole day
  }
  if (req.has_param("limit")) {
    if (!ParseInt(req.get_param_value("limit"), 1, kMaxListLimit, &value)) return bad("limit must be 1 to 500");
    filter.limit = static_cast<int>(value);
  }
  if (req.has_param("offset")) {
    if (!ParseInt(req.get_param_value("offset"), 0, INT32_MAX, &value)) return bad("offset must be >= 0");
    filter.offset = static_cast<int>(value);
  }
  return filter;
}

json OptionalNumber(std::optional<uint64_t> value) { return value ? json(*value) : json(nullptr); }

json RecordingJson(const Recording& r) {
  return {{"id", r.id},
          {"part", OptionalNumber(RecordingMetadataNumber(r, "part"))},
          {"start_ms", OptionalNumber(RecordingMetadataNumber(r, "start_ms"))},
          {"kind", r.kind},
          {"status", r.status},
          {"duration_ms", r.duration_ms},
          {"bytes", r.bytes},
          {"created_at", r.created_at},
          {"finalized_at", r.finalized_at ? json(r.finalized_at) : json(nullptr)},
          {"failure_reason", r.failure_reason.empty() ? json(nullptr) : json(r.failure_reason)},
          {"incomplete", r.incomplete}};
}

json SessionJson(const SessionSummary& s) {
  json recordings = json::array();
  // On the session clock: until the end of the latest part of any kind (a continuation after a
  // reload starts at its start_ms; a client that sends none starts its files at 0).
  int64_t duration_ms = 0;
  uint64_t bytes = 0;
  for (const Recording& r : s.recordings) {
    recordings.push_back(RecordingJson(r));
    int64_t start_ms = static_cast<int64_t>(RecordingMetadataNumber(r, "start_ms").value_or(0));
    duration_ms = std::max(duration_ms, start_ms + r.duration_ms);
    bytes += r.bytes;
  }
  return {{"session_id", s.session_id},
          {"candidate_id", s.candidate_id},
          {"candidate_name", s.candidate_name},
          {"candidate_email", s.candidate_email},
          {"job", s.job},
          {"created_at", s.created_at},
          {"status", s.status},
          {"duration_ms", duration_ms},
          {"bytes", bytes},
          {"recordings", recordings}};
}

json MarkersJson(const std::vector<SessionEvent>& events) {
  json out = json::array();
  for (const SessionEvent& e : events) {
    out.push_back({{"id", e.client_id},
                   {"type", e.type},
                   {"label", e.label},
                   {"recording_time_ms", e.recording_time_ms},
                   {"data", json::parse(e.data_json, nullptr, false)},
                   {"recording_id", e.recording_id ? json(e.recording_id) : json(nullptr)}});
  }
  return out;
}

void WriteJson(Response& res, const json& body, int status = 200) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(body.dump(), "application/json");
}

// An open file whose descriptor lives as long as the response that streams it.
struct OpenFile {
  int fd = -1;
  ~OpenFile() {
    if (fd >= 0) ::close(fd);
  }
};

// The recordings each login has played. The page fetches /media in many Range requests (and again
// after every seek); a play is audited once per login and recording. Kept in memory: after a
// restart a login's next play is audited again. Thread-safe.
class PlaysSeen {
 public:
  // true the first time this login plays this recording. Forgets logins that have expired.
  bool First(const HrUser& user, int64_t recording_id, int64_t now) {
    std::lock_guard lock(mu_);
    std::erase_if(logins_, [now](const auto& login) { return login.second.expires_at <= now; });
    Login& login = logins_[user.login_token_sha256];
    login.expires_at = user.login_expires_at;
    return login.recordings.insert(recording_id).second;
  }
  // Undoes First() when its audit entry could not be written.
  void Forget(const HrUser& user, int64_t recording_id) {
    std::lock_guard lock(mu_);
    logins_[user.login_token_sha256].recordings.erase(recording_id);
  }

 private:
  struct Login {
    int64_t expires_at = 0;
    std::set<int64_t> recordings;
  };
  std::mutex mu_;
  std::map<std::string, Login> logins_;  // by the login's token hash
};

class ResultsApi {
 public:
  explicit ResultsApi(const HttpDeps& deps) : d_(deps) {}

  // ---- HR: login ----

  void Login(const Request& req, Response& res) {
    if (!SameOrigin(req)) return WriteError(req, res, {Err::kCsrfRejected, "login from another site"});
    auto body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object() || !body["username"].is_string() || !body["password"].is_string()) {
      return WriteError(req, res, {Err::kInvalidJson, "expected {username, password}"});
    }
    auto login = d_.accounts->Login(body["username"], body["password"], req.remote_addr);
    if (!login.ok()) return WriteError(req, res, login.error());
    std::string cookie = std::string(kCookieName) + "=" + login->cookie_token + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                         std::to_string(login->expires_at - d_.clock->NowSeconds());
    if (Secure(req)) cookie += "; Secure";
    res.set_header("Set-Cookie", cookie);
    WriteJson(res, UserJson(login->user));
  }

  void Logout(const Request& req, Response& res) {
    auto user = RequireUser(req, res, /*state_changing=*/true);
    if (!user) return;
    d_.accounts->Logout(*user);
    res.set_header("Set-Cookie", std::string(kCookieName) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    res.status = 204;
  }

  void Me(const Request& req, Response& res) {
    auto user = RequireUser(req, res, false);
    if (user) WriteJson(res, UserJson(*user));
  }

  void CreateAccount(const Request& req, Response& res) {
    auto user = RequireAdmin(req, res, true);
    if (!user) return;
    auto body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body["username"].is_string() || !body["password"].is_string() ||
        !body["role"].is_string()) {
      return WriteError(req, res, {Err::kInvalidJson, "expected {username, password, role}"});
    }
    auto account = d_.accounts->Create(body["username"], body["password"], body["role"]);
    if (!account.ok()) return WriteError(req, res, account.error());
    if (!Audit(req, res, *user, "account_create", "account:" + account->username, json{{"role", account->role}})) return;
    WriteJson(res, {{"username", account->username}, {"role", account->role}}, 201);
  }

  // ---- HR: reading ----

  void HrList(const Request& req, Response& res) {
    if (RequireUser(req, res, false)) List(req, res);
  }

  void HrSession(const Request& req, Response& res) {
    auto user = RequireUser(req, res, false);
    if (!user) return;
    auto detail = SessionDetail(req.matches[1]);
    if (!detail.ok()) return WriteError(req, res, detail.error());
    if (!Audit(req, res, *user, "view", "session:" + detail.value()["session_id"].get<std::string>())) return;
    WriteJson(res, detail.value());
  }

  void HrMedia(const Request& req, Response& res) { ServeMedia(req, res, /*download=*/false); }
  void HrDownload(const Request& req, Response& res) { ServeMedia(req, res, /*download=*/true); }

  void HrAudit(const Request& req, Response& res) {
    if (!RequireAdmin(req, res, false)) return;
    int64_t limit = 200;
    if (req.has_param("limit") && !ParseInt(req.get_param_value("limit"), 1, 5000, &limit)) {
      return WriteError(req, res, {Err::kInvalidFilter, "limit must be 1 to 5000"});
    }
    auto entries = d_.results->AuditLog(static_cast<int>(limit));
    if (!entries.ok()) return WriteError(req, res, entries.error());
    json out = json::array();
    for (const AuditEntry& e : entries.value()) {
      out.push_back({{"id", e.id}, {"at", e.at}, {"actor", e.actor}, {"action", e.action}, {"target", e.target},
                     {"detail", json::parse(e.detail_json, nullptr, false)}});
    }
    WriteJson(res, {{"entries", out}});
  }

  // ---- HR: deleting ----

  void HrDeleteSession(const Request& req, Response& res) {
    auto user = RequireAdmin(req, res, true);
    if (!user) return;
    auto deleted = d_.results->DeleteSession(req.matches[1], Actor(*user), Force(req));
    if (!deleted.ok()) return WriteError(req, res, deleted.error());
    res.status = 204;
  }

  void HrDeleteCandidate(const Request& req, Response& res) {
    auto user = RequireAdmin(req, res, true);
    if (!user) return;
    int64_t id;
    if (!ParseInt(req.matches[1], 1, INT64_MAX, &id)) return WriteError(req, res, Err::kCandidateNotFound);
    auto deleted = d_.results->DeleteCandidate(id, Actor(*user), Force(req));
    if (!deleted.ok()) return WriteError(req, res, deleted.error());
    res.status = 204;
  }

  // ---- host platform (API key) ----

  void HostList(const Request& req, Response& res) {
    if (RequireApiKey(req, res)) List(req, res);
  }

  void HostSession(const Request& req, Response& res) {
    if (!RequireApiKey(req, res)) return;
    auto detail = SessionDetail(req.matches[1]);
    if (!detail.ok()) return WriteError(req, res, detail.error());
    std::string target = "session:" + detail.value()["session_id"].get<std::string>();
    if (Status s = d_.results->Audit("api-key", "view", target); !s.ok()) return WriteError(req, res, InternalError(s));
    WriteJson(res, detail.value());
  }

 private:
  static std::string Actor(const HrUser& user) { return "hr:" + user.username; }

  // ?force=1 on a deletion: stop the session's uploads still receiving instead of answering 409.
  static bool Force(const Request& req) { return req.get_param_value("force") == "1"; }

  static json UserJson(const HrUser& user) {
    return {{"username", user.username}, {"role", user.role}, {"csrf_token", user.csrf_token}};
  }

  // Behind a TLS proxy (X-Forwarded-Proto: https) or when told so, cookies are Secure.
  bool Secure(const Request& req) const {
    return d_.config->secure_cookies || req.get_header_value("X-Forwarded-Proto") == "https";
  }

  // A browser's Origin, when it sends one, must be this server (defence beside SameSite and the token).
  static bool SameOrigin(const Request& req) {
    if (!req.has_header("Origin")) return true;
    std::string origin = req.get_header_value("Origin");
    size_t scheme = origin.find("://");
    return scheme != std::string::npos && origin.substr(scheme + 3) == req.get_header_value("Host");
  }

  std::optional<HrUser> RequireUser(const Request& req, Response& res, bool state_changing) {
    auto user = d_.accounts->Authenticate(CookieValue(req, kCookieName));
    if (!user.ok()) {
      WriteError(req, res, user.error());
      return std::nullopt;
    }
    if (state_changing && (!SameOrigin(req) || !SameSecret(req.get_header_value("X-CSRF-Token"), user->csrf_token))) {
      spdlog::warn("{} {} by {} from {}: CSRF check failed", req.method, req.path, user->username, req.remote_addr);
      WriteError(req, res, Err::kCsrfRejected);
      return std::nullopt;
    }
    return user.value();
  }

  std::optional<HrUser> RequireAdmin(const Request& req, Response& res, bool state_changing) {
    auto user = RequireUser(req, res, state_changing);
    if (user && !user->is_admin()) {
      spdlog::warn("{} {} by reviewer {}: admin only", req.method, req.path, user->username);
      WriteError(req, res, Err::kAdminOnly);
      return std::nullopt;
    }
    return user;
  }

  bool RequireApiKey(const Request& req, Response& res) {
    std::string key = BearerToken(req);
    if (key.empty()) {
      WriteError(req, res, Err::kMissingApiKey);
      return false;
    }
    if (!SameSecret(key, d_.api_key)) {
      spdlog::warn("{} {} with a wrong API key from {}", req.method, req.path, req.remote_addr);
      WriteError(req, res, Err::kInvalidApiKey);
      return false;
    }
    return true;
  }

  // Writes the audit entry, or the error when it cannot be written (then the action must not happen).
  // The audit is the first thing a view writes after its checks, so nothing is shown unaudited.
  bool Audit(const Request& req, Response& res, const HrUser& user, const std::string& action,
             const std::string& target, const json& detail = json::object()) {
    Status s = d_.results->Audit(Actor(user), action, target, detail.dump());
    if (!s.ok()) WriteError(req, res, InternalError(s));
    return s.ok();
  }

  // A session with its recordings and markers.
  Expected<json> SessionDetail(const std::string& session_id) {
    auto session = d_.results->Get(session_id);
    if (!session.ok()) return session.error();
    auto markers = d_.results->Markers(session_id);
    if (!markers.ok()) return markers.error();
    json out = SessionJson(session.value());
    out["markers"] = MarkersJson(markers.value());
    return out;
  }

  void List(const Request& req, Response& res) {
    auto filter = ParseFilter(req);
    if (!filter.ok()) return WriteError(req, res, filter.error());
    auto page = d_.results->List(filter.value());
    if (!page.ok()) return WriteError(req, res, page.error());
    json sessions = json::array();
    for (const SessionSummary& s : page->sessions) sessions.push_back(SessionJson(s));
    WriteJson(res, {{"total", page->total}, {"sessions", sessions}});
  }

  // The finalized file with Range support (cpp-httplib answers 206 and Content-Range for the
  // ranges it parsed). A download is audited and named by the session id; playing (/media) is
  // audited once per login and recording. HEAD (which cpp-httplib routes here) sends no bytes
  // and is not audited.
  void ServeMedia(const Request& req, Response& res, bool download) {
    auto user = RequireUser(req, res, false);
    if (!user) return;
    int64_t id;
    if (!ParseInt(req.matches[1], 1, INT64_MAX, &id)) return WriteError(req, res, Err::kRecordingNotFound);
    auto media = d_.results->Media(id);
    if (!media.ok()) return WriteError(req, res, media.error());
    for (const auto& [first, last] : req.ranges) {
      if (first >= 0 && static_cast<uint64_t>(first) >= media->size) {
        res.set_header("Content-Range", "bytes */" + std::to_string(media->size));
        return WriteError(req, res, Err::kRangeNotSatisfiable);
      }
    }
    auto file = std::make_shared<OpenFile>();
    file->fd = ::open(media->absolute_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (file->fd < 0) return WriteError(req, res, {Err::kRecordingNotReady, "the file cannot be opened"});
    std::string target = "recording:" + std::to_string(id);
    bool head = req.method == "HEAD";
    if (download && !head) {
      if (!Audit(req, res, *user, "download", target, {{"session", media->session_id}, {"bytes", media->size}})) return;
      spdlog::info("recording {} of session {} downloaded by {}", id, media->session_id, user->username);
    }
    if (!download && !head && plays_.First(*user, id, d_.clock->NowSeconds())) {
      if (!Audit(req, res, *user, "play", target, {{"session", media->session_id}})) return plays_.Forget(*user, id);
      spdlog::info("recording {} of session {} played by {}", id, media->session_id, user->username);
    }
    if (download) res.set_header("Content-Disposition", "attachment; filename=\"" + media->download_name + "\"");
    res.set_header("Accept-Ranges", "bytes");
    res.set_header("Cache-Control", "private, no-store");
    res.set_content_provider(
        media->size, "video/webm", [file](size_t offset, size_t length, httplib::DataSink& sink) {
          char buffer[64 * 1024];
          ssize_t n = ::pread(file->fd, buffer, std::min(length, sizeof buffer), static_cast<off_t>(offset));
          if (n <= 0) return false;  // the file shrank or failed: cut the response short
          return sink.write(buffer, static_cast<size_t>(n));
        });
  }

  HttpDeps d_;
  PlaysSeen plays_;
};

}  // namespace

void InstallResultsApi(httplib::Server& http, const HttpDeps& deps) {
  auto api = std::make_shared<ResultsApi>(deps);
  auto bind = [api](void (ResultsApi::*method)(const Request&, Response&)) -> httplib::Server::Handler {
    return [api, method](const Request& req, Response& res) { (api.get()->*method)(req, res); };
  };
  http.Post("/api/v1/hr/login", bind(&ResultsApi::Login));
  http.Post("/api/v1/hr/logout", bind(&ResultsApi::Logout));
  http.Get("/api/v1/hr/me", bind(&ResultsApi::Me));
  http.Post("/api/v1/hr/accounts", bind(&ResultsApi::CreateAccount));
  http.Get("/api/v1/hr/sessions", bind(&ResultsApi::HrList));
  http.Get(R"(/api/v1/hr/sessions/([^/]+))", bind(&ResultsApi::HrSession));
  http.Delete(R"(/api/v1/hr/sessions/([^/]+))", bind(&ResultsApi::HrDeleteSession));
  http.Delete(R"(/api/v1/hr/candidates/([^/]+))", bind(&ResultsApi::HrDeleteCandidate));
  http.Get(R"(/api/v1/hr/recordings/([^/]+)/media)", bind(&ResultsApi::HrMedia));
  http.Get(R"(/api/v1/hr/recordings/([^/]+)/download)", bind(&ResultsApi::HrDownload));
  http.Get("/api/v1/hr/audit", bind(&ResultsApi::HrAudit));
  http.Get("/api/v1/sessions", bind(&ResultsApi::HostList));
  http.Get(R"(/api/v1/sessions/([^/]+))", bind(&ResultsApi::HostSession));
}

}  // namespace recorder::server
