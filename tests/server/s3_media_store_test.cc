// S3MediaStore against a real S3 server (Swift's s3api, tests/services/s3.sh), which ctest starts
// and stops around these tests (fixture "s3" in CMakeLists.txt) and which they find through its
// env file. Each test keeps its objects under a prefix of its own, so tests may run in parallel.
#include "storage/s3_media_store.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdlib>
#include <map>
#include <random>

#include "base/crypto.h"
#include "s3_test_env.h"
#include "test_util.h"

// Prints the Status when it fails.
#define ASSERT_OK(expr)                    \
  do {                                     \
    const ::recorder::Status s_ = (expr);  \
    ASSERT_TRUE(s_.ok()) << s_.ToString(); \
  } while (0)

namespace recorder::server {
namespace {

using testing::CommandResult;
using testing::ReadEnvFile;
using testing::ReadFile;
using testing::RunCommand;
using testing::TempDir;

std::string RandomBytes(size_t n, unsigned seed) {
  std::mt19937 random(seed);
  std::string bytes(n, '\0');
  for (char& c : bytes) c = static_cast<char>(random());
  return bytes;
}

// A port nothing listens on (bound, then released).
int ClosedPort() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len);
  close(s);
  return ntohs(addr.sin_port);
}

class S3MediaStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LOAD_S3_ENV_OR_SKIP(env_);
    config_ = ConfigFor(env_);
    store_ = NewStore(config_);
  }

  // This test's own prefix, so parallel tests never see each other's objects.
  static S3Config ConfigFor(const std::map<std::string, std::string>& env) {
    S3Config c;
    c.endpoint = env.at("S3_ENDPOINT");
    c.region = env.at("S3_REGION");
    c.bucket = env.at("S3_BUCKET");
    c.access_key_id = env.at("AWS_ACCESS_KEY_ID");
    c.secret_access_key = env.at("AWS_SECRET_ACCESS_KEY");
    c.path_style = true;
    c.part_size = uint64_t{5} << 20;
    c.prefix = "test-" + RandomHex(8) + "/";
    return c;
  }

  static std::unique_ptr<S3MediaStore> NewStore(const S3Config& config) {
    auto store = S3MediaStore::Create(config);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store.value()) : nullptr;
  }

  // A synced scratch file in the temp folder holding `bytes`.
  std::unique_ptr<ScratchFile> Scratch(const std::string& bytes) {
    const fs::path path = dir_.path() / ("scratch-" + std::to_string(scratch_count_++));
    auto writer = FileWriter::Create(path.string());
    EXPECT_TRUE(writer.ok());
    auto scratch = std::make_unique<ScratchFile>(&fs_, std::move(writer.value()), path);
    EXPECT_TRUE(scratch->Write(bytes.data(), bytes.size()).ok());
    return scratch;
  }

  std::string ReadAll(const std::string& key) {
    auto reader = store_->Open(key);
    EXPECT_TRUE(reader.ok()) << reader.status().ToString();
    if (!reader.ok()) return "";
    std::string bytes((*reader)->size(), '\0');
    for (size_t offset = 0; offset < bytes.size(); offset += size_t{1} << 20) {
      const size_t n = std::min(bytes.size() - offset, size_t{1} << 20);
      Status s = (*reader)->ReadAt(offset, bytes.data() + offset, n);
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    return bytes;
  }

  std::map<std::string, std::string> env_;
  S3Config config_;
  std::unique_ptr<S3MediaStore> store_;
  TempDir dir_;
  PosixFileSystem fs_;
  int scratch_count_ = 0;
};

TEST_F(S3MediaStoreTest, PutThenRangedReadsSizeAndDropsTheScratchFile) {
  const std::string bytes = RandomBytes(300000, 1);
  auto scratch = Scratch(bytes);
  const std::string key = "Jane_Doe/interview_video_20261122_143022.webm";
  ASSERT_OK(store_->Put(key, *scratch));
  EXPECT_FALSE(fs::exists(scratch->local_path()));

  auto size = store_->Size(key);
  ASSERT_TRUE(size.ok()) << size.status().ToString();
  EXPECT_EQ(*size, bytes.size());
  auto reader = store_->Open(key);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->size(), bytes.size());
  std::string middle(1000, '\0');
  ASSERT_OK((*reader)->ReadAt(123456, middle.data(), middle.size()));
  EXPECT_EQ(middle, bytes.substr(123456, 1000));
  std::string tail(10, '\0');
  ASSERT_OK((*reader)->ReadAt(bytes.size() - 10, tail.data(), 10));
  EXPECT_EQ(tail, bytes.substr(bytes.size() - 10));
  EXPECT_EQ((*reader)->ReadAt(bytes.size() - 5, tail.data(), 10).code(), StatusCode::kIoError);

  // Replacing the object is allowed and reads back the new bytes.
  auto second = Scratch("short");
  ASSERT_OK(store_->Put(key, *second));
  EXPECT_EQ(ReadAll(key), "short");
}

TEST_F(S3MediaStoreTest, KeysWithAnyBytesPerSegmentRoundTrip) {
  for (const std::string key : {"Zoë Ångström/a b+c&d=e%f?g#h.webm", "x/~tilde/(paren)/!'*.webm"}) {
    auto scratch = Scratch(key);
    ASSERT_OK(store_->Put(key, *scratch));
    EXPECT_EQ(ReadAll(key), key);
  }
  auto listed = store_->List("Zoë");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].key, "Zoë Ångström/a b+c&d=e%f?g#h.webm");
}

TEST_F(S3MediaStoreTest, VirtualHostStyleNamesTheBucketInTheHostName) {
  // The fixture's server takes BUCKET.localhost:PORT as virtual-host style (s3.sh: storage_domain).
  S3Config virtual_host = config_;
  virtual_host.path_style = false;
  const size_t host = virtual_host.endpoint.find("127.0.0.1");
  ASSERT_NE(host, std::string::npos) << virtual_host.endpoint;
  virtual_host.endpoint.replace(host, 9, "localhost");
  auto store = NewStore(virtual_host);
  ASSERT_OK(store->Check());
  auto scratch = Scratch("virtual");
  ASSERT_OK(store->Put("v/1.webm", *scratch));
  auto listed = store->List("v/");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(ReadAll("v/1.webm"), "virtual");  // through the path-style store: the same object
  ASSERT_OK(store->Delete("v/1.webm"));
  EXPECT_EQ(store_->Size("v/1.webm").status().code(), StatusCode::kNotFound);
}

TEST_F(S3MediaStoreTest, ListFollowsContinuationTokensWithinAPrefix) {
  store_->set_list_page_size_for_testing(3);
  for (int i = 0; i < 8; ++i) {
    auto scratch = Scratch(std::string(static_cast<size_t>(i + 1), 'x'));
    ASSERT_OK(store_->Put("a/" + std::to_string(i) + ".webm", *scratch));
  }
  auto other = Scratch("other");
  ASSERT_OK(store_->Put("b/0.webm", *other));

  auto a = store_->List("a/");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_EQ(a->size(), 8u);  // three pages
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ((*a)[static_cast<size_t>(i)].key, "a/" + std::to_string(i) + ".webm");
    EXPECT_EQ((*a)[static_cast<size_t>(i)].size, static_cast<uint64_t>(i + 1));
    EXPECT_GT((*a)[static_cast<size_t>(i)].modified_at, 1700000000);
  }
  auto all = store_->List("");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 9u);
  EXPECT_EQ(all->back().key, "b/0.webm");
  auto none = store_->List("c/");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(S3MediaStoreTest, DeleteRemovesAndAMissingObjectIsNotFound) {
  auto scratch = Scratch("bytes");
  ASSERT_OK(store_->Put("k/1.webm", *scratch));
  ASSERT_OK(store_->Delete("k/1.webm"));
  EXPECT_EQ(store_->Size("k/1.webm").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Open("k/1.webm").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->Delete("k/1.webm").ok());  // gone already: still Ok
  EXPECT_TRUE(store_->Delete("never/there.webm").ok());
  auto listed = store_->List("");
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
}

TEST_F(S3MediaStoreTest, LargeFileGoesUpInPartsAndReadsBackByteIdentical) {
  const std::string bytes = RandomBytes((size_t{12} << 20) + 12345, 2);  // 5 + 5 + 2 MiB and a bit
  auto scratch = Scratch(bytes);
  int parts = 0;
  store_->set_part_hook_for_testing([&](int part) { parts = part; });
  ASSERT_OK(store_->Put("big/recording.webm", *scratch));
  EXPECT_EQ(parts, 3);
  EXPECT_FALSE(fs::exists(scratch->local_path()));
  auto size = store_->Size("big/recording.webm");
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, bytes.size());
  EXPECT_TRUE(ReadAll("big/recording.webm") == bytes);
}

TEST_F(S3MediaStoreTest, CheckPassesAndNamesWhatIsWrong) {
  EXPECT_TRUE(store_->Check().ok()) << store_->Check().ToString();

  S3Config wrong_secret = config_;
  wrong_secret.secret_access_key = "not-the-secret";
  Status s = NewStore(wrong_secret)->Check();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("credentials were rejected"), std::string::npos) << s.ToString();

  S3Config wrong_key = config_;
  wrong_key.access_key_id = "nobody:here";
  s = NewStore(wrong_key)->Check();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("credentials were rejected"), std::string::npos) << s.ToString();

  S3Config no_bucket = config_;
  no_bucket.bucket = "no-such-bucket-" + RandomHex(4);
  s = NewStore(no_bucket)->Check();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("does not exist"), std::string::npos) << s.ToString();

  S3Config unreachable = config_;
  unreachable.endpoint = "http://127.0.0.1:" + std::to_string(ClosedPort());
  s = NewStore(unreachable)->Check();
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find("unreachable"), std::string::npos) << s.ToString();
}

TEST_F(S3MediaStoreTest, WrongCredentialsFailPutsAndKeepTheScratchFile) {
  S3Config wrong = config_;
  wrong.secret_access_key = "not-the-secret";
  auto scratch = Scratch("bytes");
  Status s = NewStore(wrong)->Put("k/1.webm", *scratch);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(fs::exists(scratch->local_path()));
  EXPECT_EQ(store_->Size("k/1.webm").status().code(), StatusCode::kNotFound);
}

TEST_F(S3MediaStoreTest, UnreachableEndpointFailsThePutRetryablyAndKeepsTheScratchFile) {
  S3Config unreachable = config_;
  unreachable.endpoint = "http://127.0.0.1:" + std::to_string(ClosedPort());
  auto scratch = Scratch("bytes");
  Status s = NewStore(unreachable)->Put("k/1.webm", *scratch);
  EXPECT_EQ(s.code(), StatusCode::kIoError) << s.ToString();  // what a finalize job retries
  EXPECT_TRUE(fs::exists(scratch->local_path()));
  EXPECT_EQ(ReadFile(scratch->local_path()), "bytes");
}

TEST_F(S3MediaStoreTest, ServerStoppedDuringAMultipartPutFailsItAndKeepsTheScratchFile) {
  // A server of its own, so that stopping it cannot fail the tests running beside this one.
  const std::string script = std::string(RECORDER_SOURCE_DIR) + "/tests/services/s3.sh";
  const std::string dir = RECORDER_S3_OWN_DIR;
  CommandResult started = RunCommand(script + " start " + dir);
  ASSERT_EQ(started.exit_code, 0) << started.output;
  auto own = NewStore(ConfigFor(ReadEnvFile(dir + "/env")));
  ASSERT_OK(own->Check());

  const std::string bytes = RandomBytes(size_t{11} << 20, 3);
  auto scratch = Scratch(bytes);
  std::string stopped;
  own->set_part_hook_for_testing([&](int part) {
    if (part == 1) stopped = RunCommand(script + " stop " + dir).output;
  });
  Status s = own->Put("big/recording.webm", *scratch);
  EXPECT_EQ(s.code(), StatusCode::kIoError) << s.ToString() << "\nstop: " << stopped;
  EXPECT_TRUE(fs::exists(scratch->local_path()));
  EXPECT_EQ(ReadFile(scratch->local_path()).size(), bytes.size());
  EXPECT_EQ(own->Size("big/recording.webm").status().code(), StatusCode::kIoError);  // still down
  EXPECT_EQ(RunCommand(script + " stop " + dir).exit_code, 0);                       // idempotent
}

TEST(S3ConfigTest, EmptyFieldsComeFromTheAwsEnvironment) {
  setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
  unsetenv("AWS_REGION");
  setenv("AWS_DEFAULT_REGION", "eu-west-3", 1);
  unsetenv("AWS_ENDPOINT_URL");
  S3Config config;
  config.bucket = "b";
  FillS3ConfigFromEnvironment(&config);
  EXPECT_EQ(config.access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(config.secret_access_key, "secret");
  EXPECT_EQ(config.region, "eu-west-3");
  EXPECT_EQ(config.endpoint, "https://s3.eu-west-3.amazonaws.com");

  S3Config given;
  given.region = "us-west-2";
  given.endpoint = "http://minio:9000";
  given.access_key_id = "mine";
  setenv("AWS_REGION", "ap-south-1", 1);
  FillS3ConfigFromEnvironment(&given);
  EXPECT_EQ(given.region, "us-west-2");
  EXPECT_EQ(given.endpoint, "http://minio:9000");
  EXPECT_EQ(given.access_key_id, "mine");
  EXPECT_EQ(given.secret_access_key, "secret");
}

TEST(S3ConfigTest, CreateRefusesIncompleteConfigs) {
  S3Config good;
  good.endpoint = "http://127.0.0.1:9000/";
  good.region = "us-east-1";
  good.bucket = "b";
  good.access_key_id = "k";
  good.secret_access_key = "s";
  EXPECT_TRUE(S3MediaStore::Create(good).ok());
  for (const std::string endpoint : {"127.0.0.1:9000", "ftp://host", "http://host/path", "http://"}) {
    S3Config c = good;
    c.endpoint = endpoint;
    EXPECT_EQ(S3MediaStore::Create(c).status().code(), StatusCode::kInvalidArgument) << endpoint;
  }
  S3Config no_secret = good;
  no_secret.secret_access_key = "";
  EXPECT_EQ(S3MediaStore::Create(no_secret).status().code(), StatusCode::kInvalidArgument);
  S3Config tiny_parts = good;
  tiny_parts.part_size = 1 << 20;
  EXPECT_EQ(S3MediaStore::Create(tiny_parts).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace recorder::server
