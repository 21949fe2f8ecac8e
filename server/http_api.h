// The HTTP edge: routes, header parsing, CORS, static pages, and the one place an ApiError
// becomes a response. Validates and delegates to Ingest; never touches files or SQL.
#pragma once

#include <httplib.h>

#include <string>

#include "config.h"
#include "index.h"
#include "ingest.h"
#include "metrics.h"

namespace recorder::server {

struct HttpDeps {
  const Config* config;
  std::string api_key;
  std::string data_dir;  // checked by /healthz
  Ingest* ingest;
  Index* index;
  Metrics* metrics;
};

// REQUIRES: deps outlives `http`.
void InstallHttpApi(httplib::Server& http, const HttpDeps& deps);

}  // namespace recorder::server
