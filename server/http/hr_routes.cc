// The results page's API, with an HR login (cookie + CSRF token on every state change):
// accounts, the session list and detail, Range playback and downloads, deletion, the audit log.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "base/crypto.h"
#include "base/printable.h"
#include "http/respond.h"
#include "http/routes.h"
#include "http/session_views.h"

namespace recorder::server {
namespace {

constexpr const char* kCookieName = "recorder_hr";

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

// How often a live view looks for newly acknowledged bytes: a chunk reaches the viewer at most
// this long after its PATCH was answered.
constexpr std::chrono::milliseconds kLivePollInterval{200};

// One of the HttpOptions::max_live_viewers places, held for as long as a live view streams.
// Thread-safe.
class LiveViewerSlot {
 public:
  LiveViewerSlot(std::atomic<int>* viewers, int max) : viewers_(viewers) { taken_ = viewers_->fetch_add(1) < max; }
  ~LiveViewerSlot() { viewers_->fetch_sub(1); }
  LiveViewerSlot(const LiveViewerSlot&) = delete;
  LiveViewerSlot& operator=(const LiveViewerSlot&) = delete;
  bool taken() const { return taken_; }

 private:
  std::atomic<int>* viewers_;
  bool taken_;
};

class HrRoutes {
 public:
  explicit HrRoutes(const HttpDeps& deps) : d_(deps) {}

  // ---- HR: login ----

  void Login(const Request& req, Response& res) {
    if (!SameOrigin(req)) return WriteError(req, res, {Err::kCsrfRejected, "login from another site"});
    auto body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object() || !body["username"].is_string() || !body["password"].is_string()) {
      return WriteError(req, res, {Err::kInvalidJson, "expected {username, password}"});
    }
    auto login = d_.accounts->Login(body["username"], body["password"], ClientAddress(req, d_.options.trusted_proxies));
    if (!login.ok()) return WriteError(req, res, login.error());
    std::string cookie =
        std::string(kCookieName) + "=" + login->cookie_token +
        "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(login->expires_at - d_.clock->NowSeconds());
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
    if (!Audit(req, res, *user, "account_create", "account:" + account->username,
               json{{"role", Name(account->role)}})) {
      return;
    }
    WriteJson(res, {{"username", account->username}, {"role", Name(account->role)}}, 201);
  }

  // ---- HR: reading ----

  void HrList(const Request& req, Response& res) {
    if (!RequireUser(req, res, false)) return;
    auto list = SessionListJson(*d_.results, req);
    if (!list.ok()) return WriteError(req, res, list.error());
    WriteJson(res, list.value());
  }

  // ?q=<words>&limit=1-100 (default 50): transcript lines that say them, audited with their count.
  void HrSearch(const Request& req, Response& res) {
    auto user = RequireUser(req, res, false);
    if (!user) return;
    int64_t limit = 50;
    if (req.has_param("limit") && !ParseInt(req.get_param_value("limit"), 1, 100, &limit)) {
      return WriteError(req, res, {Err::kBadRequest, "limit must be 1 to 100"});
    }
    auto found = d_.results->SearchTranscripts(req.get_param_value("q").substr(0, 1000), static_cast<int>(limit));
    if (!found.ok()) return WriteError(req, res, found.error());
    if (!Audit(req, res, *user, "search_transcripts", "", {{"hits", found->hits.size()}})) return;
    WriteJson(res, SearchJson(found.value()));
  }

  void HrSession(const Request& req, Response& res) {
    auto user = RequireUser(req, res, false);
    if (!user) return;
    auto detail = SessionDetailJson(*d_.results, req.matches[1]);
    if (!detail.ok()) return WriteError(req, res, detail.error());
    if (!Audit(req, res, *user, "view", "session:" + detail.value()["session_id"].get<std::string>())) return;
    WriteJson(res, detail.value());
  }

  void HrAnswerClip(const Request& req, Response& res) {
    auto user = RequireUser(req, res, false);
    if (!user) return;
    ServeAnswerClip(*d_.results, req, res, Actor(*user));
  }

  void HrTranscript(const Request& req, Response& res) {
    auto user = RequireUser(req, res, false);
    if (!user) return;
    ServeTranscript(*d_.results, req, res, Actor(*user));
  }

  // An admin runs a failed processing stage of the recording again.
  void HrRetryStage(const Request& req, Response& res) {
    auto user = RequireAdmin(req, res, true);
    if (!user) return;
    int64_t id;
    if (!ParseInt(req.matches[1], 1, INT64_MAX, &id)) return WriteError(req, res, Err::kRecordingNotFound);
    auto stage = d_.results->RetryStage(id, req.matches[2], Actor(*user));
    if (!stage.ok()) return WriteError(req, res, stage.error());
    WriteJson(res, StageJson(stage.value()));
  }

  // The webhook delivery log (admins): ?limit=1-1000, default 200.
  void HrWebhooks(const Request& req, Response& res) {
    if (!RequireAdmin(req, res, false)) return;
    int64_t limit = 200;
    if (req.has_param("limit") && !ParseInt(req.get_param_value("limit"), 1, 1000, &limit)) {
      return WriteError(req, res, {Err::kBadRequest, "limit must be 1 to 1000"});
    }
    auto deliveries = d_.results->Deliveries(static_cast<int>(limit));
    if (!deliveries.ok()) return WriteError(req, res, deliveries.error());
    json out = json::array();
    for (const JobRecord& job : deliveries.value()) out.push_back(DeliveryJson(job));
    WriteJson(res, {{"deliveries", out}});
  }

  void HrResendWebhook(const Request& req, Response& res) {
    auto user = RequireAdmin(req, res, true);
    if (!user) return;
    int64_t id;
    if (!ParseInt(req.matches[1], 1, INT64_MAX, &id)) return WriteError(req, res, Err::kDeliveryNotFound);
    auto resent = d_.results->ResendDelivery(id, Actor(*user));
    if (!resent.ok()) return WriteError(req, res, resent.error());
    res.status = 204;
  }

  void HrMedia(const Request& req, Response& res) { ServeMedia(req, res, /*download=*/false); }

  // A recording while it is received, as one open-ended WebM (chunked transfer): the header, the
  // Clusters from the last keyframe, then each new Cluster as its PATCH is acknowledged (see
  // ingest/live_view.h), until the upload ends. Every opening is audited. A viewer holds a
  // server thread for as long as it watches, so there are at most max_live_viewers at once; one
  // that stops reading is dropped when a write to it times out (--write-timeout-seconds).
  void HrLive(const Request& req, Response& res) {
    auto user = RequireUser(req, res, false);
    if (!user) return;
    int64_t id;
    if (!ParseInt(req.matches[1], 1, INT64_MAX, &id)) return WriteError(req, res, Err::kRecordingNotFound);
    auto view = d_.ingest->OpenLiveView(id);
    if (!view.ok()) return WriteError(req, res, view.error());
    if (req.method == "HEAD") {
      res.set_header("Content-Type", "video/webm");
      return;
    }
    auto viewer = std::make_shared<LiveViewerSlot>(&live_viewers_, d_.options.max_live_viewers);
    if (!viewer->taken()) return WriteError(req, res, Err::kTooManyLiveViewers);
    std::shared_ptr<LiveView> live = std::move(*view);
    const std::string target = "recording:" + std::to_string(id);
    if (!Audit(req, res, *user, "watch_live", target, {{"session", live->upload().session_id}})) return;
    spdlog::info("recording {} of session {} watched live by {}", id, live->upload().session_id, user->username);
    res.set_header("Cache-Control", "no-store");
    res.set_chunked_content_provider("video/webm", [live, viewer, id](size_t, httplib::DataSink& sink) {
      for (;;) {
        Expected<LiveView::Piece> piece = live->Next();
        if (!piece.ok()) {
          spdlog::warn("live view of recording {} ended: {}", id, Printable(piece.error().detail));
          return false;
        }
        if (!piece->bytes.empty()) return sink.write(piece->bytes.data(), piece->bytes.size());
        if (piece->ended) {
          sink.done();
          return true;
        }
        if (!sink.is_writable()) return false;
        std::this_thread::sleep_for(kLivePollInterval);
      }
    });
  }
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
      out.push_back({{"id", e.id},
                     {"at", e.at},
                     {"actor", e.actor},
                     {"action", e.action},
                     {"target", e.target},
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

 private:
  static std::string Actor(const HrUser& user) { return "hr:" + user.username; }

  // ?force=1 on a deletion: stop the session's uploads still receiving instead of answering 409.
  static bool Force(const Request& req) { return req.get_param_value("force") == "1"; }

  static json UserJson(const HrUser& user) {
    return {{"username", user.username}, {"role", Name(user.role)}, {"csrf_token", user.csrf_token}};
  }

  // Behind a TLS proxy (X-Forwarded-Proto: https) or when told so, cookies are Secure.
  bool Secure(const Request& req) const {
    return d_.options.secure_cookies || req.get_header_value("X-Forwarded-Proto") == "https";
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
      spdlog::warn("{} by {} from {}: CSRF check failed", LoggedRequest(req), user->username, req.remote_addr);
      WriteError(req, res, Err::kCsrfRejected);
      return std::nullopt;
    }
    return user.value();
  }

  std::optional<HrUser> RequireAdmin(const Request& req, Response& res, bool state_changing) {
    auto user = RequireUser(req, res, state_changing);
    if (user && !user->is_admin()) {
      spdlog::warn("{} by reviewer {}: admin only", LoggedRequest(req), user->username);
      WriteError(req, res, Err::kAdminOnly);
      return std::nullopt;
    }
    return user;
  }

  // Writes the audit entry, or the error when it cannot be written (then the action must not happen).
  // The audit is the first thing a view writes after its checks, so nothing is shown unaudited.
  bool Audit(const Request& req, Response& res, const HrUser& user, const std::string& action,
             const std::string& target, const json& detail = json::object()) {
    Status s = d_.results->Audit(Actor(user), action, target, detail.dump());
    if (!s.ok()) WriteError(req, res, InternalError(s));
    return s.ok();
  }

  // The finalized file with Range support (SelectRange: one range is 206, several the whole file).
  // A download is audited and named by the session id; playing (/media) is audited once per login
  // and recording. HEAD (which cpp-httplib routes here) sends no bytes and is not audited.
  void ServeMedia(const Request& req, Response& res, bool download) {
    auto user = RequireUser(req, res, false);
    if (!user) return;
    int64_t id;
    if (!ParseInt(req.matches[1], 1, INT64_MAX, &id)) return WriteError(req, res, Err::kRecordingNotFound);
    auto media = d_.results->Media(id);
    if (!media.ok()) return WriteError(req, res, media.error());
    const uint64_t size = media->reader->size();
    const std::optional<BodySlice> slice = SelectRange(req, res, size);
    if (!slice) return;
    std::string target = "recording:" + std::to_string(id);
    bool head = req.method == "HEAD";
    if (download && !head) {
      if (!Audit(req, res, *user, "download", target, {{"session", media->session_id}, {"bytes", size}})) return;
      spdlog::info("recording {} of session {} downloaded by {}", id, media->session_id, user->username);
    }
    if (!download && !head && plays_.First(*user, id, d_.clock->NowSeconds())) {
      if (!Audit(req, res, *user, "play", target, {{"session", media->session_id}})) return plays_.Forget(*user, id);
      spdlog::info("recording {} of session {} played by {}", id, media->session_id, user->username);
    }
    WriteMedia(res, media.value(), *slice, download);
  }

  HttpDeps d_;
  PlaysSeen plays_;
  std::atomic<int> live_viewers_{0};  // live views streaming now (LiveViewerSlot)
};

}  // namespace

void InstallHrRoutes(httplib::Server& http, const HttpDeps& deps) {
  auto api = std::make_shared<HrRoutes>(deps);
  auto bind = [api](void (HrRoutes::*method)(const Request&, Response&)) -> httplib::Server::Handler {
    return [api, method](const Request& req, Response& res) { (api.get()->*method)(req, res); };
  };
  http.Post("/api/v1/hr/login", bind(&HrRoutes::Login));
  http.Post("/api/v1/hr/logout", bind(&HrRoutes::Logout));
  http.Get("/api/v1/hr/me", bind(&HrRoutes::Me));
  http.Post("/api/v1/hr/accounts", bind(&HrRoutes::CreateAccount));
  http.Get("/api/v1/hr/sessions", bind(&HrRoutes::HrList));
  http.Get(R"(/api/v1/hr/sessions/([^/]+))", bind(&HrRoutes::HrSession));
  http.Get(R"(/api/v1/hr/sessions/([^/]+)/transcript)", bind(&HrRoutes::HrTranscript));
  http.Get("/api/v1/hr/search", bind(&HrRoutes::HrSearch));
  http.Get(R"(/api/v1/hr/sessions/([^/]+)/answers/([^/]+)/clip)", bind(&HrRoutes::HrAnswerClip));
  http.Delete(R"(/api/v1/hr/sessions/([^/]+))", bind(&HrRoutes::HrDeleteSession));
  http.Delete(R"(/api/v1/hr/candidates/([^/]+))", bind(&HrRoutes::HrDeleteCandidate));
  http.Get(R"(/api/v1/hr/recordings/([^/]+)/media)", bind(&HrRoutes::HrMedia));
  http.Get(R"(/api/v1/hr/recordings/([^/]+)/live)", bind(&HrRoutes::HrLive));
  http.Post(R"(/api/v1/hr/recordings/([^/]+)/stages/([^/]+)/retry)", bind(&HrRoutes::HrRetryStage));
  http.Get(R"(/api/v1/hr/recordings/([^/]+)/download)", bind(&HrRoutes::HrDownload));
  http.Get("/api/v1/hr/audit", bind(&HrRoutes::HrAudit));
  http.Get("/api/v1/hr/webhooks", bind(&HrRoutes::HrWebhooks));
  http.Post(R"(/api/v1/hr/webhooks/([^/]+)/resend)", bind(&HrRoutes::HrResendWebhook));
}

}  // namespace recorder::server
