// Webhooks for the host platform's pipeline, signed as Standard Webhooks specifies
// (https://www.standardwebhooks.com: headers webhook-id, webhook-timestamp and webhook-signature
// "v1,<base64 HMAC-SHA256 of id.timestamp.body>" under the endpoint's "whsec_<base64 key>"), so
// hosts verify them with the existing libraries.
//
// Delivered at least once: an event is one "webhook" job per endpoint on the durable queue,
// enqueued in the transaction that changes the state it reports (the job queue is the outbox), and
// retried with exponential backoff and jitter for about a day. Its message id and body are fixed
// when it is enqueued, so every attempt (after a crash or a restart too) sends the same webhook-id
// and bytes; a receiver deduplicates by webhook-id. Events: recording.ready, recording.failed,
// transcript.completed, transcript.failed, session.completed (SessionSettler).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/clock.h"
#include "index/job_queue.h"
#include "jobs/job_runner.h"

namespace recorder::server {

struct WebhookEndpoint {
  std::string url;                  // http:// or https://
  std::string secret;               // "whsec_" + base64 of the signing key
  std::vector<std::string> events;  // the event types it takes; empty: every one
};

class Webhooks {
 public:
  static constexpr const char* kKind = "webhook";
  static const std::vector<std::string>& EventTypes();

  struct Options {
    std::vector<WebhookEndpoint> endpoints;
    int64_t timeout_seconds = 10;  // a receiver slower than this is retried later
  };
  // InvalidArgument naming the endpoint when its URL is not http(s), its secret is not
  // whsec_<base64> of at least 16 bytes, or it names an unknown event type.
  static Result<std::unique_ptr<Webhooks>> Create(Options options, const Clock* clock);

  bool empty() const { return endpoints_.empty(); }
  // One delivery job per endpoint that takes `type`, carrying the message: id
  // "evt_<type>_<subject>", body {type, timestamp, data}. Queue them with the state change.
  std::vector<NewJob> Event(const std::string& type, const JobSubject& subject, nlohmann::json data) const;
  // Sends the job's message, signed now. Done on 2xx; failed for good on 410 Gone (the receiver
  // says the endpoint is gone) or when the endpoint left the configuration; retried otherwise.
  JobResult Deliver(const Job& job);

  // "v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>" under `key`>".
  static std::string Signature(const std::string& key, const std::string& id, int64_t timestamp,
                               const std::string& body);

 private:
  struct Endpoint {
    WebhookEndpoint config;
    std::string key;  // the secret's decoded bytes
  };
  Webhooks(Options options, std::vector<Endpoint> endpoints, const Clock* clock)
      : options_(std::move(options)), endpoints_(std::move(endpoints)), clock_(clock) {}

  Options options_;
  std::vector<Endpoint> endpoints_;
  const Clock* clock_;
};

}  // namespace recorder::server
