// libcurl's process-wide set-up, done once before the first handle by every part that speaks HTTP
// out (webhooks, the HTTP transcriber, the S3 media store).
#pragma once

#include <curl/curl.h>

#include <mutex>

namespace recorder::server {

inline void EnsureCurlReady() {
  static std::once_flag ready;
  std::call_once(ready, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace recorder::server
