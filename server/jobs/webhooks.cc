#include "jobs/webhooks.h"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>

#include "base/crypto.h"
#include "base/curl_ready.h"
#include "base/printable.h"

namespace recorder::server {

namespace {

constexpr std::string_view kSecretPrefix = "whsec_";
constexpr size_t kMinKeyBytes = 16;

std::string IsoTime(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// Receivers' answers are not read: a bounded sink.
size_t Discard(char*, size_t size, size_t count, void*) { return size * count; }

}  // namespace

const std::vector<std::string>& Webhooks::EventTypes() {
  static const std::vector<std::string> kTypes = {"recording.ready", "recording.failed", "transcript.completed",
                                                  "transcript.failed", "session.completed"};
  return kTypes;
}

Result<std::unique_ptr<Webhooks>> Webhooks::Create(Options options, const Clock* clock) {
  EnsureCurlReady();
  std::vector<Endpoint> endpoints;
  for (const WebhookEndpoint& e : options.endpoints) {
    const std::string which = "webhook " + Printable(e.url.substr(0, 200));
    if (e.url.rfind("http://", 0) != 0 && e.url.rfind("https://", 0) != 0) {
      return InvalidArgument(which + ": the URL must start with http:// or https://");
    }
    std::string key;
    if (e.secret.rfind(kSecretPrefix, 0) != 0 || !Base64Decode(e.secret.substr(kSecretPrefix.size()), &key) ||
        key.size() < kMinKeyBytes) {
      return InvalidArgument(which + ": the secret must be whsec_ and the base64 of at least 16 random bytes");
    }
    for (const std::string& type : e.events) {
      if (std::find(EventTypes().begin(), EventTypes().end(), type) == EventTypes().end()) {
        return InvalidArgument(which + ": unknown event type " + Printable(type.substr(0, 60)));
      }
    }
    endpoints.push_back({e, std::move(key)});
  }
  return std::unique_ptr<Webhooks>(new Webhooks(std::move(options), std::move(endpoints), clock));
}

std::vector<NewJob> Webhooks::Event(const std::string& type, const JobSubject& subject, nlohmann::json data) const {
  std::vector<NewJob> jobs;
  const std::string id = "evt_" + type + "_" + std::string(Name(subject.type)) + "_" + subject.id;
  const std::string body =
      nlohmann::json{{"type", type}, {"timestamp", IsoTime(clock_->NowSeconds())}, {"data", std::move(data)}}.dump();
  for (const Endpoint& e : endpoints_) {
    const auto& events = e.config.events;
    if (!events.empty() && std::find(events.begin(), events.end(), type) == events.end()) continue;
    NewJob job;
    job.kind = kKind;
    job.subject = subject;
    job.payload_json = nlohmann::json{{"url", e.config.url}, {"id", id}, {"type", type}, {"body", body}}.dump();
    // One message per event and endpoint, however often the state change's transaction is replayed.
    job.dedupe_key = "webhook:" + Sha256Hex(e.config.url).substr(0, 16) + ":" + id;
    jobs.push_back(std::move(job));
  }
  return jobs;
}

std::string Webhooks::Signature(const std::string& key, const std::string& id, int64_t timestamp,
                                const std::string& body) {
  return "v1," + Base64Encode(HmacSha256(key, id + "." + std::to_string(timestamp) + "." + body));
}

JobResult Webhooks::Deliver(const Job& job) {
  const auto message = nlohmann::json::parse(job.payload_json, nullptr, false);
  if (!message.is_object() || !message.contains("url") || !message.contains("body")) {
    return JobResult::Failed("not a webhook message");
  }
  const std::string url = message.value("url", ""), id = message.value("id", ""), body = message.value("body", "");
  auto endpoint =
      std::find_if(endpoints_.begin(), endpoints_.end(), [&](const Endpoint& e) { return e.config.url == url; });
  if (endpoint == endpoints_.end()) return JobResult::Failed("the endpoint is no longer configured");

  const int64_t timestamp = clock_->NowSeconds();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return JobResult::Retry("curl_easy_init failed");
  curl_slist* headers = nullptr;
  for (const std::string& h : {std::string("Content-Type: application/json"), "webhook-id: " + id,
                               "webhook-timestamp: " + std::to_string(timestamp),
                               "webhook-signature: " + Signature(endpoint->key, id, timestamp, body)}) {
    headers = curl_slist_append(headers, h.c_str());
  }
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list(headers, curl_slist_free_all);
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");  // no redirect to file:// or the like
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(c, CURLOPT_USERAGENT, "interview-recorder-webhooks/1");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(options_.timeout_seconds));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Discard);
  const CURLcode sent = curl_easy_perform(c);
  if (sent != CURLE_OK) return JobResult::Retry(std::string("no answer: ") + curl_easy_strerror(sent));
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  const std::string answered = "HTTP " + std::to_string(status);
  if (status >= 200 && status < 300) {
    spdlog::info("webhook {} delivered ({}) at attempt {}", id, answered, job.attempts);
    return {};
  }
  if (status == 410) return JobResult::Failed(answered + ": the receiver says the endpoint is gone");
  return JobResult::Retry(answered);
}

}  // namespace recorder::server
