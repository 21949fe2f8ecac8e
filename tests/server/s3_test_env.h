// Where the S3 tests find their server: the env file tests/services/s3.sh writes (S3_ENDPOINT,
// S3_REGION, S3_BUCKET, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY). Under ctest RECORDER_S3_ENV
// names it and the server must be there (the fixture s3_start wrote it); run by hand without a
// server, the tests skip.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <sstream>
#include <string>

#include "test_util.h"

namespace recorder::server::testing {

// KEY=VALUE lines; empty when the file is missing.
inline std::map<std::string, std::string> ReadEnvFile(const std::string& path) {
  std::map<std::string, std::string> env;
  std::istringstream lines(ReadFile(path));
  std::string line;
  while (std::getline(lines, line)) {
    const size_t eq = line.find('=');
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return env;
}

// The fixture's env file: a FAIL under ctest when it is missing, else a skip (empty map).
#define LOAD_S3_ENV_OR_SKIP(env)                                                                                    \
  do {                                                                                                              \
    const char* env_path_ = std::getenv("RECORDER_S3_ENV");                                                         \
    const std::string path_ = env_path_ ? env_path_ : RECORDER_S3_ENV_FILE;                                         \
    env = ::recorder::server::testing::ReadEnvFile(path_);                                                          \
    if (env.empty()) {                                                                                              \
      if (env_path_)                                                                                                \
        FAIL() << "no S3 server: " << path_ << " is missing (the ctest fixture s3_start should write it)";          \
      GTEST_SKIP() << "no S3 server: " << path_ << " is missing; run through ctest, or tests/services/s3.sh start " \
                   << "DIR and RECORDER_S3_ENV=DIR/env";                                                            \
    }                                                                                                               \
  } while (0)

}  // namespace recorder::server::testing
