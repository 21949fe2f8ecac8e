// Tests on PostgreSQL: each test gets a schema of its own in the throw-away cluster that ctest
// starts (tests/services/postgres.sh, fixture "postgres"), so tests run in parallel and leave
// nothing to clean. By hand: start one with `tests/services/postgres.sh start DIR` and export the
// RECORDER_TEST_POSTGRES line of DIR/env.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <string>

#include "index/postgres/pg.h"

namespace recorder::server::testing {

// True when the test binary runs with RECORDER_TEST_INDEX=postgres: the HTTP tests then put the
// server's index on PostgreSQL (tests/server/CMakeLists.txt runs them both ways).
inline bool UsePostgresIndex() {
  const char* index = std::getenv("RECORDER_TEST_INDEX");
  return index && std::string(index) == "postgres";
}

// The cluster's URL: $RECORDER_TEST_POSTGRES, or what tests/services/postgres.sh wrote for ctest.
inline std::string TestPostgresUrl() {
  if (const char* env = std::getenv("RECORDER_TEST_POSTGRES")) return env;
  std::ifstream file(RECORDER_TEST_POSTGRES_ENV);
  const std::string key = "RECORDER_TEST_POSTGRES=";
  for (std::string line; std::getline(file, line);) {
    if (line.starts_with(key)) return line.substr(key.size());
  }
  return "";
}

// A new empty schema; the URL that opens an index in it. Empty (and the test failed) when there
// is no cluster.
inline std::string NewPostgresTestSchema() {
  const std::string url = TestPostgresUrl();
  EXPECT_FALSE(url.empty()) << "no PostgreSQL to test on: run under ctest, or see postgres_test_db.h";
  if (url.empty()) return "";
  static std::atomic<int> counter{0};
  const std::string schema = "t" + std::to_string(getpid()) + "_" + std::to_string(counter++);
  auto admin = pg::Connect(url);
  EXPECT_TRUE(admin.ok()) << admin.status().ToString();
  if (!admin.ok()) return "";
  auto created = (*admin)->Exec("CREATE SCHEMA " + schema);
  EXPECT_TRUE(created.ok()) << created.status().ToString();
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" + schema;
}

}  // namespace recorder::server::testing
