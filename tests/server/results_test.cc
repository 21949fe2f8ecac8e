// The results side over real HTTP in process: HR logins (cookie, CSRF, roles, throttling, expiry),
// what a candidate's upload token cannot reach, the host read API, Range playback, downloads,
// deletion with its audit entry, and the retention sweeper with the clock moved forward.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "base/crypto.h"
#include "http/session_views.h"
#include "index/sqlite/sqlite_index.h"
#include "server_fixture.h"
#include "server_process.h"
#include "webm_test_util.h"

namespace recorder::server::testing {
namespace {

using nlohmann::json;

constexpr const char* kAdminPassword = "correct horse battery";
constexpr const char* kReviewerPassword = "reviewer password 1";

struct HrLogin {
  std::string cookie;  // "recorder_hr=..."
  std::string csrf;
};

struct RecordedSession {
  std::string id;
  std::string token;
  std::string upload_url;
  int64_t recording_id = 0;
  std::string bytes;
};

class ResultsTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    config_.retention_days = 90;
    config_.retention_sweep_seconds = 1;
  }

  void StartWithAccounts(std::unique_ptr<Finalizer> finalizer = std::make_unique<CopyFinalizer>()) {
    Start(std::move(finalizer));
    ASSERT_TRUE(app_->accounts().Create("boss", kAdminPassword, "admin").ok());
    ASSERT_TRUE(app_->accounts().Create("rita", kReviewerPassword, "reviewer").ok());
  }

  httplib::Result Login(const std::string& user, const std::string& password, httplib::Headers headers = {}) {
    return http().Post("/api/v1/hr/login", headers, json{{"username", user}, {"password", password}}.dump(),
                       "application/json");
  }

  HrLogin LoginAs(const std::string& user, const std::string& password) {
    auto res = Login(user, password);
    EXPECT_TRUE(res && res->status == 200) << (res ? res->body : "no response");
    if (!res || res->status != 200) return {};
    std::string set_cookie = res->get_header_value("Set-Cookie");
    return {set_cookie.substr(0, set_cookie.find(';')), json::parse(res->body)["csrf_token"]};
  }

  httplib::Headers As(const HrLogin& login, bool with_csrf = false) {
    httplib::Headers h = {{"Cookie", "theme=dark; " + login.cookie}};
    if (with_csrf) h.emplace("X-CSRF-Token", login.csrf);
    return h;
  }

  json SessionJson(const std::string& name) {
    auto res = http().Post("/api/v1/sessions", {{"Authorization", "Bearer test-api-key"}},
                           json{{"candidate_name", name}, {"job", "Backend engineer"}}.dump(), "application/json");
    EXPECT_TRUE(res && res->status == 201);
    return res ? json::parse(res->body) : json();
  }

  // A session with one complete camera recording, finalized (the fixture's finalizer copies bytes).
  RecordedSession Record(const std::string& name, const std::string& kind = "camera") {
    RecordedSession s;
    json session = SessionJson(name);
    s.id = session["session_id"];
    s.token = session["upload_token"];
    s.bytes = "recording of " + name + std::string(5000, 'x');
    s.upload_url = NewUpload(s.token, s.bytes.size(), kind);
    auto res = Patch(s.token, s.upload_url, 0, s.bytes);
    EXPECT_TRUE(res && res->status == 204);
    EXPECT_TRUE(WaitFor(
        [&] {
          auto recs = app_->index().RecordingsOfSession(s.id);
          return recs.ok() && !recs->empty() && recs->front().status == RecordingStatus::kReady;
        },
        std::chrono::seconds(10)));
    s.recording_id = app_->index().RecordingsOfSession(s.id)->front().id;
    return s;
  }

  std::vector<std::string> AuditActions() {
    std::vector<std::string> actions;
    auto entries = app_->index().AuditEntries(100);  // kept alive: the loop reads into it
    for (const AuditEntry& e : entries.value()) actions.push_back(e.action + " " + e.target);
    return actions;
  }

  // Runs SQL on the server's index (as another process would) and returns the first column of
  // the first row (-1 when there is none); an SQL error fails the test.
  int64_t Sql(const std::string& sql) {
    if (!config_.index_url.empty()) {
      auto db = pg::Connect(config_.index_url);
      EXPECT_TRUE(db.ok()) << db.status().ToString();
      if (!db.ok()) return -1;
      auto rows = (*db)->Exec(sql);
      EXPECT_TRUE(rows.ok()) << sql << ": " << rows.status().ToString();
      return rows.ok() && !rows->empty() ? rows->Int(0, 0) : -1;
    }
    sqlite3* db = nullptr;
    int64_t value = -1;
    EXPECT_EQ(sqlite3_open((fs::path(config_.data_dir) / ".recorder/index.sqlite3").c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    int rc = sqlite3_exec(
        db, sql.c_str(),
        [](void* out, int, char** row, char**) {
          if (*static_cast<int64_t*>(out) == -1) *static_cast<int64_t*>(out) = row[0] ? std::stoll(row[0]) : 0;
          return 0;
        },
        &value, nullptr);
    EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << sqlite3_errmsg(db);
    sqlite3_close(db);
    return value;
  }

  int AuditCount(const std::string& actor, const std::string& action, const std::string& target) {
    auto entries = app_->index().AuditEntries(1000);
    return static_cast<int>(std::count_if(entries->begin(), entries->end(), [&](const AuditEntry& e) {
      return e.actor == actor && e.action == action && e.target == target;
    }));
  }
};

bool Contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

TEST_F(ResultsTest, LoginSetsAnHttpOnlySameSiteCookieAndMeAnswersWithTheCsrfToken) {
  StartWithAccounts();
  auto res = Login("boss", kAdminPassword);
  ASSERT_TRUE(res && res->status == 200) << res->body;
  std::string cookie = res->get_header_value("Set-Cookie");
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  EXPECT_EQ(cookie.find("Secure"), std::string::npos) << "plain HTTP: a Secure cookie would never come back";
  json body = json::parse(res->body);
  EXPECT_EQ(body["role"], "admin");
  EXPECT_EQ(body["csrf_token"].get<std::string>().size(), 64u);

  HrLogin login{cookie.substr(0, cookie.find(';')), body["csrf_token"]};
  auto me = http().Get("/api/v1/hr/me", As(login));
  ASSERT_TRUE(me && me->status == 200);
  EXPECT_EQ(json::parse(me->body)["csrf_token"], login.csrf);
  EXPECT_EQ(json::parse(me->body)["username"], "boss");

  auto behind_tls = Login("boss", kAdminPassword, {{"X-Forwarded-Proto", "https"}});
  ASSERT_TRUE(behind_tls && behind_tls->status == 200);
  EXPECT_NE(behind_tls->get_header_value("Set-Cookie").find("; Secure"), std::string::npos);
}

TEST_F(ResultsTest, WrongPasswordAndUnknownUserAre401AndAudited) {
  StartWithAccounts();
  auto wrong = Login("boss", "not the password");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(json::parse(wrong->body)["error"], "invalid_credentials");
  auto unknown = Login("nobody", "whatever password");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 401);
  EXPECT_EQ(wrong->body, unknown->body) << "the answer must not tell which usernames exist";
  auto malformed = http().Post("/api/v1/hr/login", "{\"username\": 3}", "application/json");
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->status, 400);
  auto actions = AuditActions();
  EXPECT_TRUE(Contains(actions, "login_failed account:boss"));
  EXPECT_TRUE(Contains(actions, "login_failed account:nobody"));
}

TEST_F(ResultsTest, RepeatedBadLoginsAreThrottledEvenForTheRightPasswordUntilTheWindowPasses) {
  StartWithAccounts();
  for (int i = 0; i < 5; ++i) {
    auto res = Login("BOSS", "guess " + std::to_string(i));  // usernames match case-insensitively
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 401);
  }
  auto throttled = Login("boss", kAdminPassword);
  ASSERT_TRUE(throttled);
  EXPECT_EQ(throttled->status, 429);
  EXPECT_EQ(json::parse(throttled->body)["error"], "too_many_login_attempts");
  int retry_after = std::stoi(throttled->get_header_value("Retry-After"));
  EXPECT_GT(retry_after, 0);
  EXPECT_LE(retry_after, 15 * 60);
  // Another account from the same address is not locked out by these five.
  auto other = Login("rita", kReviewerPassword);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 200);

  clock_->Advance(retry_after);
  auto later = Login("boss", kAdminPassword);
  ASSERT_TRUE(later);
  EXPECT_EQ(later->status, 200);
}

TEST_F(ResultsTest, ParallelBadLoginsForOneAccountCannotGetPastTheLimit) {
  StartWithAccounts();
  constexpr int kAttempts = 20;
  std::vector<int> statuses(kAttempts);
  std::vector<std::thread> attackers;
  for (int i = 0; i < kAttempts; ++i) {
    attackers.emplace_back([&, i] {
      httplib::Client client("127.0.0.1", port_);
      auto res =
          client.Post("/api/v1/hr/login", json{{"username", "boss"}, {"password", "guess " + std::to_string(i)}}.dump(),
                      "application/json");
      statuses[i] = res ? res->status : -1;
    });
  }
  for (std::thread& t : attackers) t.join();
  int wrong = static_cast<int>(std::count(statuses.begin(), statuses.end(), 401));
  int throttled = static_cast<int>(std::count(statuses.begin(), statuses.end(), 429));
  EXPECT_EQ(wrong, 5) << "every password tried is checked against the limit of 5";
  EXPECT_EQ(wrong + throttled, kAttempts) << ::testing::PrintToString(statuses);
  EXPECT_EQ(Login("boss", kAdminPassword)->status, 429);
}

TEST(LoginThrottleTest, ForgetsKeysWhoseFailuresLeftTheWindowAndAReleasedAttemptDoesNotCount) {
  LoginThrottle throttle(2, 900);
  // 3000 new addresses in each of 10 windows: the map holds at most about twice one window's keys.
  for (int window = 0; window < 10; ++window) {
    for (int i = 0; i < 3000; ++i) {
      ASSERT_EQ(throttle.Reserve("addr:" + std::to_string(window) + "." + std::to_string(i), 1000 + window * 900)
                    .wait_seconds,
                0);
    }
  }
  EXPECT_LE(throttle.KeyCount(), 2u * 3000 + 3000) << "keys whose failures left the window are evicted";

  EXPECT_EQ(throttle.Reserve("user:bob", 2000).wait_seconds, 0);
  throttle.Release("user:bob", 2000);  // that attempt succeeded
  EXPECT_EQ(throttle.Reserve("user:bob", 2000).wait_seconds, 0);
  EXPECT_EQ(throttle.Reserve("user:bob", 2001).wait_seconds, 0);
  auto refused = throttle.Reserve("user:bob", 2002);
  EXPECT_EQ(refused.wait_seconds, 898) << "two failures kept: wait until the first leaves the window";
  EXPECT_TRUE(refused.first_refusal);
  EXPECT_FALSE(throttle.Reserve("user:bob", 2003).first_refusal) << "the same episode";
}

// Bad logins from one address lock the account out for that address only; a guess spread over
// many addresses still meets a limit per account.
TEST_F(ResultsTest, OneAddressCannotLockAnAccountOutForEveryone) {
  StartWithAccounts();
  Accounts::Options limits;  // small limits, so the test verifies few passwords
  limits.max_failures_per_user = 3;
  limits.max_failures_per_address = 5;
  limits.max_failures_per_account = 8;
  auto accounts = Accounts::Open(limits, &app_->index(), &app_->index(), clock_.get()).value();
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(accounts->Login("boss", "guess " + std::to_string(i), "203.0.113.7").error().err,
              Err::kInvalidCredentials);
  }
  EXPECT_EQ(accounts->Login("boss", kAdminPassword, "203.0.113.7").error().err, Err::kTooManyLoginAttempts);
  EXPECT_TRUE(accounts->Login("boss", kAdminPassword, "198.51.100.1").ok()) << "the owner elsewhere is locked out";

  // 5 more failures from 5 other addresses (under every per-address limit): the account's 8 are
  // reached, and it is throttled from everywhere.
  for (int a = 0; a < 5; ++a) {
    ASSERT_EQ(accounts->Login("boss", "guess", "192.0.2." + std::to_string(a)).error().err, Err::kInvalidCredentials);
  }
  EXPECT_EQ(accounts->Login("boss", kAdminPassword, "192.0.2.200").error().err, Err::kTooManyLoginAttempts);
}

// A flood of throttled attempts writes one audit entry (and one warning) per episode, not one per
// attempt; the next episode is audited again.
TEST_F(ResultsTest, ThrottledLoginsAreAuditedOncePerEpisode) {
  StartWithAccounts();
  auto throttled_entries = [&] {
    auto actions = AuditActions();
    return std::count(actions.begin(), actions.end(), "login_throttled account:boss");
  };
  for (int i = 0; i < 5; ++i) ASSERT_EQ(Login("boss", "guess " + std::to_string(i))->status, 401);
  for (int i = 0; i < 30; ++i) ASSERT_EQ(Login("boss", "guess")->status, 429);
  EXPECT_EQ(throttled_entries(), 1);
  clock_->Advance(15 * 60);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(Login("boss", "guess " + std::to_string(i))->status, 401);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Login("boss", "guess")->status, 429);
  EXPECT_EQ(throttled_entries(), 2);
}

// A username or password no account can have costs no hashing, no throttle memory and no audit
// entry (4 MiB usernames used to be kept as throttle keys and audited).
TEST_F(ResultsTest, OverLongUsernamesAndPasswordsAreRefusedBeforeAnyWork) {
  StartWithAccounts();
  size_t audited = AuditActions().size();
  Accounts& accounts = app_->accounts();
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(accounts.Login(std::string(64 * 1024, 'a') + std::to_string(i), "guess guess", "203.0.113.9").error().err,
              Err::kInvalidCredentials);
    EXPECT_EQ(accounts.Login("boss", std::string(64 * 1024, 'p'), "203.0.113.9").error().err, Err::kInvalidCredentials);
  }
  EXPECT_EQ(AuditActions().size(), audited);
  EXPECT_TRUE(accounts.Login("boss", kAdminPassword, "203.0.113.9").ok()) << "those 100 attempts were throttled";
}

TEST_F(ResultsTest, ManyUsernamesFromOneAddressAreThrottledToo) {
  StartWithAccounts();
  for (int i = 0; i < 20; ++i) ASSERT_EQ(Login("user" + std::to_string(i), "guess guess")->status, 401);
  auto res = Login("boss", kAdminPassword);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 429);
}

TEST_F(ResultsTest, BehindATrustedLoadBalancerLoginsAreThrottledPerForwardedClientNotForEveryone) {
  config_.trusted_proxies = {"127.0.0.1"};
  StartWithAccounts();
  const httplib::Headers guesser = {{"X-Forwarded-For", "203.0.113.7, 127.0.0.1"}};
  for (int i = 0; i < 20; ++i) ASSERT_EQ(Login("user" + std::to_string(i), "guess guess", guesser)->status, 401);
  EXPECT_EQ(Login("boss", kAdminPassword, guesser)->status, 429) << "the guessing client is throttled";
  // Another candidate behind the same balancer is not.
  EXPECT_EQ(Login("boss", kAdminPassword, {{"X-Forwarded-For", "198.51.100.4"}})->status, 200);
}

TEST_F(ResultsTest, AnUntrustedPeerCannotDodgeTheThrottleWithXForwardedFor) {
  StartWithAccounts();  // no trusted proxies: the peer is the client
  for (int i = 0; i < 20; ++i) {
    const httplib::Headers forged = {{"X-Forwarded-For", "198.51.100." + std::to_string(i)}};
    ASSERT_EQ(Login("user" + std::to_string(i), "guess guess", forged)->status, 401);
  }
  EXPECT_EQ(Login("boss", kAdminPassword, {{"X-Forwarded-For", "192.0.2.1"}})->status, 429);
}

TEST_F(ResultsTest, EveryHrRouteNeedsALoginAndAnExpiredOrLoggedOutCookieIsRefused) {
  StartWithAccounts();
  RecordedSession s = Record("Jane Doe");
  std::string rec = std::to_string(s.recording_id);
  for (const std::string& path :
       std::vector<std::string>{"/api/v1/hr/me", "/api/v1/hr/sessions", "/api/v1/hr/sessions/" + s.id,
                                "/api/v1/hr/sessions/" + s.id + "/transcript",
                                "/api/v1/hr/recordings/" + rec + "/media", "/api/v1/hr/recordings/" + rec + "/download",
                                "/api/v1/hr/recordings/" + rec + "/live", "/api/v1/hr/audit"}) {
    auto res = http().Get(path.c_str());
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 401) << path;
    EXPECT_EQ(json::parse(res->body)["error"], "login_required") << path;
    auto forged = http().Get(path.c_str(), {{"Cookie", "recorder_hr=" + std::string(64, 'a')}});
    EXPECT_EQ(forged->status, 401) << path;
  }
  auto del = http().Delete(("/api/v1/hr/sessions/" + s.id).c_str());
  EXPECT_EQ(del->status, 401);
  auto retry = http().Post(("/api/v1/hr/recordings/" + rec + "/stages/finalize/retry").c_str(), "", "application/json");
  EXPECT_EQ(retry->status, 401);

  HrLogin login = LoginAs("rita", kReviewerPassword);
  EXPECT_EQ(http().Get("/api/v1/hr/sessions", As(login))->status, 200);
  clock_->Advance(12 * 3600 + 1);
  EXPECT_EQ(http().Get("/api/v1/hr/sessions", As(login))->status, 401) << "a login lasts 12 hours";

  HrLogin again = LoginAs("rita", kReviewerPassword);
  EXPECT_EQ(http().Post("/api/v1/hr/logout", As(again, true), "", "application/json")->status, 204);
  EXPECT_EQ(http().Get("/api/v1/hr/sessions", As(again))->status, 401);
}

TEST_F(ResultsTest, AnUploadTokenReachesNothingOfTheResults) {
  StartWithAccounts();
  RecordedSession mine = Record("Jane Doe");
  RecordedSession other = Record("John Roe");
  httplib::Headers bearer = {{"Authorization", "Bearer " + mine.token}};
  for (const std::string& path :
       std::vector<std::string>{std::string("/api/v1/sessions"), "/api/v1/sessions/" + mine.id,
                                "/api/v1/sessions/" + other.id, "/api/v1/hr/sessions", "/api/v1/hr/sessions/" + mine.id,
                                "/api/v1/hr/recordings/" + std::to_string(mine.recording_id) + "/download"}) {
    auto res = http().Get(path.c_str(), bearer);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 401) << path;
    EXPECT_EQ(res->body.find("recording of"), std::string::npos) << path;
  }
  // Nor can it write into another session, or read another's upload.
  auto head = http().Head(other.upload_url.c_str(), Tus(mine.token));
  EXPECT_EQ(head->status, 403);
  auto events =
      http().Post(("/api/v1/sessions/" + other.id + "/events").c_str(), bearer,
                  R"({"events":[{"id":"x","type":"marker","label":"Q","recording_time_ms":1}]})", "application/json");
  EXPECT_EQ(events->status, 403);
}

TEST_F(ResultsTest, CsrfTokenAndSameOriginAreRequiredForStateChangesAndReviewersCannotDelete) {
  StartWithAccounts();
  RecordedSession s = Record("Jane Doe");
  std::string path = "/api/v1/hr/sessions/" + s.id;
  HrLogin admin = LoginAs("boss", kAdminPassword);

  auto no_token = http().Delete(path.c_str(), As(admin));
  EXPECT_EQ(no_token->status, 403);
  EXPECT_EQ(json::parse(no_token->body)["error"], "csrf_rejected");
  auto wrong = As(admin);
  wrong.emplace("X-CSRF-Token", std::string(64, '0'));
  EXPECT_EQ(http().Delete(path.c_str(), wrong)->status, 403);
  auto cross_site = As(admin, true);
  cross_site.emplace("Origin", "https://evil.example");
  EXPECT_EQ(http().Delete(path.c_str(), cross_site)->status, 403);
  auto cross_site_login = Login("boss", kAdminPassword, {{"Origin", "https://evil.example"}});
  EXPECT_EQ(cross_site_login->status, 403);

  HrLogin reviewer = LoginAs("rita", kReviewerPassword);
  auto as_reviewer = http().Delete(path.c_str(), As(reviewer, true));
  EXPECT_EQ(as_reviewer->status, 403);
  EXPECT_EQ(json::parse(as_reviewer->body)["error"], "admin_only");
  EXPECT_EQ(http().Get("/api/v1/hr/audit", As(reviewer))->status, 403);
  auto account = http().Post("/api/v1/hr/accounts", As(reviewer, true),
                             json{{"username", "eve"}, {"password", "long enough pw"}, {"role", "admin"}}.dump(),
                             "application/json");
  EXPECT_EQ(account->status, 403);

  // Every other state change needs the token too; the refused ones change nothing.
  json detail = json::parse(http().Get(path.c_str(), As(admin))->body);
  std::string candidate = "/api/v1/hr/candidates/" + std::to_string(detail["candidate_id"].get<int64_t>());
  for (const httplib::Headers& headers : {As(admin), wrong}) {
    std::vector<httplib::Result> refused;
    refused.push_back(http().Post("/api/v1/hr/accounts", headers,
                                  json{{"username", "eve"}, {"password", "long enough pw"}, {"role", "admin"}}.dump(),
                                  "application/json"));
    refused.push_back(http().Delete(candidate.c_str(), headers));
    refused.push_back(http().Post("/api/v1/hr/logout", headers, "", "application/json"));
    for (const auto& res : refused) {
      ASSERT_TRUE(res);
      EXPECT_EQ(res->status, 403);
      EXPECT_EQ(json::parse(res->body)["error"], "csrf_rejected");
    }
  }
  EXPECT_FALSE(app_->index().AccountByName("eve").ok()) << "no account was created";
  EXPECT_EQ(http().Get("/api/v1/hr/me", As(admin))->status, 200) << "the refused logouts left the login";
  EXPECT_TRUE(fs::exists(OnlyRecordingFile())) << "nothing was deleted by the refused requests";
  auto same_origin = As(admin, true);
  same_origin.emplace("Origin", "http://127.0.0.1:" + std::to_string(port_));
  EXPECT_EQ(http().Delete(path.c_str(), same_origin)->status, 204);
}

// Refuses every file as corrupt while `broken` is set, as a finalizer with a bug would until the
// server is upgraded; the fixture's copy otherwise.
class FixableFinalizer : public CopyFinalizer {
 public:
  explicit FixableFinalizer(std::shared_ptr<std::atomic<bool>> broken) : broken_(std::move(broken)) {}
  Result<webm::FinalizeInfo> Finalize(RandomAccessReader& live, SeekableWriter& out) override {
    if (*broken_) return Corrupt("a bug in the finalizer");
    return CopyFinalizer::Finalize(live, out);
  }

 private:
  std::shared_ptr<std::atomic<bool>> broken_;
};

TEST_F(ResultsTest, EachRecordingShowsTheStatusOfEachProcessingStageToTheHostAndToHr) {
  StartWithAccounts();
  RecordedSession ready = Record("Jane Doe");
  // A broken upload: its finalize fails for good, with the reason.
  json other = SessionJson("John Roe");
  const std::string token = other["upload_token"], broken = "BROKEN" + std::string(100, 'x');
  ASSERT_EQ(Patch(token, NewUpload(token, broken.size()), 0, broken)->status, 204);
  ASSERT_TRUE(
      WaitFor([&] { return Sql("SELECT count(*) FROM jobs WHERE state = 'failed'") == 1; }, std::chrono::seconds(10)));

  HrLogin login = LoginAs("rita", kReviewerPassword);
  for (const httplib::Headers& headers : {httplib::Headers{{"Authorization", "Bearer test-api-key"}}, As(login)}) {
    const std::string prefix = headers.count("Cookie") ? "/api/v1/hr/sessions/" : "/api/v1/sessions/";
    json done = json::parse(http().Get((prefix + ready.id).c_str(), headers)->body)["recordings"][0]["pipeline"];
    EXPECT_EQ(done["status"], "completed") << done;
    ASSERT_EQ(done["stages"].size(), 1u) << done;
    EXPECT_EQ(done["stages"][0]["stage"], "finalize");
    EXPECT_EQ(done["stages"][0]["status"], "completed");
    EXPECT_EQ(done["stages"][0]["attempts"], 1);
    EXPECT_TRUE(done["stages"][0]["last_error"].is_null());
    EXPECT_TRUE(done["stages"][0]["next_attempt_at"].is_null());
    EXPECT_EQ(done["stages"][0]["created_at"], kStartTime);

    json failed = json::parse(
        http().Get((prefix + other["session_id"].get<std::string>()).c_str(), headers)->body)["recordings"][0];
    EXPECT_EQ(failed["status"], "failed");
    EXPECT_EQ(failed["pipeline"]["status"], "failed") << failed;
    EXPECT_EQ(failed["pipeline"]["stages"][0]["status"], "failed");
    EXPECT_NE(failed["pipeline"]["stages"][0]["last_error"].get<std::string>().find("no EBML header"),
              std::string::npos)
        << failed;
  }
}

TEST(PipelineJsonTest, TheRecordingsStatusFollowsItsStages) {
  auto stages = [](std::initializer_list<JobState> states) {
    std::vector<JobRecord> out;
    for (JobState state : states) {
      JobRecord job;
      job.state = state;
      out.push_back(job);
    }
    return out;
  };
  EXPECT_TRUE(PipelineJson({}).is_null());
  EXPECT_EQ(PipelineJson(stages({JobState::kPending}))["status"], "queued");
  EXPECT_EQ(PipelineJson(stages({JobState::kRunning}))["status"], "processing");
  EXPECT_EQ(PipelineJson(stages({JobState::kDone, JobState::kPending}))["status"], "processing")
      << "waiting for the next stage is still processing";
  EXPECT_EQ(PipelineJson(stages({JobState::kDone, JobState::kDone}))["status"], "completed");
  EXPECT_EQ(PipelineJson(stages({JobState::kDone, JobState::kFailed}))["status"], "failed");
  json queued = PipelineJson(stages({JobState::kPending}))["stages"][0];
  EXPECT_FALSE(queued["next_attempt_at"].is_null()) << "a queued stage says when it runs";
}

TEST_F(ResultsTest, AnAdminRetriesAFailedStageWhichRunsAgainWithFreshAttempts) {
  auto broken = std::make_shared<std::atomic<bool>>(true);
  StartWithAccounts(std::make_unique<FixableFinalizer>(broken));
  json session = SessionJson("Jane Doe");
  const std::string token = session["upload_token"], id = session["session_id"], bytes(4000, 'v');
  ASSERT_EQ(Patch(token, NewUpload(token, bytes.size()), 0, bytes)->status, 204);
  auto finalize = [&] {
    return json::parse(http()
                           .Get(("/api/v1/sessions/" + id).c_str(), {{"Authorization", "Bearer test-api-key"}})
                           ->body)["recordings"][0];
  };
  ASSERT_TRUE(WaitFor([&] { return finalize()["status"] == "failed"; }, std::chrono::seconds(10)));
  const std::string rec = std::to_string(finalize()["id"].get<int64_t>());
  const std::string path = "/api/v1/hr/recordings/" + rec + "/stages/finalize/retry";
  auto post = [&](const std::string& p, const httplib::Headers& headers) {
    return http().Post(p.c_str(), headers, "", "application/json");
  };

  HrLogin reviewer = LoginAs("rita", kReviewerPassword), admin = LoginAs("boss", kAdminPassword);
  EXPECT_EQ(json::parse(post(path, As(reviewer, true))->body)["error"], "admin_only");
  EXPECT_EQ(json::parse(post(path, As(admin))->body)["error"], "csrf_rejected");
  auto unknown = post("/api/v1/hr/recordings/" + rec + "/stages/transcribe/retry", As(admin, true));
  EXPECT_EQ(unknown->status, 404);
  EXPECT_EQ(json::parse(unknown->body)["error"], "stage_not_found");
  EXPECT_EQ(AuditCount("hr:boss", "retry_stage", "recording:" + rec), 0) << "the refused retries changed nothing";

  // Still broken: it runs once more and fails again, with one attempt this time.
  auto retried = post(path, As(admin, true));
  ASSERT_EQ(retried->status, 200) << retried->body;
  EXPECT_EQ(json::parse(retried->body)["status"], "queued");
  EXPECT_EQ(json::parse(retried->body)["attempts"], 0);
  ASSERT_TRUE(WaitFor([&] { return Sql("SELECT count(*) FROM jobs WHERE state = 'failed' AND attempts = 1") == 1; },
                      std::chrono::seconds(10)));
  EXPECT_EQ(finalize()["status"], "failed");

  // Fixed: the retry finalizes the recording from the bytes the spool kept.
  *broken = false;
  ASSERT_EQ(post(path, As(admin, true))->status, 200);
  ASSERT_TRUE(WaitFor([&] { return finalize()["status"] == "ready"; }, std::chrono::seconds(10)));
  json recording = finalize();
  EXPECT_EQ(recording["pipeline"]["status"], "completed") << recording;
  EXPECT_TRUE(recording["failure_reason"].is_null()) << recording;
  auto media = http().Get(("/api/v1/hr/recordings/" + rec + "/download").c_str(), As(admin));
  EXPECT_EQ(media->body, bytes);
  auto again = post(path, As(admin, true));
  EXPECT_EQ(again->status, 409);
  EXPECT_EQ(json::parse(again->body)["error"], "stage_not_failed");
  EXPECT_EQ(AuditCount("hr:boss", "retry_stage", "recording:" + rec), 2);
}

TEST_F(ResultsTest, TranscriptSearchFindsWhatWasSaidWithTheCandidateQuestionAndTimeWhateverTheQueryHolds) {
  StartWithAccounts();
  RecordedSession jane = Record("Jane Doe");
  RecordedSession john = Record("John Roe");
  // Jane's file starts 60 s into her session (a continuation); her question 2 starts at 90 s.
  ASSERT_EQ(Sql("UPDATE uploads SET metadata = 'start_ms " + tus::Base64Encode("60000") +
                "' WHERE recording_id = " + std::to_string(jane.recording_id) + " RETURNING 1"),
            1);
  auto marker = http().Post(
      ("/api/v1/sessions/" + jane.id + "/events").c_str(), {{"Authorization", "Bearer " + jane.token}},
      R"({"events":[{"id":"q2","type":"marker","label":"question_2_start","recording_time_ms":90000,"data":{"question":2,"edge":"start"}}]})",
      "application/json");
  ASSERT_EQ(marker->status, 201) << marker->body;
  Transcript said;
  said.engine = "test";
  said.segments = {{1000, 4000, "the cache fails first", 0.8, {}}, {31000, 34000, "a shorter cache key", 0.8, {}}};
  ASSERT_TRUE(app_->index().PutTranscript(jane.recording_id, said, {}, kStartTime).ok());
  said.segments = {{2000, 5000, "my cache was warm", 0.8, {}}};
  ASSERT_TRUE(app_->index().PutTranscript(john.recording_id, said, {}, kStartTime).ok());

  HrLogin login = LoginAs("rita", kReviewerPassword);
  auto search = [&](const std::string& q) {
    return http().Get(("/api/v1/hr/search?q=" + httplib::detail::encode_query_param(q)).c_str(), As(login));
  };
  auto res = search("SHORTER cache");
  ASSERT_EQ(res->status, 200) << res->body;
  json body = json::parse(res->body);
  EXPECT_EQ(body["words"], json({"SHORTER", "cache"}));
  ASSERT_EQ(body["hits"].size(), 1u) << body;
  json hit = body["hits"][0];
  EXPECT_EQ(hit["session_id"], jane.id);
  EXPECT_EQ(hit["candidate_name"], "Jane Doe");
  EXPECT_EQ(hit["recording_id"], jane.recording_id);
  EXPECT_EQ(hit["start_ms"], 91000) << "on the session clock";
  EXPECT_EQ(hit["end_ms"], 94000);
  EXPECT_EQ(hit["text"], "a shorter cache key");
  EXPECT_EQ(hit["question"], 2);

  body = json::parse(search("cache")->body);
  EXPECT_EQ(body["hits"].size(), 3u) << body;
  for (const json& h : body["hits"]) {
    if (h["text"] == "my cache was warm") {
      EXPECT_TRUE(h["question"].is_null()) << "John has no question markers";
    }
  }
  // FTS syntax, quotes and control characters are just word separators; nothing else is a word.
  for (const std::string& hostile : {std::string(R"("warm"* ^cache)"), std::string("cache\n\"\x01(:*")}) {
    auto r = search(hostile);
    ASSERT_EQ(r->status, 200) << hostile << ": " << r->body;
    EXPECT_EQ(json::parse(r->body)["hits"].size(), hostile[0] == '"' ? 1u : 3u) << hostile;
  }
  for (const std::string& empty : {std::string(""), std::string("  \"*() ")}) {
    auto r = search(empty);
    EXPECT_EQ(r->status, 400) << empty;
    const std::string message = json::parse(r->body).value("message", "");
    EXPECT_NE(message.find("words"), std::string::npos) << message;
  }
  EXPECT_EQ(http().Get("/api/v1/hr/search?q=cache&limit=0", As(login))->status, 400);
  EXPECT_EQ(http().Get("/api/v1/hr/search?q=cache")->status, 401);
  EXPECT_EQ(http().Get("/api/v1/hr/search?q=cache", {{"Authorization", "Bearer " + jane.token}})->status, 401);
  EXPECT_EQ(AuditCount("hr:rita", "search_transcripts", ""), 4);

  // A deleted session's words are no longer found.
  HrLogin admin = LoginAs("boss", kAdminPassword);
  ASSERT_EQ(http().Delete(("/api/v1/hr/sessions/" + john.id).c_str(), As(admin, true))->status, 204);
  EXPECT_EQ(json::parse(search("warm")->body)["hits"].size(), 0u);
}

TEST_F(ResultsTest, GuessedOrMalformedIdsReachTheHandlerAndAre404) {
  StartWithAccounts();
  RecordedSession s = Record("Jane Doe");
  HrLogin login = LoginAs("boss", kAdminPassword);
  httplib::Headers key = {{"Authorization", "Bearer test-api-key"}};
  // Each id matches its route's ([^/]+), so the handler (not the router) answers: its error code says so.
  std::vector<std::string> ids = {
      "..", "%2e%2e", ".",    "%2E",    std::string(3000, 'a'), "not-hex-zz", std::string(32, 'f'),
      "-1", "0",      "1abc", "999999", "..%5c..%5cetc",        "%00"};
  for (const std::string& id : ids) {
    struct Case {
      std::string method, path, error;
      httplib::Headers headers;
    };
    for (const Case& c : std::vector<Case>{
             {"GET", "/api/v1/hr/sessions/" + id, "session_not_found", As(login)},
             {"GET", "/api/v1/hr/sessions/" + id + "/transcript", "session_not_found", As(login)},
             {"GET", "/api/v1/hr/sessions/" + id + "/answers/1/clip", "session_not_found", As(login)},
             {"GET", "/api/v1/hr/sessions/" + s.id + "/answers/" + id + "/clip", "answer_not_found", As(login)},
             {"POST", "/api/v1/hr/recordings/" + id + "/stages/finalize/retry", "recording_not_found", As(login, true)},
             {"DELETE", "/api/v1/hr/sessions/" + id, "session_not_found", As(login, true)},
             {"DELETE", "/api/v1/hr/candidates/" + id, "candidate_not_found", As(login, true)},
             {"GET", "/api/v1/hr/recordings/" + id + "/media", "recording_not_found", As(login)},
             {"GET", "/api/v1/hr/recordings/" + id + "/download", "recording_not_found", As(login)},
             {"GET", "/api/v1/hr/recordings/" + id + "/live", "recording_not_found", As(login)},
             {"GET", "/api/v1/sessions/" + id, "session_not_found", key},
         }) {
      auto res = c.method == "GET"    ? http().Get(c.path.c_str(), c.headers)
                 : c.method == "POST" ? http().Post(c.path.c_str(), c.headers, "", "application/json")
                                      : http().Delete(c.path.c_str(), c.headers);
      ASSERT_TRUE(res) << c.method << " " << c.path.substr(0, 80);
      EXPECT_EQ(res->status, 404) << c.method << " " << c.path.substr(0, 80);
      auto body = json::parse(res->body, nullptr, false);
      EXPECT_EQ(body.is_object() ? body["error"] : json(), c.error) << c.method << " " << c.path.substr(0, 80);
    }
  }
  EXPECT_TRUE(fs::exists(OnlyRecordingFile())) << "nothing was deleted";
}

TEST_F(ResultsTest, AStoredPathOutsideTheDataFolderIsNeitherServedNorDeleted) {
  StartWithAccounts();
  RecordedSession s = Record("Jane Doe");
  HrLogin login = LoginAs("boss", kAdminPassword);
  // A corrupted or tampered index: the recording's path points outside DATA.
  WriteFile(dir_.path() / "outside.webm", "SECRET");
  Sql("UPDATE recordings SET media_key = '../outside.webm' WHERE id = " + std::to_string(s.recording_id));
  auto res = http().Get(("/api/v1/hr/recordings/" + std::to_string(s.recording_id) + "/download").c_str(), As(login));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  EXPECT_EQ(res->body.find("SECRET"), std::string::npos);

  auto deleted = http().Delete(("/api/v1/hr/sessions/" + s.id).c_str(), As(login, true));
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->status, 500);
  EXPECT_EQ(ReadFile(dir_.path() / "outside.webm"), "SECRET") << "a file outside DATA is never removed";
  EXPECT_EQ(http().Get(("/api/v1/hr/sessions/" + s.id).c_str(), As(login))->status, 200) << "rows kept for a retry";
  EXPECT_FALSE(Contains(AuditActions(), "delete_session session:" + s.id));
}

TEST_F(ResultsTest, MediaIsServedWithRangesAndTheDownloadIsNamedBySessionAndAudited) {
  StartWithAccounts();
  RecordedSession s = Record("Jane Doe");
  HrLogin login = LoginAs("rita", kReviewerPassword);
  std::string media = "/api/v1/hr/recordings/" + std::to_string(s.recording_id) + "/media";

  auto headers = As(login);
  headers.emplace("Range", "bytes=100-199");
  auto part = http().Get(media.c_str(), headers);
  ASSERT_TRUE(part);
  EXPECT_EQ(part->status, 206);
  EXPECT_EQ(part->body, s.bytes.substr(100, 100));
  EXPECT_EQ(part->get_header_value("Content-Range"), "bytes 100-199/" + std::to_string(s.bytes.size()));
  EXPECT_EQ(part->get_header_value("Content-Type"), "video/webm");

  auto tail_headers = As(login);
  tail_headers.emplace("Range", "bytes=-10");
  EXPECT_EQ(http().Get(media.c_str(), tail_headers)->body, s.bytes.substr(s.bytes.size() - 10));

  auto past_end = As(login);
  past_end.emplace("Range", "bytes=999999-");
  auto unsatisfiable = http().Get(media.c_str(), past_end);
  EXPECT_EQ(unsatisfiable->status, 416);
  EXPECT_EQ(unsatisfiable->get_header_value("Content-Range"), "bytes */" + std::to_string(s.bytes.size()));

  auto whole = http().Get(media.c_str(), As(login));
  EXPECT_EQ(whole->status, 200);
  EXPECT_EQ(whole->body, s.bytes);
  EXPECT_EQ(whole->get_header_value("Accept-Ranges"), "bytes");

  auto download =
      http().Get(("/api/v1/hr/recordings/" + std::to_string(s.recording_id) + "/download").c_str(), As(login));
  ASSERT_TRUE(download);
  EXPECT_EQ(download->status, 200);
  EXPECT_EQ(download->body, ReadFile(OnlyRecordingFile()));
  EXPECT_EQ(download->get_header_value("Content-Disposition"), "attachment; filename=\"interview_" + s.id + ".webm\"");
  EXPECT_TRUE(Contains(AuditActions(), "download recording:" + std::to_string(s.recording_id)));

  // A recording still receiving cannot be played.
  json session = SessionJson("Late Candidate");
  NewUpload(session["upload_token"], std::nullopt);
  auto receiving = app_->index().RecordingsOfSession(session["session_id"]);
  auto res =
      http().Get(("/api/v1/hr/recordings/" + std::to_string(receiving->front().id) + "/media").c_str(), As(login));
  EXPECT_EQ(res->status, 409);
  EXPECT_EQ(json::parse(res->body)["error"], "recording_not_ready");
}

// Where the Clusters of a WebM start (tests/webm's walker of the Segment's children).
std::vector<size_t> ClusterOffsets(const std::string& webm) {
  const auto offsets = webm::testing::ClusterOffsets(webm::testing::Bytes(webm.begin(), webm.end()));
  return {offsets.begin(), offsets.end()};
}

// 5 s with a keyframe every second, in ffmpeg's live mode (a Cluster at every keyframe).
std::string LiveSource() {
  static const std::string bytes = [] {
    const fs::path file = fs::temp_directory_path() / ("recorder-live-source-" + std::to_string(getpid()) + ".webm");
    CommandResult made =
        RunCommand("ffmpeg -nostdin -v error -y -i " RECORDER_TEST_MEDIA "/akiyo_cif.mp4 -i " RECORDER_TEST_MEDIA
                   "/speech_orig_16k.wav -t 5 -c:v libvpx-vp9 -deadline realtime -cpu-used 8 "
                   "-b:v 300k -g 30 -c:a libopus -f webm -live 1 -cluster_time_limit 1000 " +
                   file.string());
    EXPECT_EQ(made.exit_code, 0) << made.output;
    std::string read = ReadFile(file);
    fs::remove(file);
    return read;
  }();
  return bytes;
}

// HR watches a recording while it is received: the stream is the WebM header, the Clusters from
// the last keyframe on, then each Cluster once its PATCH is acknowledged, and it ends with the
// upload. What arrives decodes from its first frame, every opening is audited, and a recording
// unknown, finished or asked for without a login gets the usual answers.
TEST_F(ResultsTest, ALiveViewStreamsFromTheLastKeyframeWhileTheRecordingIsReceivedAndEndsWithIt) {
  config_.max_live_viewers = 1;  // each viewer holds a server thread: one more than allowed is 503
  StartWithAccounts();
  HrLogin login = LoginAs("rita", kReviewerPassword);
  const std::string live = LiveSource();
  const std::vector<size_t> clusters = ClusterOffsets(live);
  ASSERT_GE(clusters.size(), 4u);

  json session = SessionJson("Live Candidate");
  const std::string token = session["upload_token"];
  const std::string url = NewUpload(token);
  auto recordings = app_->index().RecordingsOfSession(session["session_id"]);
  const std::string path = "/api/v1/hr/recordings/" + std::to_string(recordings->front().id) + "/live";
  // The header and the first three Clusters arrive before anyone watches.
  uint64_t offset = 0;
  auto send = [&](size_t end, bool last = false) {
    httplib::Headers extra;
    if (last) extra.emplace("Upload-Length", std::to_string(end));
    auto res = Patch(token, url, offset, live.substr(offset, end - offset), extra);
    ASSERT_TRUE(res && res->status == 204) << (res ? res->body : "no response");
    offset = end;
  };
  send(clusters[0]);
  for (size_t i = 1; i <= 3; ++i) send(clusters[i]);

  EXPECT_EQ(http().Get(path.c_str())->status, 401);
  EXPECT_EQ(http().Get("/api/v1/hr/recordings/999999/live", As(login))->status, 404);

  std::string received;
  std::atomic<bool> ended{false};
  std::thread viewer([&] {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(30, 0);
    auto res = client.Get(path.c_str(), As(login), [&](const char* data, size_t n) {
      received.append(data, n);
      return true;
    });
    EXPECT_TRUE(res && res->status == 200) << (res ? res->body : httplib::to_string(res.error()));
    ended = true;
  });
  // The viewer gets the header and the Clusters from the last keyframe before it came, then
  // each new Cluster as it is acknowledged.
  ASSERT_TRUE(
      WaitFor([&] { return received.size() >= clusters[0] + (clusters[3] - clusters[2]); }, std::chrono::seconds(10)));
  auto second = http().Get(path.c_str(), As(login));
  EXPECT_EQ(second->status, 503);
  EXPECT_EQ(json::parse(second->body)["error"], "too_many_live_viewers");
  for (size_t i = 4; i < clusters.size(); ++i) send(clusters[i]);
  send(live.size(), /*last=*/true);
  ASSERT_TRUE(WaitFor([&] { return ended.load(); }, std::chrono::seconds(10))) << "the stream ends with the upload";
  viewer.join();

  ASSERT_GT(received.size(), clusters[0]);
  EXPECT_TRUE(received.compare(0, clusters[0], live, 0, clusters[0]) == 0) << "the WebM header first";
  const std::string body = received.substr(clusters[0]);
  const size_t join = live.size() - body.size();
  EXPECT_TRUE(live.compare(join, std::string::npos, body) == 0) << "then everything from one point to the end";
  EXPECT_TRUE(std::find(clusters.begin(), clusters.end(), join) != clusters.end()) << "that point starts a Cluster";
  EXPECT_EQ(join, clusters[2]) << "the last Cluster starting on a keyframe before the viewer came";
  const fs::path watched = fs::path(config_.data_dir).parent_path() / "watched.webm";
  WriteFile(watched, received);
  EXPECT_EQ(RunCommand("ffmpeg -v error -i " + watched.string() + " -f null - 2>&1").output, "")
      << "what the viewer got decodes from its first frame";
  EXPECT_EQ(AuditCount("hr:rita", "watch_live", "recording:" + std::to_string(recordings->front().id)), 1)
      << "the refused viewer is not audited";

  // Finished: play it whole instead.
  auto after = http().Get(path.c_str(), As(login));
  EXPECT_EQ(after->status, 409);
  EXPECT_EQ(json::parse(after->body)["error"], "recording_not_live");
}

// A reviewer whose browser stops reading holds one piece of the recording, not the recording: the
// server's write to it times out (--write-timeout-seconds), the view ends and its place is free.
TEST_F(ResultsTest, ALiveViewerThatStopsReadingIsDroppedAndItsPlaceGivenBack) {
  config_.max_live_viewers = 1;
  config_.write_timeout_seconds = 2;
  config_.ingest.max_upload_size = 64 << 20;
  StartWithAccounts();
  HrLogin login = LoginAs("rita", kReviewerPassword);
  const std::string live = LiveSource();
  json session = SessionJson("Live Candidate");
  const std::string token = session["upload_token"];
  const std::string url = NewUpload(token);
  uint64_t offset = 0;
  auto send = [&](const std::string& bytes) {  // in PATCHes the fixture's request limit takes
    for (size_t at = 0; at < bytes.size(); at += 200 << 10) {
      const std::string piece = bytes.substr(at, 200 << 10);
      ASSERT_EQ(Patch(token, url, offset, piece)->status, 204);
      offset += piece.size();
    }
  };
  send(live);
  const std::string path = "/api/v1/hr/recordings/" +
                           std::to_string(app_->index().RecordingsOfSession(session["session_id"])->front().id) +
                           "/live";

  // The stalled viewer: a small receive buffer, a request, and no read ever.
  int sock = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(sock, 0);
  int small = 4096;
  ::setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: " + login.cookie + "\r\n\r\n";
  ASSERT_EQ(::send(sock, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  // It holds the one place once its answer starts: the status line read, nothing more ever is. (A
  // probe below that came first would take the place and leave this viewer a 503.)
  timeval patience{10, 0};
  ::setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
  char status_line[12] = {};
  ASSERT_EQ(::recv(sock, status_line, sizeof status_line, MSG_WAITALL), static_cast<ssize_t>(sizeof status_line));
  ASSERT_EQ(std::string(status_line, sizeof status_line), "HTTP/1.1 200");
  auto status_of_new_viewer = [&] {
    int status = 0;
    httplib::Client client("127.0.0.1", port_);
    client.Get(
        path.c_str(), As(login),
        [&](const httplib::Response& r) {
          status = r.status;
          return false;  // the status is all this needs
        },
        [](const char*, size_t) { return false; });
    return status;
  };
  ASSERT_TRUE(WaitFor([&] { return status_of_new_viewer() == 503; }, std::chrono::seconds(5))) << "the place is taken";
  // 16 MiB more than the two socket buffers can hold: the server's write blocks, then times out.
  send(std::string(size_t{16} << 20, 'x'));
  EXPECT_TRUE(WaitFor([&] { return status_of_new_viewer() == 200; }, std::chrono::seconds(20)))
      << "the stalled viewer was dropped and its place given back";
  ::close(sock);
}

// Every Range form of RFC 9110 against a recording (the parser's own cases: byte_ranges_test.cc).
// cpp-httplib's own handling sent a Content-Length past the file and cut the connection, answered
// invalid ranges with 500, `bytes=-0` with an empty 206 and repeated ranges with the file repeated.
TEST_F(ResultsTest, MediaRangesAreClampedInvalidOnesIgnoredAndNeverMoreThanTheFile) {
  StartWithAccounts();
  RecordedSession s = Record("Jane Doe");
  HrLogin login = LoginAs("rita", kReviewerPassword);
  std::string media = "/api/v1/hr/recordings/" + std::to_string(s.recording_id) + "/media";
  const std::string size = std::to_string(s.bytes.size());
  auto get = [&](const std::string& range, bool head = false) {
    auto headers = As(login);
    headers.emplace("Range", range);
    auto res = head ? http().Head(media.c_str(), headers) : http().Get(media.c_str(), headers);
    EXPECT_TRUE(res) << range << ": " << (res ? "" : httplib::to_string(res.error()));
    return res;
  };

  auto clamped = get("bytes=4000-1048575");
  ASSERT_TRUE(clamped);
  EXPECT_EQ(clamped->status, 206);
  EXPECT_EQ(clamped->get_header_value("Content-Range"),
            "bytes 4000-" + std::to_string(s.bytes.size() - 1) + "/" + size);
  EXPECT_EQ(clamped->body, s.bytes.substr(4000));

  for (const char* unsatisfiable : {"bytes=100000000000000000000-", "bytes=-0", "bytes=999999-"}) {
    auto res = get(unsatisfiable);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 416) << unsatisfiable;
    EXPECT_EQ(res->get_header_value("Content-Range"), "bytes */" + size) << unsatisfiable;
  }
  // Invalid syntax, another unit, and ranges we answer whole (several disjoint ones, If-Range).
  for (const char* whole : {"bytes=100-50", "items=0-5", "bytes=abc", "bytes=0-9,-10"}) {
    auto res = get(whole);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << whole;
    EXPECT_EQ(res->body, s.bytes) << whole;
    EXPECT_FALSE(res->has_header("Content-Range")) << whole;
  }
  auto headers = As(login);
  headers.emplace("Range", "bytes=0-9");
  headers.emplace("If-Range", "\"some-etag\"");
  EXPECT_EQ(http().Get(media.c_str(), headers)->status, 200);

  auto overlapping = get("bytes=0-9,5-19");
  ASSERT_TRUE(overlapping);
  EXPECT_EQ(overlapping->status, 206);
  EXPECT_EQ(overlapping->get_header_value("Content-Range"), "bytes 0-19/" + size);
  EXPECT_EQ(overlapping->body, s.bytes.substr(0, 20));

  std::string repeated = "bytes=0-";
  for (int i = 1; i < 1000; ++i) repeated += ",0-";
  auto res = get(repeated);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, s.bytes);

  // HEAD answers as GET does, without the bytes.
  for (const char* range : {"bytes=10-19", "bytes=-0", "bytes=100-50"}) {
    auto got = get(range), head = get(range, /*head=*/true);
    ASSERT_TRUE(got && head);
    EXPECT_EQ(head->status, got->status) << range;
    EXPECT_EQ(head->get_header_value("Content-Range"), got->get_header_value("Content-Range")) << range;
    EXPECT_EQ(head->get_header_value("Content-Length"), std::to_string(got->body.size())) << range;
    EXPECT_TRUE(head->body.empty());
  }
}

TEST_F(ResultsTest, PlayingIsAuditedOncePerLoginAndRecordingAndHeadRequestsAreNotAudited) {
  StartWithAccounts();
  RecordedSession s = Record("Jane Doe");
  std::string rec = "recording:" + std::to_string(s.recording_id);
  std::string media = "/api/v1/hr/recordings/" + std::to_string(s.recording_id) + "/media";
  std::string download = "/api/v1/hr/recordings/" + std::to_string(s.recording_id) + "/download";
  HrLogin login = LoginAs("rita", kReviewerPassword);
  for (int i = 0; i < 5; ++i) {  // as a player buffers and seeks: one Range request after another
    auto headers = As(login);
    headers.emplace("Range", "bytes=" + std::to_string(i * 1000) + "-");
    ASSERT_EQ(http().Get(media.c_str(), headers)->status, 206);
  }
  EXPECT_EQ(AuditCount("hr:rita", "play", rec), 1);
  EXPECT_EQ(http().Head(media.c_str(), As(login))->status, 200);
  auto head = http().Head(download.c_str(), As(login));
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->get_header_value("Content-Length"), std::to_string(s.bytes.size()));
  EXPECT_EQ(AuditCount("hr:rita", "download", rec), 0) << "HEAD sends no file";
  EXPECT_EQ(AuditCount("hr:rita", "play", rec), 1);
  EXPECT_EQ(http().Get(download.c_str(), As(login))->status, 200);
  EXPECT_EQ(AuditCount("hr:rita", "download", rec), 1);

  HrLogin again = LoginAs("rita", kReviewerPassword);
  EXPECT_EQ(http().Get(media.c_str(), As(again))->status, 200);
  EXPECT_EQ(AuditCount("hr:rita", "play", rec), 2) << "another login plays it again";
  HrLogin boss = LoginAs("boss", kAdminPassword);
  EXPECT_EQ(http().Get(media.c_str(), As(boss))->status, 200);
  EXPECT_EQ(AuditCount("hr:boss", "play", rec), 1);

  // The host platform's read of a session is audited under the API key.
  auto host = http().Get(("/api/v1/sessions/" + s.id).c_str(), {{"Authorization", "Bearer test-api-key"}});
  ASSERT_EQ(host->status, 200);
  EXPECT_EQ(AuditCount("api-key", "view", "session:" + s.id), 1);
}

TEST_F(ResultsTest, ListFiltersBySearchJobStatusAndDateAndTheHostApiSeesTheSame) {
  StartWithAccounts();
  Record("Jane Doe");
  clock_->Advance(2 * 86400);
  RecordedSession john = Record("John Roe");
  json empty = SessionJson("Ann Empty");
  HrLogin login = LoginAs("rita", kReviewerPassword);
  auto list = [&](const std::string& query) {
    auto res = http().Get(("/api/v1/hr/sessions" + query).c_str(), As(login));
    EXPECT_TRUE(res && res->status == 200) << query << ": " << (res ? res->body : "");
    return res && res->status == 200 ? json::parse(res->body) : json();
  };
  json all = list("");
  EXPECT_EQ(all["total"], 3);
  EXPECT_EQ(all["sessions"][0]["candidate_name"], "Ann Empty") << "newest first";
  EXPECT_EQ(list("?q=jOhN")["sessions"][0]["session_id"], john.id);
  EXPECT_EQ(list("?q=jOhN")["total"], 1);
  EXPECT_EQ(list("?q=%25")["total"], 0) << "LIKE wildcards in the search match literally";
  EXPECT_EQ(list("?status=empty")["sessions"][0]["session_id"], empty["session_id"]);
  EXPECT_EQ(list("?status=ready")["total"], 2);
  EXPECT_EQ(list("?job=backend")["total"], 3);
  EXPECT_EQ(list("?to=2026-01-02")["total"], 1) << "kStartTime is 2026-01-01; the others came two days later";
  EXPECT_EQ(list("?from=2026-01-03")["total"], 2);
  json page = list("?limit=1&offset=1");
  EXPECT_EQ(page["total"], 3);
  EXPECT_EQ(page["sessions"].size(), 1u);
  json ready = list("?q=john")["sessions"][0];
  EXPECT_EQ(ready["status"], "ready");
  EXPECT_EQ(ready["recordings"][0]["kind"], "camera");
  EXPECT_EQ(ready["recordings"][0]["bytes"], john.bytes.size());

  for (const char* bad :
       {"?status=done", "?from=2026-13-01", "?to=yesterday", "?limit=0", "?limit=501", "?offset=-1"}) {
    auto res = http().Get((std::string("/api/v1/hr/sessions") + bad).c_str(), As(login));
    EXPECT_EQ(res->status, 400) << bad;
    EXPECT_EQ(json::parse(res->body)["error"], "invalid_filter") << bad;
  }

  httplib::Headers key = {{"Authorization", "Bearer test-api-key"}};
  auto host = http().Get("/api/v1/sessions?q=john", key);
  ASSERT_TRUE(host && host->status == 200);
  EXPECT_EQ(json::parse(host->body)["sessions"][0]["status"], "ready");
  auto one = http().Get(("/api/v1/sessions/" + john.id).c_str(), key);
  ASSERT_TRUE(one && one->status == 200);
  EXPECT_EQ(json::parse(one->body)["recordings"][0]["status"], "ready");
  EXPECT_TRUE(json::parse(one->body)["markers"].is_array());
  EXPECT_EQ(http().Get("/api/v1/sessions", {{"Authorization", "Bearer wrong"}})->status, 401);
  EXPECT_EQ(http().Get(("/api/v1/sessions/" + std::string(32, '0')).c_str(), key)->status, 404);
}

TEST_F(ResultsTest, DeletingASessionRemovesFilesRowsAndTokenAndLeavesOnlyAnAuditEntry) {
  StartWithAccounts();
  RecordedSession s = Record("Jane Doe");
  auto events = http().Post(("/api/v1/sessions/" + s.id + "/events").c_str(), {{"Authorization", "Bearer " + s.token}},
                            json{{"events",
                                  {{{"id", "q1"},
                                    {"type", "marker"},
                                    {"label", "Q1"},
                                    {"recording_time_ms", 500},
                                    {"upload_url", s.upload_url}}}}}
                                .dump(),
                            "application/json");
  ASSERT_EQ(events->status, 201);
  // A second, still receiving recording makes the session busy: nothing is deleted.
  std::string live = NewUpload(s.token, std::nullopt);
  HrLogin admin = LoginAs("boss", kAdminPassword);
  auto busy = http().Delete(("/api/v1/hr/sessions/" + s.id).c_str(), As(admin, true));
  EXPECT_EQ(busy->status, 409);
  EXPECT_EQ(json::parse(busy->body)["error"], "session_busy");
  EXPECT_NE(json::parse(busy->body)["message"].get<std::string>().find("the session is still recording"),
            std::string::npos)
      << busy->body;
  // The refused deletion changed nothing: the interview goes on with its token and files.
  EXPECT_EQ(Patch(s.token, live, 0, "more bytes")->status, 204);
  EXPECT_TRUE(fs::exists(fs::path(config_.data_dir) / app_->index().RecordingsOfSession(s.id)->front().media_key));
  ASSERT_EQ(http().Delete(live.c_str(), Tus(s.token))->status, 204);  // the candidate ends that upload

  fs::path folder = OnlyRecordingFile().parent_path();
  ASSERT_GT(Sql("SELECT count(*) FROM jobs"), 0) << "the finalize job's row, which must go too";
  auto deleted = http().Delete(("/api/v1/hr/sessions/" + s.id).c_str(), As(admin, true));
  ASSERT_EQ(deleted->status, 204) << deleted->body;
  EXPECT_FALSE(fs::exists(folder)) << "the candidate's folder goes with their last file";
  for (const char* table : {"candidates", "sessions", "recordings", "uploads", "jobs", "session_events"}) {
    EXPECT_EQ(Sql(std::string("SELECT count(*) FROM ") + table), 0) << table;
  }
  for (const char* what : {"/media", "/download"}) {
    auto res = http().Get(("/api/v1/hr/recordings/" + std::to_string(s.recording_id) + what).c_str(), As(admin));
    EXPECT_EQ(res->status, 404) << what;
    EXPECT_EQ(json::parse(res->body)["error"], "recording_not_found") << what;
  }
  EXPECT_EQ(http().Get(("/api/v1/hr/sessions/" + s.id).c_str(), As(admin))->status, 404);
  EXPECT_EQ(app_->index().SessionEvents(s.id)->size(), 0u);
  EXPECT_EQ(app_->index().RecordingsOfSession(s.id)->size(), 0u);
  EXPECT_EQ(json::parse(http().Get("/api/v1/hr/sessions?q=jane", As(admin))->body)["total"], 0);

  auto audit = json::parse(http().Get("/api/v1/hr/audit", As(admin))->body)["entries"];
  ASSERT_EQ(audit[0]["action"], "delete_session");
  EXPECT_EQ(audit[0]["actor"], "hr:boss");
  EXPECT_EQ(audit[0]["target"], "session:" + s.id);
  EXPECT_EQ(audit.dump().find("Jane"), std::string::npos) << "the audit log keeps no candidate data";
  EXPECT_EQ(http().Delete(("/api/v1/hr/sessions/" + s.id).c_str(), As(admin, true))->status, 404);
  EXPECT_EQ(HeadOffset(s.token, s.upload_url), -1) << "the session's upload token is gone with it";
}

TEST_F(ResultsTest, AForcedDeletionRevokesTheTokenStopsTheUploadsInFlightAndDeletesEverything) {
  StartWithAccounts();
  RecordedSession s = Record("Jane Doe");
  std::string live = NewUpload(s.token, std::nullopt);
  std::string path = "/api/v1/hr/sessions/" + s.id;
  HrLogin reviewer = LoginAs("rita", kReviewerPassword);
  EXPECT_EQ(http().Delete((path + "?force=1").c_str(), As(reviewer, true))->status, 403) << "admins only";
  HrLogin admin = LoginAs("boss", kAdminPassword);
  EXPECT_EQ(http().Delete((path + "?force=yes").c_str(), As(admin, true))->status, 409) << "only force=1 forces";

  // The candidate's page keeps sending chunks, on its own connection, while the admin deletes.
  std::atomic<int> acknowledged{0};
  int last_status = 0;
  std::thread candidate([&] {
    httplib::Client client("127.0.0.1", port_);
    uint64_t offset = 0;
    for (int i = 0; i < 5000; ++i) {
      auto headers = Tus(s.token);
      headers.emplace("Upload-Offset", std::to_string(offset));
      auto res = client.Patch(live.c_str(), headers, std::string(2000, 'c'), "application/offset+octet-stream");
      last_status = res ? res->status : -1;
      if (last_status != 204) return;
      offset += 2000;
      ++acknowledged;
    }
  });
  ASSERT_TRUE(WaitFor([&] { return acknowledged >= 3; }, std::chrono::seconds(10)));
  auto forced = http().Delete((path + "?force=1").c_str(), As(admin, true));
  candidate.join();
  ASSERT_EQ(forced->status, 204) << forced->body;
  EXPECT_TRUE(last_status == 401 || last_status == 404) << "the PATCH after the deletion got " << last_status;

  EXPECT_FALSE(fs::exists(fs::path(config_.data_dir) / "Jane_Doe")) << "no file of the recording in flight is left";
  EXPECT_EQ(Sql("SELECT count(*) FROM uploads"), 0);
  EXPECT_EQ(Sql("SELECT count(*) FROM recordings"), 0);
  EXPECT_EQ(Sql("SELECT count(*) FROM candidates"), 0);
  auto headers = Tus(s.token);
  headers.emplace("Upload-Defer-Length", "1");
  EXPECT_EQ(http().Post("/files/", headers, "", "application/offset+octet-stream")->status, 401);
  auto audit = app_->index().AuditEntries(1);
  ASSERT_EQ(audit->front().action, "delete_session");
  json detail = json::parse(audit->front().detail_json);
  EXPECT_EQ(detail["forced"], true);
  EXPECT_EQ(detail["uploads_stopped"], 1);
  EXPECT_EQ(detail["recordings"], 2);
}

TEST_F(ResultsTest, AnUploadCreatedAfterADeletionBeganIsRefusedAndLeavesNoFile) {
  StartWithAccounts();
  RecordedSession s = Record("Jane Doe");
  // A creation request that authenticated just before the deletion's first step ...
  auto session = app_->ingest().Authenticate(s.token);
  ASSERT_TRUE(session.ok());
  auto prepared = app_->index().PrepareSessionDeletion(s.id);
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  // ... reaches the index after it: refused, its .part file removed.
  auto created = app_->ingest().CreateUpload(session.value(), std::nullopt, RecordingKind::kCamera, "");
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().err, Err::kInvalidUploadToken);
  fs::path kept = OnlyRecordingFile();
  EXPECT_EQ(kept.extension(), ".webm") << "only the finalized recording is on disk: " << kept;
  EXPECT_EQ(Sql("SELECT count(*) FROM recordings"), 1);

  auto deleted = app_->results().DeleteSession(s.id, "hr:boss", false);
  ASSERT_TRUE(deleted.ok()) << deleted.error().detail;
  EXPECT_FALSE(fs::exists(kept.parent_path()));
  EXPECT_EQ(Sql("SELECT count(*) FROM sessions"), 0);
}

TEST_F(ResultsTest, DeletingACandidateRemovesEverySessionOfTheirs) {
  StartWithAccounts();
  RecordedSession first = Record("Jane Doe");
  RecordedSession second = Record("Jane Doe");
  RecordedSession other = Record("John Roe");
  HrLogin admin = LoginAs("boss", kAdminPassword);
  json jane = json::parse(http().Get(("/api/v1/hr/sessions/" + first.id).c_str(), As(admin))->body);
  auto res = http().Delete(("/api/v1/hr/candidates/" + std::to_string(jane["candidate_id"].get<int64_t>())).c_str(),
                           As(admin, true));
  ASSERT_EQ(res->status, 204) << res->body;
  EXPECT_EQ(http().Get(("/api/v1/hr/sessions/" + second.id).c_str(), As(admin))->status, 404);
  EXPECT_EQ(http().Get(("/api/v1/hr/sessions/" + other.id).c_str(), As(admin))->status, 200);
  EXPECT_FALSE(fs::exists(fs::path(config_.data_dir) / "Jane_Doe"));
  EXPECT_TRUE(fs::exists(fs::path(config_.data_dir) / "John_Roe"));
  EXPECT_TRUE(
      Contains(AuditActions(), "delete_candidate candidate:" + std::to_string(jane["candidate_id"].get<int64_t>())));
}

TEST_F(ResultsTest, RetentionDeletesExactlyWhatIsPastTheLimitAndGoesOnPastAFailure) {
  config_.ingest.upload_expiry_seconds = 200 * 86400;  // the receiving upload stays receiving
  StartWithAccounts();
  // First (lowest id), so the sweep meets its failure before the others: a path outside DATA.
  RecordedSession tampered = Record("Tampered Path");
  WriteFile(dir_.path() / "outside.webm", "NOT YOURS");
  Sql("UPDATE recordings SET media_key = '../outside.webm' WHERE id = " + std::to_string(tampered.recording_id));
  RecordedSession expired = Record("Expired Ready");
  json failed = SessionJson("Expired Failed");
  std::string broken = "BROKEN" + std::string(100, 'x');
  ASSERT_EQ(Patch(failed["upload_token"], NewUpload(failed["upload_token"], broken.size()), 0, broken)->status, 204);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto recs = app_->index().RecordingsOfSession(failed["session_id"]);
        return recs.ok() && recs->size() == 1 && recs->front().status == RecordingStatus::kFailed;
      },
      std::chrono::seconds(10)));
  int64_t failed_id = app_->index().RecordingsOfSession(failed["session_id"])->front().id;
  json receiving = SessionJson("Still Receiving");
  ASSERT_EQ(Patch(receiving["upload_token"], NewUpload(receiving["upload_token"]), 0, "live bytes")->status, 204);
  json empty_old = SessionJson("Never Recorded");
  clock_->Advance(2 * 3600);
  RecordedSession recent = Record("Recent Ready");
  json empty_recent = SessionJson("Recent Empty");
  // Now the first ones are 90 days + 1 h old, the last two 90 days - 1 h.
  clock_->Advance(90 * 86400 - 3600);

  auto gone = [&](const std::string& id) { return !app_->index().GetSessionSummary(id).ok(); };
  ASSERT_TRUE(WaitFor([&] { return gone(expired.id) && gone(failed["session_id"]) && gone(empty_old["session_id"]); },
                      std::chrono::seconds(10)));
  for (const char* folder : {"Expired_Ready", "Expired_Failed"}) {
    EXPECT_FALSE(fs::exists(fs::path(config_.data_dir) / folder)) << folder;
  }
  for (const char* name : {"Expired Ready", "Expired Failed", "Never Recorded"}) {
    EXPECT_EQ(Sql(std::string("SELECT count(*) FROM candidates WHERE name = '") + name + "'"), 0) << name;
  }
  // Kept: the recent ones, the one still receiving (with its bytes), and the one whose deletion failed.
  for (const std::string& id : {recent.id, empty_recent["session_id"].get<std::string>(),
                                receiving["session_id"].get<std::string>(), tampered.id}) {
    EXPECT_FALSE(gone(id)) << id;
  }
  auto live = app_->index().RecordingsOfSession(receiving["session_id"]);
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ(live->front().status, RecordingStatus::kReceiving);
  EXPECT_EQ(ReadFile(fs::path(config_.data_dir) / (live->front().media_key + ".part")), "live bytes");
  EXPECT_EQ(ReadFile(dir_.path() / "outside.webm"), "NOT YOURS");
  EXPECT_EQ(Sql("SELECT count(*) FROM candidates"), 4);

  std::vector<std::string> by_retention;
  auto audit = app_->index().AuditEntries(100);
  for (const AuditEntry& e : audit.value()) {
    if (e.actor == "system:retention") by_retention.push_back(e.action + " " + e.target);
  }
  std::sort(by_retention.begin(), by_retention.end());
  EXPECT_EQ(by_retention.size(), 3u) << ::testing::PrintToString(by_retention);
  EXPECT_TRUE(Contains(by_retention, "retention_delete recording:" + std::to_string(expired.recording_id)));
  EXPECT_TRUE(Contains(by_retention, "retention_delete_session session:" + empty_old["session_id"].get<std::string>()));
  EXPECT_TRUE(Contains(by_retention, "retention_delete recording:" + std::to_string(failed_id)));
}

TEST(RetentionFlag, RetentionDaysFromTheCommandLineReachTheSweeper) {
  TempDir dir;
  fs::path data = dir.path() / "data";
  const int64_t now = SystemClock().NowSeconds();
  std::map<int, int64_t> recording_of_age;  // days -> recording id
  {
    auto index = App::OpenIndex(data.string());
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    for (int days : {10, 3}) {
      int64_t at = now - days * 86400;
      std::string folder = "Candidate_" + std::to_string(days);
      auto candidate = (*index)->FindOrCreateCandidate(folder, "", folder, at);
      ASSERT_TRUE(candidate.ok());
      std::string session = RandomHex(16);
      ASSERT_TRUE((*index)->CreateSession(session, candidate->id, "", {}, RandomHex(32), at + 86400, at).ok());
      Upload upload;
      upload.id = RandomHex(16);
      upload.session_id = session;
      upload.media_key = folder + "/interview_video.webm";
      upload.length = 4;
      upload.expires_at = at + 3600;
      auto created = (*index)->CreateUpload(upload, RecordingKind::kCamera, at);
      ASSERT_TRUE(created.ok()) << created.status().ToString();
      ASSERT_TRUE(
          (*index)
              ->FinishUpload(upload.id, UploadState::kComplete, false, FinalizeJob::For(created->recording_id), at)
              .ok());
      ASSERT_TRUE((*index)->MarkRecordingReady(created->recording_id, 4, 1000, false, {}, at).ok());
      fs::create_directories(data / folder);
      WriteFile(data / upload.media_key, "webm");
      recording_of_age[days] = created->recording_id;
    }
  }
  ServerProcess server(
      data.string(), FreePort(), (dir.path() / "server.log").string(),
      {"--api-key", "k", "--retention-days", "7", "--retention-sweep-seconds", "1", "--job-poll-ms", "50"});
  server.Start();
  EXPECT_TRUE(WaitFor([&] { return !fs::exists(data / "Candidate_10"); }, std::chrono::seconds(10)))
      << ReadFile(dir.path() / "server.log");
  server.Kill(SIGTERM);
  EXPECT_TRUE(fs::exists(data / "Candidate_3/interview_video.webm")) << "3 days < 7 days";
  auto index = App::OpenIndex(data.string());
  ASSERT_TRUE(index.ok());
  EXPECT_FALSE((*index)->GetRecording(recording_of_age[10]).ok());
  EXPECT_TRUE((*index)->GetRecording(recording_of_age[3]).ok());
  auto audit = (*index)->AuditEntries(10);
  ASSERT_FALSE(audit->empty());
  EXPECT_EQ(audit->front().actor, "system:retention");
  EXPECT_EQ(audit->front().target, "recording:" + std::to_string(recording_of_age[10]));
}

TEST_F(ResultsTest, RecordingsCarryTheirPartAndStartOnTheSessionClockFromTheUploadMetadata) {
  StartWithAccounts();
  json session = SessionJson("Jane Doe");
  NewUpload(session["upload_token"], std::nullopt, "camera", {{"part", "2"}, {"start_ms", "45120"}});
  NewUpload(session["upload_token"], std::nullopt, "screen");  // a client that says neither
  HrLogin login = LoginAs("rita", kReviewerPassword);
  json detail = json::parse(
      http().Get(("/api/v1/hr/sessions/" + session["session_id"].get<std::string>()).c_str(), As(login))->body);
  ASSERT_EQ(detail["recordings"].size(), 2u);
  EXPECT_EQ(detail["recordings"][0]["part"], 2);
  EXPECT_EQ(detail["recordings"][0]["start_ms"], 45120);
  EXPECT_TRUE(detail["recordings"][1]["start_ms"].is_null());
  EXPECT_EQ(detail["status"], "recording");
}

TEST_F(ResultsTest, PartsAndTheScreenDownloadUnderDistinctNamesAndTheSessionLastsUntilItsLastPartEnds) {
  StartWithAccounts();
  json session = SessionJson("Jane Doe");
  std::string sid = session["session_id"], token = session["upload_token"];
  struct Part {
    std::string kind, part, start_ms, bytes, download_name;
  };
  // Created in this order: the screen between the camera's first part and its continuation.
  const std::vector<Part> parts = {
      {"camera", "1", "0", "camera part 1" + std::string(3000, 'a'), "interview_" + sid + ".webm"},
      {"screen", "1", "0", "screen part 1" + std::string(3000, 's'), "interview_" + sid + "_screen.webm"},
      {"camera", "2", "45000", "camera part 2" + std::string(3000, 'b'), "interview_" + sid + "_part2.webm"},
      {"screen", "2", "45000", "screen part 2" + std::string(3000, 't'), "interview_" + sid + "_screen_part2.webm"},
  };
  for (const Part& p : parts) {
    std::string url = NewUpload(token, p.bytes.size(), p.kind, {{"part", p.part}, {"start_ms", p.start_ms}});
    ASSERT_EQ(Patch(token, url, 0, p.bytes)->status, 204);
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        auto recs = app_->index().RecordingsOfSession(sid);
        return recs.ok() && recs->size() == parts.size() &&
               std::all_of(recs->begin(), recs->end(),
                           [](const Recording& r) { return r.status == RecordingStatus::kReady; });
      },
      std::chrono::seconds(10)));
  auto recordings = app_->index().RecordingsOfSession(sid);  // in creation order, as `parts`
  HrLogin login = LoginAs("rita", kReviewerPassword);
  for (size_t i = 0; i < parts.size(); ++i) {
    auto res =
        http().Get(("/api/v1/hr/recordings/" + std::to_string((*recordings)[i].id) + "/download").c_str(), As(login));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->get_header_value("Content-Disposition"), "attachment; filename=\"" + parts[i].download_name + "\"");
    EXPECT_EQ(res->body, parts[i].bytes) << parts[i].download_name;
  }
  json detail = json::parse(http().Get(("/api/v1/hr/sessions/" + sid).c_str(), As(login))->body);
  // The fixture's finalizer says 1 s per file: the continuations run from 45 s to 46 s.
  EXPECT_EQ(detail["duration_ms"], 46000);
}

TEST_F(ResultsTest, AdminsCreateAccountsOverTheApiWithValidation) {
  StartWithAccounts();
  HrLogin admin = LoginAs("boss", kAdminPassword);
  auto create = [&](const json& body) {
    return http().Post("/api/v1/hr/accounts", As(admin, true), body.dump(), "application/json");
  };
  EXPECT_EQ(create({{"username", "newbie"}, {"password", "ten chars!"}, {"role", "reviewer"}})->status, 201);
  EXPECT_EQ(create({{"username", "newbie"}, {"password", "ten chars!"}, {"role", "reviewer"}})->status, 409);
  EXPECT_EQ(create({{"username", "bad name"}, {"password", "ten chars!"}, {"role", "reviewer"}})->status, 400);
  EXPECT_EQ(create({{"username", "shorty"}, {"password", "short"}, {"role", "reviewer"}})->status, 400);
  EXPECT_EQ(create({{"username", "king"}, {"password", "ten chars!"}, {"role", "root"}})->status, 400);
  EXPECT_EQ(Login("newbie", "ten chars!")->status, 200);
  EXPECT_TRUE(Contains(AuditActions(), "account_create account:newbie"));
}

TEST(AdminCommand, CreatesAnAccountFromStdinAndRefusesADuplicate) {
  TempDir dir;  // a fresh data folder: not even DATA exists yet
  std::string base = std::string(RECORDER_SERVER_BIN) + " admin create --data " + (dir.path() / "data").string();
  CommandResult created = RunCommand("echo 'a long password' | " + base + " --username alice --role reviewer");
  EXPECT_EQ(created.exit_code, 0) << created.output;
  EXPECT_NE(created.output.find("created reviewer alice"), std::string::npos);
  CommandResult again = RunCommand("echo 'a long password' | " + base + " --username alice");
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.output.find("exists"), std::string::npos) << again.output;
  CommandResult weak = RunCommand("echo 'short' | " + base + " --username bob");
  EXPECT_EQ(weak.exit_code, 1);

  auto index = SqliteIndex::Open((dir.path() / "data/.recorder/index.sqlite3").string());
  ASSERT_TRUE(index.ok());
  auto account = (*index)->AccountByName("alice");
  ASSERT_TRUE(account.ok());
  EXPECT_EQ(account->role, Role::kReviewer);
  EXPECT_EQ(account->password_hash.rfind("$argon2id$", 0), 0u);
  EXPECT_TRUE(VerifyPassword(account->password_hash, "a long password"));
  EXPECT_FALSE(VerifyPassword(account->password_hash, "a long passwor"));
}

}  // namespace
}  // namespace recorder::server::testing
