// Markers and client events: POST /api/v1/sessions/{id}/events with the session's upload token.
// Stored in the index with their recording time, idempotent per client id, and only for the
// token's own session and uploads.
#include <gtest/gtest.h>

#include <thread>

#include "server_fixture.h"

namespace recorder::server::testing {
namespace {

class EventsTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    Start();
    std::tie(session_, token_) = NewSessionWithId("Jane Doe");
    upload_url_ = NewUpload(token_);
  }

  std::pair<std::string, std::string> NewSessionWithId(const std::string& name) {
    auto res = http().Post("/api/v1/sessions", {{"Authorization", "Bearer test-api-key"}},
                           nlohmann::json{{"candidate_name", name}}.dump(), "application/json");
    EXPECT_TRUE(res && res->status == 201);
    auto body = nlohmann::json::parse(res->body);
    return {body["session_id"].get<std::string>(), body["upload_token"].get<std::string>()};
  }

  httplib::Result PostEvents(const std::string& session, const std::string& token, const nlohmann::json& events) {
    return http().Post(("/api/v1/sessions/" + session + "/events").c_str(), {{"Authorization", "Bearer " + token}},
                       nlohmann::json{{"events", events}}.dump(), "application/json");
  }

  static nlohmann::json Marker(const std::string& id, const std::string& label, double t_ms) {
    return {{"id", id}, {"type", "marker"}, {"label", label}, {"recording_time_ms", t_ms}};
  }

  std::vector<SessionEvent> Stored() {
    auto events = app_->index().SessionEvents(session_);
    EXPECT_TRUE(events.ok());
    return events.ok() ? events.value() : std::vector<SessionEvent>{};
  }

  std::string session_, token_, upload_url_;
};

TEST_F(EventsTest, MarkersAndClientEventsAreStoredWithRecordingTimeDataAndUpload) {
  nlohmann::json face = {{"id", "e2"},
                         {"type", "client_event"},
                         {"label", "face_not_detected"},
                         {"recording_time_ms", 2500.4},
                         {"data", {{"seconds", 2}}},
                         {"upload_url", "http://host" + upload_url_},
                         {"wall_time", "2026-11-22T14:30:22Z"}};
  auto res = PostEvents(session_, token_, nlohmann::json::array({Marker("e1", "question_1_start", 1000), face}));
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 201) << res->body;
  EXPECT_EQ(nlohmann::json::parse(res->body)["stored"], 2);

  auto stored = Stored();
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[0].label, "question_1_start");
  EXPECT_EQ(stored[0].recording_time_ms, 1000);
  EXPECT_EQ(stored[0].data_json, "{}");
  EXPECT_EQ(stored[1].type, EventType::kClientEvent);
  EXPECT_EQ(stored[1].recording_time_ms, 2500);
  EXPECT_EQ(nlohmann::json::parse(stored[1].data_json)["seconds"], 2);
  EXPECT_EQ("/files/" + stored[1].upload_id, upload_url_);
  EXPECT_EQ(stored[1].wall_time, "2026-11-22T14:30:22Z");
}

TEST_F(EventsTest, ResentBatchIsStoredOnce) {
  auto batch = nlohmann::json::array({Marker("a", "question_1_start", 10), Marker("b", "question_1_end", 20)});
  ASSERT_EQ(PostEvents(session_, token_, batch)->status, 201);
  auto again = PostEvents(session_, token_, batch);
  ASSERT_EQ(again->status, 201);
  EXPECT_EQ(nlohmann::json::parse(again->body)["stored"], 0);
  EXPECT_EQ(nlohmann::json::parse(again->body)["duplicates"], 2);
  EXPECT_EQ(Stored().size(), 2u);
}

// POST .../end: the candidate ended the interview. The upload in progress still finishes; a new
// one is refused; the session completes once that recording has settled, and only then.
TEST_F(EventsTest, AnEndedSessionTakesNoNewUploadAndCompletesOnceItsRecordingSettles) {
  auto summary = [&] { return app_->index().GetSessionSummary(session_).value(); };
  auto end = [&](const std::string& token) {
    return http().Post(("/api/v1/sessions/" + session_ + "/end").c_str(), {{"Authorization", "Bearer " + token}}, "",
                       "application/json");
  };
  ASSERT_EQ(end(token_)->status, 204);
  const int64_t ended_at = clock_->NowSeconds();
  clock_->Advance(5);
  ASSERT_EQ(end(token_)->status, 204) << "again: the same";
  EXPECT_EQ(summary().ended_at, ended_at) << "the first end counts";

  auto late = http().Post(
      "/files/",
      [&] {
        auto h = Tus(token_);
        h.emplace("Upload-Length", "10");
        return h;
      }(),
      "", "application/offset+octet-stream");
  ASSERT_TRUE(late);
  EXPECT_EQ(late->status, 409);
  EXPECT_EQ(nlohmann::json::parse(late->body)["error"], "session_ended");

  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // several sweeps
  EXPECT_EQ(summary().completed_at, 0) << "its recording is still receiving";
  auto patched = Patch(token_, upload_url_, 0, "webm bytes", {{"Upload-Length", "10"}});
  ASSERT_TRUE(patched);
  ASSERT_EQ(patched->status, 204) << patched->body;
  ASSERT_TRUE(WaitFor([&] { return summary().completed_at != 0; }, std::chrono::seconds(10)));
  EXPECT_EQ(summary().status, SessionStatus::kReady);
}

// Without an end, a session is over when its link expires: its upload, abandoned, is finalized as
// it is, and then the session completes.
TEST_F(EventsTest, ASessionWhoseLinkExpiredCompletesWithoutAnEnd) {
  auto summary = [&] { return app_->index().GetSessionSummary(session_).value(); };
  ASSERT_EQ(Patch(token_, upload_url_, 0, "webm")->status, 204);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(summary().completed_at, 0) << "neither ended nor expired";
  clock_->Advance(48 * 3600);
  ASSERT_TRUE(WaitFor([&] { return summary().completed_at != 0; }, std::chrono::seconds(10)));
  EXPECT_EQ(summary().ended_at, 0);
  ASSERT_EQ(summary().recordings.size(), 1u);
  EXPECT_TRUE(summary().recordings[0].incomplete);
}

TEST_F(EventsTest, AnotherSessionsTokenOrUploadIs403AndStoresNothing) {
  auto [other_session, other_token] = NewSessionWithId("John Roe");
  std::string other_upload = NewUpload(other_token);

  auto res = PostEvents(session_, other_token, nlohmann::json::array({Marker("x", "question_1_start", 1)}));
  EXPECT_EQ(res->status, 403);
  EXPECT_NE(res->body.find("foreign_session"), std::string::npos);

  nlohmann::json foreign = Marker("y", "question_1_start", 1);
  foreign["upload_url"] = other_upload;
  res = PostEvents(session_, token_, nlohmann::json::array({foreign}));
  EXPECT_EQ(res->status, 403);
  EXPECT_NE(res->body.find("foreign_upload"), std::string::npos);
  EXPECT_TRUE(Stored().empty());
}

TEST_F(EventsTest, MissingOrBadTokenIs401) {
  auto res = http().Post(("/api/v1/sessions/" + session_ + "/events").c_str(), "{}", "application/json");
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(PostEvents(session_, "not-a-token", nlohmann::json::array({Marker("x", "q", 1)}))->status, 401);
}

TEST_F(EventsTest, MalformedEventsAre400WithTheReasonAndStoreNothing) {
  auto with = [](const char* key, nlohmann::json value) {
    nlohmann::json e = Marker("a", "q", 1);
    if (value.is_null()) {
      e.erase(key);
    } else {
      e[key] = value;
    }
    return e;
  };
  const std::pair<nlohmann::json, std::string> cases[] = {
      {nlohmann::json::array(), "1 to 500 entries"},
      {nlohmann::json::array({with("id", nullptr)}), "event 0: id"},
      {nlohmann::json::array({with("type", "note")}), "event 0: type"},
      {nlohmann::json::array({with("label", "")}), "event 0: label"},
      {nlohmann::json::array({with("recording_time_ms", -5)}), "event 0: recording_time_ms"},
      {nlohmann::json::array({with("data", "text")}), "event 0: data"},
      {nlohmann::json::array({Marker("ok", "q", 1), 42}), "event 1: not an object"},  // one bad entry rejects all
  };
  for (const auto& [batch, reason] : cases) {
    auto res = PostEvents(session_, token_, batch);
    EXPECT_EQ(res->status, 400) << batch.dump();
    EXPECT_NE(res->body.find("invalid_events"), std::string::npos) << res->body;
    EXPECT_NE(res->body.find(reason), std::string::npos) << res->body;
  }
  auto res = http().Post(("/api/v1/sessions/" + session_ + "/events").c_str(), {{"Authorization", "Bearer " + token_}},
                         "not json", "application/json");
  EXPECT_EQ(res->status, 400);
  EXPECT_TRUE(Stored().empty());
}

TEST_F(EventsTest, UnknownUploadIs404) {
  nlohmann::json marker = Marker("a", "q", 1);
  marker["upload_url"] = "/files/no-such-upload";
  EXPECT_EQ(PostEvents(session_, token_, nlohmann::json::array({marker}))->status, 404);
  EXPECT_TRUE(Stored().empty());
}

}  // namespace
}  // namespace recorder::server::testing
