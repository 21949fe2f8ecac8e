// The HTTP edge: every route of the server, installed on one cpp-httplib server. Handlers validate
// the request and delegate to Ingest, Results and Accounts; no file or SQL is touched here, and
// nothing below this folder includes httplib.h.
//   http_server.cc     cross-cutting: CORS, error bodies, health, metrics, static pages
//   tus_routes.cc      the candidate's page, with its upload token: tus uploads, markers
//   host_api_routes.cc the host platform, with the API key: create, list and read sessions;
//                      register webhook endpoints
//   hr_routes.cc       the results page, with an HR login: accounts, reading, media, deletion
#pragma once

#include <httplib.h>

#include <functional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/metrics.h"
#include "ingest/ingest.h"
#include "jobs/webhooks.h"
#include "results/accounts.h"
#include "results/results.h"

namespace recorder::server {

struct HttpOptions {
  std::vector<std::string> allowed_origins = {"*"};  // CORS origins ('*': any)
  std::string web_dir;                               // static pages; empty: none
  bool secure_cookies = false;  // HR cookies get Secure (also when a proxy says X-Forwarded-Proto: https)
  // Peers (load balancers) whose X-Forwarded-For names the client, for per-address limits and logs.
  std::vector<std::string> trusted_proxies;
  size_t max_tus_body_bytes = size_t{64} << 20;  // PATCH /files/ID and POST /files (creation-with-upload)
  size_t max_json_bytes = size_t{64} << 10;      // every other body
  int max_live_viewers = 64;                     // HR live views at once (each holds a pool thread)
};

struct HttpDeps {
  HttpOptions options;
  std::string api_key;
  Ingest* ingest;
  Results* results;
  Accounts* accounts;
  Webhooks* webhooks;
  Metrics* metrics;
  const Clock* clock;
  std::function<Status()> health;             // Ok when the index answers and the data folder takes writes
  std::function<std::string()> metrics_text;  // the Prometheus page
};

// REQUIRES: what `deps` points to outlives `http`.
void InstallRoutes(httplib::Server& http, const HttpDeps& deps);

// The route files' entry points (InstallRoutes calls them).
void InstallTusRoutes(httplib::Server& http, const HttpDeps& deps);
void InstallHostApiRoutes(httplib::Server& http, const HttpDeps& deps);
void InstallHrRoutes(httplib::Server& http, const HttpDeps& deps);

}  // namespace recorder::server
