// The host platform's API, with its API key: create a session for a candidate, then list and
// read sessions, their recordings' status and their transcripts; register the webhook endpoints
// of its pipeline.
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "base/crypto.h"
#include "http/respond.h"
#include "http/routes.h"
#include "http/session_views.h"

namespace recorder::server {
namespace {

using httplib::Request;
using httplib::Response;

class HostApiRoutes {
 public:
  explicit HostApiRoutes(const HttpDeps& deps) : d_(deps) {}

  void CreateSession(const Request& req, Response& res) {
    if (!RequireApiKey(req, res)) return;
    auto parsed = ParseJsonObject(req.body);
    if (!parsed.ok()) return WriteError(req, res, parsed.error());
    const nlohmann::json& body = parsed.value();
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
    if (auto it = body.find("job"); it != body.end() && !it->is_null())
      job = it->is_string() ? it->get<std::string>() : it->dump();
    if (name.find_first_not_of(" \t\r\n") == std::string::npos) return WriteError(req, res, Err::kMissingCandidateName);
    auto questions = ParseQuestions(body);
    if (!questions.ok()) return WriteError(req, res, questions.error());
    auto session = d_.ingest->CreateSession(name, email, job, questions.value());
    if (!session.ok()) return WriteError(req, res, session.error());
    WriteJson(res,
              {{"session_id", session->session_id},
               {"upload_token", session->upload_token},
               {"tus_endpoint", "/files/"},
               {"expires_at", session->expires_at},
               {"questions", QuestionsJson(questions.value())}},
              201);
  }

  void List(const Request& req, Response& res) {
    if (!RequireApiKey(req, res)) return;
    auto list = SessionListJson(*d_.results, req);
    if (!list.ok()) return WriteError(req, res, list.error());
    WriteJson(res, list.value());
  }

  // A read of a session's personal data is audited, as for an HR reviewer.
  void Session(const Request& req, Response& res) {
    if (!RequireApiKey(req, res)) return;
    auto detail = SessionDetailJson(*d_.results, req.matches[1]);
    if (!detail.ok()) return WriteError(req, res, detail.error());
    std::string target = "session:" + detail.value()["session_id"].get<std::string>();
    if (Status s = d_.results->Audit("api-key", "view", target); !s.ok()) return WriteError(req, res, InternalError(s));
    WriteJson(res, detail.value());
  }

  void AnswerClip(const Request& req, Response& res) {
    if (!RequireApiKey(req, res)) return;
    ServeAnswerClip(*d_.results, req, res, "api-key");
  }

  void Transcript(const Request& req, Response& res) {
    if (!RequireApiKey(req, res)) return;
    ServeTranscript(*d_.results, req, res, "api-key");
  }

  // {url, events?, secret?}: 201 with the endpoint and its secret (made here when not given; the
  // only answer that shows it).
  void CreateWebhook(const Request& req, Response& res) {
    if (!RequireApiKey(req, res)) return;
    auto parsed = ParseJsonObject(req.body);
    if (!parsed.ok()) return WriteError(req, res, parsed.error());
    const nlohmann::json& body = parsed.value();
    auto url = body.find("url"), events = body.find("events"), secret = body.find("secret");
    if (url == body.end() || !url->is_string())
      return WriteError(req, res, {Err::kInvalidWebhook, "url must be a string"});
    std::vector<std::string> types;
    if (events != body.end() && !events->is_null()) {
      if (!events->is_array()) return WriteError(req, res, {Err::kInvalidWebhook, "events must be a list"});
      for (const auto& e : *events) {
        if (!e.is_string()) return WriteError(req, res, {Err::kInvalidWebhook, "events must be strings"});
        types.push_back(e.get<std::string>());
      }
    }
    std::string given;
    if (secret != body.end() && !secret->is_null()) {
      if (!secret->is_string()) return WriteError(req, res, {Err::kInvalidWebhook, "secret must be a string"});
      given = secret->get<std::string>();
    }
    auto webhook = d_.webhooks->Register(url->get<std::string>(), types, given);
    if (!webhook.ok()) {
      const StatusCode code = webhook.status().code();
      if (code == StatusCode::kInvalidArgument)
        return WriteError(req, res, {Err::kInvalidWebhook, webhook.status().message()});
      if (code == StatusCode::kFailedPrecondition) return WriteError(req, res, Err::kTooManyWebhooks);
      return WriteError(req, res, InternalError(webhook.status()));
    }
    (void)d_.results->Audit("api-key", "create_webhook", "webhook:" + webhook->id);
    nlohmann::json out = WebhookJson(*webhook);
    out["secret"] = webhook->secret;
    WriteJson(res, out, 201);
  }

  void ListWebhooks(const Request& req, Response& res) {
    if (!RequireApiKey(req, res)) return;
    auto webhooks = d_.webhooks->Registered();
    if (!webhooks.ok()) return WriteError(req, res, InternalError(webhooks.status()));
    nlohmann::json list = nlohmann::json::array();
    for (const RegisteredWebhook& w : *webhooks) list.push_back(WebhookJson(w));
    WriteJson(res, {{"webhooks", list}});
  }

  void DeleteWebhook(const Request& req, Response& res) {
    if (!RequireApiKey(req, res)) return;
    Status s = d_.webhooks->Unregister(req.matches[1]);
    if (s.code() == StatusCode::kNotFound) return WriteError(req, res, Err::kWebhookNotFound);
    if (!s.ok()) return WriteError(req, res, InternalError(s));
    (void)d_.results->Audit("api-key", "delete_webhook", "webhook:" + std::string(req.matches[1]));
    res.status = 204;
  }

 private:
  // The JSON shape of "questions" (absent or null: none); Ingest checks the rules on the values.
  static Expected<std::vector<Question>> ParseQuestions(const nlohmann::json& body) {
    std::vector<Question> questions;
    auto list = body.find("questions");
    if (list == body.end() || list->is_null()) return questions;
    if (!list->is_array()) return ApiError{Err::kInvalidQuestions, "questions must be a list"};
    for (size_t i = 0; i < list->size(); ++i) {
      const nlohmann::json& item = (*list)[i];
      const std::string where = "questions[" + std::to_string(i) + "]";
      if (!item.is_object()) return ApiError{Err::kInvalidQuestions, where + " must be an object"};
      auto id = item.find("id"), text = item.find("text"), seconds = item.find("max_seconds");
      if (id == item.end() || !id->is_string()) return ApiError{Err::kInvalidQuestions, where + ".id must be a string"};
      if (text == item.end() || !text->is_string()) {
        return ApiError{Err::kInvalidQuestions, where + ".text must be a string"};
      }
      Question q{id->get<std::string>(), text->get<std::string>(), 0};
      if (seconds != item.end() && !seconds->is_null()) {
        if (!seconds->is_number_integer() || seconds->get<int64_t>() < 1 || seconds->get<int64_t>() > INT32_MAX) {
          return ApiError{Err::kInvalidQuestions, where + ".max_seconds must be a whole number of seconds"};
        }
        q.max_seconds = seconds->get<int>();
      }
      questions.push_back(std::move(q));
    }
    return questions;
  }

  // Without its secret.
  static nlohmann::json WebhookJson(const RegisteredWebhook& w) {
    return {{"id", w.id}, {"url", w.url}, {"events", w.events}, {"created_at", w.created_at}};
  }

  bool RequireApiKey(const Request& req, Response& res) {
    std::string key = BearerToken(req);
    if (key.empty()) {
      WriteError(req, res, Err::kMissingApiKey);
      return false;
    }
    if (!SameSecret(key, d_.api_key)) {
      spdlog::warn("{} with a wrong API key from {}", LoggedRequest(req), req.remote_addr);
      WriteError(req, res, Err::kInvalidApiKey);
      return false;
    }
    return true;
  }

  HttpDeps d_;
};

}  // namespace

void InstallHostApiRoutes(httplib::Server& http, const HttpDeps& deps) {
  auto routes = std::make_shared<HostApiRoutes>(deps);
  auto bind = [routes](void (HostApiRoutes::*method)(const Request&, Response&)) {
    return [routes, method](const Request& req, Response& res) { (routes.get()->*method)(req, res); };
  };
  http.Post("/api/v1/sessions", bind(&HostApiRoutes::CreateSession));
  http.Get("/api/v1/sessions", bind(&HostApiRoutes::List));
  http.Get(R"(/api/v1/sessions/([^/]+))", bind(&HostApiRoutes::Session));
  http.Get(R"(/api/v1/sessions/([^/]+)/transcript)", bind(&HostApiRoutes::Transcript));
  http.Get(R"(/api/v1/sessions/([^/]+)/answers/([^/]+)/clip)", bind(&HostApiRoutes::AnswerClip));
  http.Post("/api/v1/webhooks", bind(&HostApiRoutes::CreateWebhook));
  http.Get("/api/v1/webhooks", bind(&HostApiRoutes::ListWebhooks));
  http.Delete(R"(/api/v1/webhooks/([^/]+))", bind(&HostApiRoutes::DeleteWebhook));
}

}  // namespace recorder::server
