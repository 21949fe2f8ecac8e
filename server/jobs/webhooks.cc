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
constexpr size_t kMaxUrlBytes = 2000;

std::string JoinedEvents(const std::vector<std::string>& events) {
  std::string out;
  for (const std::string& e : events) out += (out.empty() ? "" : ", ") + e;
  return out;
}

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

Result<std::string> Webhooks::CheckEndpoint(const WebhookEndpoint& e) {
  const std::string which = "webhook " + Printable(e.url.substr(0, 200));
  if (e.url.rfind("http://", 0) != 0 && e.url.rfind("https://", 0) != 0) {
    return InvalidArgument(which + ": the URL must start with http:// or https://");
  }
  if (e.url.size() > kMaxUrlBytes) return InvalidArgument(which + ": the URL is longer than 2000 bytes");
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
  return key;
}

Result<std::unique_ptr<Webhooks>> Webhooks::Create(Options options, WebhookIndex* registered, const Clock* clock) {
  EnsureCurlReady();
  std::vector<Endpoint> endpoints;
  for (const WebhookEndpoint& e : options.endpoints) {
    auto key = CheckEndpoint(e);
    if (!key.ok()) return key.status();
    endpoints.push_back({e, std::move(key.value())});
  }
  return std::unique_ptr<Webhooks>(new Webhooks(std::move(options), std::move(endpoints), registered, clock));
}

Result<std::vector<NewJob>> Webhooks::Event(const std::string& type, const JobSubject& subject,
                                            nlohmann::json data) const {
  std::vector<NewJob> jobs;
  const std::string id = "evt_" + type + "_" + std::string(Name(subject.type)) + "_" + subject.id;
  const std::string body =
      nlohmann::json{{"type", type}, {"timestamp", IsoTime(clock_->NowSeconds())}, {"data", std::move(data)}}.dump();
  auto takes = [&](const std::vector<std::string>& events) {
    return events.empty() || std::find(events.begin(), events.end(), type) != events.end();
  };
  // One message per event and endpoint (the dedupe key), however often the state change's
  // transaction is replayed.
  auto add = [&](const std::string& url, const std::string& endpoint_key, nlohmann::json payload) {
    payload.update({{"url", url}, {"id", id}, {"type", type}, {"body", body}});
    NewJob job;
    job.kind = kKind;
    job.subject = subject;
    job.payload_json = payload.dump();
    job.dedupe_key = "webhook:" + endpoint_key + ":" + id;
    jobs.push_back(std::move(job));
  };
  for (const Endpoint& e : endpoints_) {
    if (takes(e.config.events)) add(e.config.url, Sha256Hex(e.config.url).substr(0, 16), nlohmann::json::object());
  }
  if (registered_) {
    auto hosts = registered_->ListWebhooks();
    if (!hosts.ok()) return hosts.status();
    for (const RegisteredWebhook& w : *hosts) {
      if (takes(w.events)) add(w.url, w.id, {{"endpoint_id", w.id}});
    }
  }
  return jobs;
}

Result<RegisteredWebhook> Webhooks::Register(const std::string& url, const std::vector<std::string>& events,
                                             std::string secret) {
  if (!registered_) return FailedPrecondition("webhooks cannot be registered on this server");
  if (secret.empty()) secret = std::string(kSecretPrefix) + Base64Encode(RandomHex(24));
  auto key = CheckEndpoint({url, secret, events});
  if (!key.ok()) return key.status();
  auto existing = registered_->ListWebhooks();
  if (!existing.ok()) return existing.status();
  if (existing->size() >= kMaxRegistered) {
    return FailedPrecondition("at most " + std::to_string(kMaxRegistered) + " webhooks; delete one first");
  }
  RegisteredWebhook webhook{"wh_" + RandomHex(12), url, secret, events, clock_->NowSeconds()};
  RETURN_IF_ERROR(registered_->AddWebhook(webhook));
  spdlog::info("webhook {} registered for {}", webhook.id, events.empty() ? "every event" : JoinedEvents(events));
  return webhook;
}

Result<std::vector<RegisteredWebhook>> Webhooks::Registered() {
  if (!registered_) return std::vector<RegisteredWebhook>{};
  return registered_->ListWebhooks();
}

Status Webhooks::Unregister(const std::string& id) {
  if (!registered_) return NotFound("no webhook " + id);
  RETURN_IF_ERROR(registered_->DeleteWebhook(id));
  spdlog::info("webhook {} deleted", id);
  return Status::Ok();
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
  if (const std::string endpoint_id = message.value("endpoint_id", ""); !endpoint_id.empty()) {
    auto hosts = Registered();
    if (!hosts.ok()) return JobResult::Retry(hosts.status().ToString());
    auto host =
        std::find_if(hosts->begin(), hosts->end(), [&](const RegisteredWebhook& w) { return w.id == endpoint_id; });
    if (host == hosts->end()) return JobResult::Failed("the endpoint was deleted");
    auto key = CheckEndpoint({host->url, host->secret, {}});
    if (!key.ok()) return JobResult::Failed(key.status().ToString());
    return Send(job, host->url, id, body, *key);
  }
  auto endpoint =
      std::find_if(endpoints_.begin(), endpoints_.end(), [&](const Endpoint& e) { return e.config.url == url; });
  if (endpoint == endpoints_.end()) return JobResult::Failed("the endpoint is no longer configured");
  return Send(job, url, id, body, endpoint->key);
}

JobResult Webhooks::Send(const Job& job, const std::string& url, const std::string& id, const std::string& body,
                         const std::string& key) {
  const int64_t timestamp = clock_->NowSeconds();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return JobResult::Retry("curl_easy_init failed");
  curl_slist* headers = nullptr;
  for (const std::string& h : {std::string("Content-Type: application/json"), "webhook-id: " + id,
                               "webhook-timestamp: " + std::to_string(timestamp),
                               "webhook-signature: " + Signature(key, id, timestamp, body)}) {
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
