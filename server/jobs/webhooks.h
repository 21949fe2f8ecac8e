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
//
// Endpoints come from the configuration (flags, environment) and from hosts, who register them
// through the API (stored in the index, so every server sharing it sends to them).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/clock.h"
#include "index/job_queue.h"
#include "index/webhook_index.h"
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
  static constexpr size_t kMaxRegistered = 20;
  static const std::vector<std::string>& EventTypes();

  struct Options {
    std::vector<WebhookEndpoint> endpoints;
    int64_t timeout_seconds = 10;  // a receiver slower than this is retried later
  };
  // InvalidArgument naming the endpoint when its URL is not http(s), its secret is not
  // whsec_<base64> of at least 16 bytes, or it names an unknown event type. `registered` (null:
  // configured endpoints only) holds those registered through the API.
  static Result<std::unique_ptr<Webhooks>> Create(Options options, WebhookIndex* registered, const Clock* clock);

  // One delivery job per endpoint that takes `type`, carrying the message: id
  // "evt_<type>_<subject>", body {type, timestamp, data}. Queue them with the state change. An
  // error when the registered endpoints cannot be read.
  Result<std::vector<NewJob>> Event(const std::string& type, const JobSubject& subject, nlohmann::json data) const;
  // Sends the job's message, signed now. Done on 2xx; failed for good on 410 Gone (the receiver
  // says the endpoint is gone) or when the endpoint left the configuration or was deleted;
  // retried otherwise.
  JobResult Deliver(const Job& job);

  // A host's endpoint, checked as Create checks the configured ones; without a secret, one is made
  // (the returned value is the only place it is shown). FailedPrecondition when kMaxRegistered are
  // registered, or without an index.
  Result<RegisteredWebhook> Register(const std::string& url, const std::vector<std::string>& events,
                                     std::string secret);
  // Oldest first, with their secrets (the API leaves them out).
  Result<std::vector<RegisteredWebhook>> Registered();
  // NotFound for an unknown id. Deliveries already queued for it fail at their next attempt.
  Status Unregister(const std::string& id);

  // "v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>" under `key`>".
  static std::string Signature(const std::string& key, const std::string& id, int64_t timestamp,
                               const std::string& body);

 private:
  struct Endpoint {
    WebhookEndpoint config;
    std::string key;  // the secret's decoded bytes
  };
  Webhooks(Options options, std::vector<Endpoint> endpoints, WebhookIndex* registered, const Clock* clock)
      : options_(std::move(options)), endpoints_(std::move(endpoints)), registered_(registered), clock_(clock) {}
  // The secret's key bytes, or InvalidArgument naming what is wrong with the endpoint.
  static Result<std::string> CheckEndpoint(const WebhookEndpoint& endpoint);
  // POSTs the message, signed with `key`.
  JobResult Send(const Job& job, const std::string& url, const std::string& id, const std::string& body,
                 const std::string& key);

  Options options_;
  std::vector<Endpoint> endpoints_;  // configured
  WebhookIndex* registered_;
  const Clock* clock_;
};

}  // namespace recorder::server
