#include "ingest/tus_protocol.h"

#include <gtest/gtest.h>

#include <vector>

namespace recorder::server::tus {
namespace {

TEST(TusProtocolTest, ParsesUnsignedStrictly) {
  uint64_t v = 0;
  EXPECT_TRUE(ParseUnsigned("0", &v));
  EXPECT_TRUE(ParseUnsigned("9223372036854775807", &v));
  for (const char* bad : {"", "-1", "+1", " 1", "1 ", "1e3", "0x10", "9223372036854775808", "99999999999999999999"}) {
    EXPECT_FALSE(ParseUnsigned(bad, &v)) << bad;
  }
}

TEST(TusProtocolTest, Base64RoundTripsAndRejectsGarbage) {
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    EXPECT_EQ(Base64Decode(Base64Encode(s)), s);
  }
  EXPECT_EQ(*Base64Decode("Y2FtZXJh"), "camera");
  for (const char* bad : {"Y2FtZXJ", "Y2F!ZXJh", "=Y2F", "Y2==Y2Fa", "Y=Fa"}) EXPECT_FALSE(Base64Decode(bad)) << bad;
}

TEST(TusProtocolTest, ParsesMetadataPairs) {
  auto m = ParseMetadata("kind Y2FtZXJh,filename aW50ZXJ2aWV3LndlYm0=, flag");
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["kind"], "camera");
  EXPECT_EQ((*m)["filename"], "interview.webm");
  EXPECT_EQ((*m)["flag"], "");
  EXPECT_TRUE(ParseMetadata("")->empty());
  EXPECT_FALSE(ParseMetadata("kind !!!"));
  EXPECT_FALSE(ParseMetadata("kind Y2FtZXJh,kind Y2FtZXJh"));
  EXPECT_FALSE(ParseMetadata(",kind Y2FtZXJh"));
}

TEST(TusProtocolTest, ParsesChecksumHeaderAndDigests) {
  auto c = ParseChecksum("SHA1 qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->algorithm, "sha1");
  EXPECT_EQ(c->digest, *Digest("sha1", "abc"));
  EXPECT_FALSE(ParseChecksum("sha1"));
  EXPECT_FALSE(ParseChecksum("sha1 ***"));
  EXPECT_FALSE(Digest("md5", "abc"));
  EXPECT_EQ(Digest("sha256", "")->size(), 32u);
}

TEST(TusProtocolTest, FormatsHttpDates) { EXPECT_EQ(HttpDate(784111777), "Sun, 06 Nov 1994 08:49:37 GMT"); }

}  // namespace
}  // namespace recorder::server::tus
