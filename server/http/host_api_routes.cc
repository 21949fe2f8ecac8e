// The host platform's API, with its API key: create a session for a candidate, then list and
// read sessions, their recordings' status and their transcripts.
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
}

}  // namespace recorder::server
