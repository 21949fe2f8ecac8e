// The HTTP edge: routes, header parsing, CORS, static pages, and the one place an ApiError
// becomes a response. Validates and delegates to Ingest; never touches files or SQL.
#pragma once

#include <httplib.h>

#include <string>

#include "accounts.h"
#include "config.h"
#include "errors.h"
#include "index.h"
#include "ingest.h"
#include "metrics.h"
#include "results.h"

namespace recorder::server {

struct HttpDeps {
  const Config* config;
  std::string api_key;
  std::string data_dir;  // checked by /healthz
  Ingest* ingest;
  Index* index;
  Metrics* metrics;
  Accounts* accounts;
  Results* results;
  const Clock* clock;
};

// REQUIRES: deps outlives `http`.
void InstallHttpApi(httplib::Server& http, const HttpDeps& deps);

// The HR results API and the host platform's read API (hr_api.cc); InstallHttpApi calls it.
void InstallResultsApi(httplib::Server& http, const HttpDeps& deps);

// Shared by the two route files.
// The only place an error becomes a response.
void WriteError(const httplib::Request& req, httplib::Response& res, const ApiError& error);
void WriteError(const httplib::Request& req, httplib::Response& res, Err err);
// "Bearer <secret>" -> secret; empty when absent or another scheme.
std::string BearerToken(const httplib::Request& req);
// Constant-time comparison of secrets.
bool SameSecret(const std::string& a, const std::string& b);

}  // namespace recorder::server
