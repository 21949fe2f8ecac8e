// The host's questions: given with POST /api/v1/sessions, checked there (400 with the reason, no
// session created), shown to the host with the session and to the candidate's page with the
// session's upload token only.
#include <gtest/gtest.h>

#include "server_fixture.h"

namespace recorder::server::testing {
namespace {

using nlohmann::json;

class QuestionsTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    Start();
  }

  httplib::Result Create(const json& questions) {
    json body = {{"candidate_name", "Jane Doe"}, {"questions", questions}};
    return http().Post("/api/v1/sessions", {{"Authorization", "Bearer test-api-key"}}, body.dump(), "application/json");
  }

  httplib::Result CandidateQuestions(const std::string& session, const std::string& token) {
    return http().Get(("/api/v1/sessions/" + session + "/questions").c_str(), {{"Authorization", "Bearer " + token}});
  }

  int64_t SessionCount() {
    auto res = http().Get("/api/v1/sessions", {{"Authorization", "Bearer test-api-key"}});
    return res && res->status == 200 ? json::parse(res->body)["total"].get<int64_t>() : -1;
  }
};

TEST_F(QuestionsTest, QuestionsAreKeptInOrderForTheHostAndTheCandidatesPage) {
  const json questions = json::array({
      {{"id", "intro"}, {"text", "Introduce yourself."}, {"max_seconds", 90}},
      {{"id", "q-2"}, {"text", "Describe a project you are proud of.\r\nWhat was your part?"}},
      {{"id", "why.us"}, {"text", "Pourquoi nous ? ¿Por qué? 为什么"}, {"max_seconds", nullptr}},
  });
  auto res = Create(questions);
  ASSERT_EQ(res->status, 201) << res->body;
  json created = json::parse(res->body);
  const json expected = json::array({
      {{"id", "intro"}, {"text", "Introduce yourself."}, {"max_seconds", 90}},
      {{"id", "q-2"},
       {"text", "Describe a project you are proud of.\r\nWhat was your part?"},
       {"max_seconds", nullptr}},
      {{"id", "why.us"}, {"text", "Pourquoi nous ? ¿Por qué? 为什么"}, {"max_seconds", nullptr}},
  });
  EXPECT_EQ(created["questions"], expected);
  const std::string session = created["session_id"], token = created["upload_token"];

  auto host = http().Get(("/api/v1/sessions/" + session).c_str(), {{"Authorization", "Bearer test-api-key"}});
  ASSERT_EQ(host->status, 200);
  EXPECT_EQ(json::parse(host->body)["questions"], expected);

  auto page = CandidateQuestions(session, token);
  ASSERT_EQ(page->status, 200) << page->body;
  EXPECT_EQ(json::parse(page->body)["questions"], expected);
  EXPECT_EQ(page->get_header_value("Cache-Control"), "no-store");

  // Without questions the list is empty, not missing.
  auto plain = Create(nullptr);
  ASSERT_EQ(plain->status, 201);
  json other = json::parse(plain->body);
  auto none = CandidateQuestions(other["session_id"], other["upload_token"]);
  ASSERT_EQ(none->status, 200);
  EXPECT_EQ(json::parse(none->body)["questions"], json::array());
}

TEST_F(QuestionsTest, OnlyTheSessionsOwnTokenReadsItsQuestions) {
  auto res = Create(json::array({{{"id", "a"}, {"text", "Secret question"}}}));
  ASSERT_EQ(res->status, 201);
  json mine = json::parse(res->body);
  json other = json::parse(Create(nullptr)->body);
  const std::string session = mine["session_id"];

  auto foreign = CandidateQuestions(session, other["upload_token"]);
  EXPECT_EQ(foreign->status, 403);
  EXPECT_EQ(foreign->body.find("Secret"), std::string::npos);
  EXPECT_EQ(CandidateQuestions(session, "not-a-token")->status, 401);
  EXPECT_EQ(CandidateQuestions(session, "test-api-key")->status, 401) << "the API key is not an upload token";
  EXPECT_EQ(http().Get(("/api/v1/sessions/" + session + "/questions").c_str())->status, 401);
}

TEST_F(QuestionsTest, BadQuestionsAre400WithTheReasonAndCreateNoSession) {
  auto q = [](json id, json text) { return json{{"id", id}, {"text", text}}; };
  json too_many = json::array();
  for (int i = 0; i <= 100; ++i) too_many.push_back(q("q" + std::to_string(i), "Question"));
  json timed = q("a", "Question");
  const std::pair<json, std::string> cases[] = {
      {"Tell me about you", "questions must be a list"},
      {json{{"id", "a"}}, "questions must be a list"},
      {json::array({42}), "questions[0] must be an object"},
      {json::array({json{{"text", "Question"}}}), "questions[0].id must be a string"},
      {json::array({q(7, "Question")}), "questions[0].id must be a string"},
      {json::array({q("a", "Question"), q("b", nullptr)}), "questions[1].text must be a string"},
      {json::array({q("a", json::array({"x"}))}), "questions[0].text must be a string"},
      {json::array({q("", "Question")}), "questions[0].id must be 1 to 64"},
      {json::array({q(std::string(65, 'a'), "Question")}), "questions[0].id must be 1 to 64"},
      {json::array({q("../etc", "Question")}), "questions[0].id must be 1 to 64"},
      {json::array({q("a b", "Question")}), "questions[0].id must be 1 to 64"},
      {json::array({q(std::string("a\0b", 3), "Question")}), "questions[0].id must be 1 to 64"},
      {json::array({q("a", "One"), q("b", "Two"), q("a", "Three")}), "questions[2].id 'a' is given twice"},
      {json::array({q("a", "")}), "questions[0].text must hold 1 to 2000"},
      {json::array({q("a", " \n\t ")}), "questions[0].text must hold 1 to 2000"},
      {json::array({q("a", std::string(2001, 'x'))}), "questions[0].text must hold 1 to 2000"},
      {json::array({q("a", "Red \x1b[31m text")}), "questions[0].text holds a control character"},
      {json::array({q("a", "Bell\x07")}), "questions[0].text holds a control character"},
      {json::array({q("a", std::string("Nul\0byte", 8))}), "questions[0].text holds a control character"},
      {json::array({json{{"id", "a"}, {"text", "Q"}, {"max_seconds", 5}}}), "questions[0].max_seconds must be 10"},
      {json::array({json{{"id", "a"}, {"text", "Q"}, {"max_seconds", 86400}}}), "questions[0].max_seconds must be 10"},
      {json::array({json{{"id", "a"}, {"text", "Q"}, {"max_seconds", -1}}}),
       "questions[0].max_seconds must be a whole"},
      {json::array({json{{"id", "a"}, {"text", "Q"}, {"max_seconds", 1.5}}}),
       "questions[0].max_seconds must be a whole"},
      {json::array({json{{"id", "a"}, {"text", "Q"}, {"max_seconds", "60"}}}),
       "questions[0].max_seconds must be a whole"},
      {too_many, "at most 100 questions"},
  };
  for (const auto& [questions, reason] : cases) {
    auto res = Create(questions);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << questions.dump().substr(0, 200);
    EXPECT_NE(res->body.find("invalid_questions"), std::string::npos) << res->body;
    EXPECT_NE(res->body.find(reason), std::string::npos) << res->body;
  }
  EXPECT_EQ(SessionCount(), 0);

  // The limits themselves are accepted.
  json largest = json::array();
  for (int i = 0; i < 100; ++i) {
    largest.push_back({{"id", std::string(63, 'q') + std::to_string(i % 10)},
                       {"text", std::string(2000, 'x')},
                       {"max_seconds", i % 2 ? 10 : 4 * 3600}});
  }
  largest[1]["id"] = "A.b_c:d-9";
  EXPECT_EQ(Create(largest)->status, 400) << "ids repeat every ten";
  for (int i = 0; i < 100; ++i) largest[i]["id"] = std::string(61, 'q') + std::to_string(100 + i);
  auto res = Create(largest);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 201) << res->body.substr(0, 300);
  EXPECT_EQ(SessionCount(), 1);
}

}  // namespace
}  // namespace recorder::server::testing
