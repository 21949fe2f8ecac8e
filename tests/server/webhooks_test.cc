// Webhooks: Standard Webhooks signatures (the specification's example), the checks of the
// configuration, and the delivery jobs an event becomes. Delivery over HTTP is tested end to end
// in tests/js/webhooks.test.mjs against a receiver that verifies with the npm standardwebhooks.
#include "jobs/webhooks.h"

#include <gtest/gtest.h>

#include <set>

#include "base/crypto.h"
#include "index/sqlite/sqlite_index.h"
#include "test_util.h"

namespace recorder::server {
namespace {

// 2026-01-01T12:00:00Z
struct FixedClock : ManualClock {
  FixedClock() : ManualClock(1767268800) {}
};

TEST(WebhooksTest, SignsAsTheStandardWebhooksExampleDoes) {
  std::string key;
  ASSERT_TRUE(Base64Decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &key));
  EXPECT_EQ(Webhooks::Signature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(WebhooksTest, Base64RoundTripsAndRefusesWhatIsNotBase64) {
  for (const std::string& bytes :
       {std::string(""), std::string("a"), std::string("ab"), std::string("abc"), std::string("\0\xff\x10 key", 7)}) {
    std::string back;
    ASSERT_TRUE(Base64Decode(Base64Encode(bytes), &back)) << bytes;
    EXPECT_EQ(back, bytes);
  }
  std::string out;
  EXPECT_FALSE(Base64Decode("abc", &out));
  EXPECT_FALSE(Base64Decode("ab!d", &out));
}

const std::string kSecret = "whsec_" + Base64Encode("a signing key of 32 bytes, test!");

TEST(WebhooksTest, AnEndpointNeedsAnHttpUrlAWhsecSecretOfSixteenBytesAndKnownEvents) {
  FixedClock clock;
  struct Case {
    WebhookEndpoint endpoint;
    std::string why;
  };
  for (const Case& c : std::vector<Case>{
           {{"ftp://example.com/hook", kSecret, {}}, "http:// or https://"},
           {{"file:///etc/passwd", kSecret, {}}, "http:// or https://"},
           {{"https://example.com/hook", "a signing key of 32 bytes, test!", {}}, "whsec_"},
           {{"https://example.com/hook", "whsec_not base64!", {}}, "whsec_"},
           {{"https://example.com/hook", "whsec_" + Base64Encode("too short"), {}}, "16"},
           {{"https://example.com/hook", kSecret, {"recording.ready", "recording.deleted"}}, "recording.deleted"},
       }) {
    auto made = Webhooks::Create({{c.endpoint}}, nullptr, &clock);
    ASSERT_FALSE(made.ok()) << c.endpoint.url << " " << c.endpoint.secret;
    EXPECT_EQ(made.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(made.status().message().find(c.why), std::string::npos) << made.status().message();
  }
  EXPECT_TRUE(
      Webhooks::Create({{{"https://example.com/hook", kSecret, {"transcript.completed"}}}}, nullptr, &clock).ok());
}

TEST(WebhooksTest, AnEventIsOneDeliveryPerEndpointThatTakesItWithAFixedIdAndBody) {
  FixedClock clock;
  auto webhooks =
      Webhooks::Create(
          {{{"https://a.example/hook", kSecret, {}}, {"https://b.example/hook", kSecret, {"transcript.completed"}}}},
          nullptr, &clock)
          .value();
  auto ready = webhooks->Event("recording.ready", JobSubject::Recording(42), {{"recording_id", 42}}).value();
  ASSERT_EQ(ready.size(), 1u) << "b takes transcript.completed only";
  EXPECT_EQ(ready[0].kind, "webhook");
  EXPECT_EQ(ready[0].subject, JobSubject::Recording(42)) << "deleted with its recording";
  auto message = nlohmann::json::parse(ready[0].payload_json);
  EXPECT_EQ(message["url"], "https://a.example/hook");
  EXPECT_EQ(message["id"], "evt_recording.ready_recording_42");
  EXPECT_EQ(nlohmann::json::parse(message["body"].get<std::string>()),
            (nlohmann::json{
                {"type", "recording.ready"}, {"timestamp", "2026-01-01T12:00:00Z"}, {"data", {{"recording_id", 42}}}}));
  EXPECT_EQ(webhooks->Event("recording.ready", JobSubject::Recording(42), {}).value()[0].dedupe_key,
            ready[0].dedupe_key)
      << "the same event again is the same delivery";
  EXPECT_NE(webhooks->Event("recording.ready", JobSubject::Recording(43), {}).value()[0].dedupe_key,
            ready[0].dedupe_key);
  EXPECT_EQ(webhooks->Event("transcript.completed", JobSubject::Recording(42), {}).value().size(), 2u);

  // A delivery whose endpoint left the configuration fails with the reason instead of waiting.
  auto other = Webhooks::Create({{{"https://c.example/hook", kSecret, {}}}}, nullptr, &clock).value();
  Job job;
  job.kind = Webhooks::kKind;
  job.payload_json = ready[0].payload_json;
  JobResult result = other->Deliver(job);
  EXPECT_EQ(result.outcome, JobOutcome::kFailed);
  EXPECT_EQ(result.error, "the endpoint is no longer configured");
}

// Endpoints a host registers through the API: checked as configured ones, a secret made when none
// is given, at most kMaxRegistered, one delivery each with its endpoint's id, and a delivery whose
// endpoint was deleted fails with the reason.
TEST(WebhooksTest, RegisteredEndpointsAreCheckedGetASecretAndTheirOwnDeliveries) {
  FixedClock clock;
  testing::TempDir dir;
  auto index = SqliteIndex::Open((dir.path() / "index.sqlite3").string()).value();
  auto webhooks = Webhooks::Create({{{"https://a.example/hook", kSecret, {}}}}, index.get(), &clock).value();
  EXPECT_EQ(webhooks->Register("ftp://example.com", {}, "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(webhooks->Register("https://b.example", {"recording.gone"}, "").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(webhooks->Register("https://b.example", {}, "whsec_c2hvcnQ=").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(webhooks->Register("https://b.example/" + std::string(2000, 'x'), {}, "").status().code(),
            StatusCode::kInvalidArgument);

  auto made = webhooks->Register("https://b.example/hook", {"session.completed"}, "");
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  std::string key;
  ASSERT_EQ(made->secret.rfind("whsec_", 0), 0u);
  ASSERT_TRUE(Base64Decode(made->secret.substr(6), &key));
  EXPECT_GE(key.size(), 16u);
  EXPECT_EQ(made->id.rfind("wh_", 0), 0u);
  auto given = webhooks->Register("https://c.example/hook", {}, kSecret);
  ASSERT_TRUE(given.ok());
  EXPECT_EQ(given->secret, kSecret);
  EXPECT_EQ(webhooks->Registered().value(), (std::vector<RegisteredWebhook>{*made, *given}));

  auto completed = webhooks->Event("session.completed", JobSubject::Session("s1"), {}).value();
  ASSERT_EQ(completed.size(), 3u) << "a (configured), b and c";
  std::set<std::string> keys;
  for (const NewJob& job : completed) keys.insert(job.dedupe_key);
  EXPECT_EQ(keys.size(), 3u) << "one delivery per endpoint";
  EXPECT_EQ(nlohmann::json::parse(completed[1].payload_json)["endpoint_id"], made->id);
  EXPECT_EQ(webhooks->Event("recording.ready", JobSubject::Recording(1), {}).value().size(), 2u)
      << "b takes session.completed only";

  ASSERT_TRUE(webhooks->Unregister(made->id).ok());
  EXPECT_EQ(webhooks->Unregister(made->id).code(), StatusCode::kNotFound);
  Job job;
  job.kind = Webhooks::kKind;
  job.payload_json = completed[1].payload_json;
  JobResult result = webhooks->Deliver(job);
  EXPECT_EQ(result.outcome, JobOutcome::kFailed);
  EXPECT_EQ(result.error, "the endpoint was deleted");

  for (size_t n = 1; n < Webhooks::kMaxRegistered; ++n) {
    ASSERT_TRUE(webhooks->Register("https://d.example/" + std::to_string(n), {}, "").ok()) << n;
  }
  EXPECT_EQ(webhooks->Register("https://e.example/hook", {}, "").status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace recorder::server
