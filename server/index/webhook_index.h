// The index's webhook role: the endpoints a host registered through the API (those given by flag
// or environment are configuration and live in Webhooks::Options). The secrets are stored as they
// are: the server signs with them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace recorder::server {

struct RegisteredWebhook {
  std::string id;                   // "wh_" + random hex
  std::string url;                  // http:// or https://
  std::string secret;               // whsec_<base64 key>
  std::vector<std::string> events;  // the event types it takes; empty: every one
  int64_t created_at = 0;

  bool operator==(const RegisteredWebhook&) const = default;
};

// Thread-safe; every method is one transaction.
class WebhookIndex {
 public:
  virtual ~WebhookIndex() = default;

  // AlreadyExists when the id is taken.
  virtual Status AddWebhook(const RegisteredWebhook& webhook) = 0;
  // Oldest first.
  virtual Result<std::vector<RegisteredWebhook>> ListWebhooks() = 0;
  // NotFound when there is none with this id.
  virtual Status DeleteWebhook(const std::string& id) = 0;
};

}  // namespace recorder::server
