// The server refuses to start, with one clear line and a non-zero exit, when it cannot store.
#include <gtest/gtest.h>

#include "app/app.h"
#include "test_util.h"

namespace recorder::server::testing {
namespace {

TEST(StartupTest, UnwritableDataFolderIsRefused) {
  TempDir dir;
  WriteFile(dir.path() / "file", "x");
  Config config;
  config.data_dir = (dir.path() / "file" / "data").string();  // under a regular file: never creatable
  auto app = App::Open(config);
  ASSERT_FALSE(app.ok());
  EXPECT_NE(app.status().message().find("data folder"), std::string::npos) << app.status().ToString();
}

TEST(StartupTest, ReadOnlyDataFolderIsRefused) {
  if (geteuid() == 0) GTEST_SKIP() << "root writes into read-only folders";
  TempDir dir;
  fs::create_directory(dir.path() / "ro");
  fs::permissions(dir.path() / "ro", fs::perms::owner_read | fs::perms::owner_exec);
  Config config;
  config.data_dir = (dir.path() / "ro").string();
  EXPECT_FALSE(App::Open(config).ok());
  fs::permissions(dir.path() / "ro", fs::perms::owner_all);
}

TEST(StartupTest, UnopenableDatabaseIsRefused) {
  TempDir dir;
  fs::create_directories(dir.path() / ".recorder" / "index.sqlite3");  // a folder where the file goes
  Config config;
  config.data_dir = dir.path().string();
  auto app = App::Open(config);
  ASSERT_FALSE(app.ok());
  EXPECT_NE(app.status().message().find("database"), std::string::npos) << app.status().ToString();
}

TEST(StartupTest, AnUnreachablePostgresIndexIsRefusedWithTheReasonAndAWrongIndexKindNamesTheChoices) {
  TempDir dir;
  Config config;
  config.data_dir = dir.path().string();
  config.index_url = "postgresql:///recorder?host=" + (dir.path() / "no-server").string() + "&user=recorder";
  auto app = App::Open(config);
  ASSERT_FALSE(app.ok());
  EXPECT_NE(app.status().message().find("cannot connect to PostgreSQL"), std::string::npos) << app.status().ToString();
  EXPECT_NE(app.status().message().find("no-server"), std::string::npos) << "names the server it tried";

  config.index_url = "mysql://db/recorder";
  app = App::Open(config);
  ASSERT_FALSE(app.ok());
  EXPECT_NE(app.status().message().find("postgres://"), std::string::npos) << app.status().ToString();
}

TEST(StartupTest, BinaryExitsNonZeroWithOneLineOnAnUnwritableDataFolder) {
  TempDir dir;
  WriteFile(dir.path() / "file", "x");
  // Built with += : GCC 12 reports a false -Warray-bounds on string(literal) + literal + string.
  std::string command = RECORDER_SERVER_BIN;
  command += " --listen 127.0.0.1:0 --data " + (dir.path() / "file" / "data").string();
  CommandResult r = RunCommand(command);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output.rfind("recorder-server: cannot start: data folder", 0), 0u) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
}

TEST(StartupTest, GeneratedApiKeyIsStoredPrivatelyAndReused) {
  TempDir dir;
  Config config;
  config.data_dir = dir.path().string();
  std::string key;
  {
    auto app = App::Open(config);
    ASSERT_TRUE(app.ok()) << app.status().ToString();
    key = (*app)->api_key();
    EXPECT_GE(key.size(), 32u);
  }
  auto perms = fs::status(dir.path() / "api-key").permissions();
  EXPECT_EQ(perms & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  auto again = App::Open(config);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->api_key(), key);
}

}  // namespace
}  // namespace recorder::server::testing
