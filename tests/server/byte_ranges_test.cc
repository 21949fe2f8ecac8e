// The Range parser (RFC 9110 §14) against every form a client or an attacker can send; the same
// forms go through the server in results_test.cc and tus_http_test.cc.
#include "http/byte_ranges.h"

#include <gtest/gtest.h>

#include <string>

namespace recorder::server {
namespace {

constexpr uint64_t kSize = 1000;

RangeAnswer Ranges(std::vector<ByteRange> ranges) { return {RangeAnswer::kRanges, std::move(ranges)}; }

void ExpectAnswer(std::string_view header, const RangeAnswer& expected, uint64_t size = kSize) {
  RangeAnswer got = ParseRange(header, size);
  EXPECT_EQ(got.kind, expected.kind) << header;
  EXPECT_EQ(got.ranges, expected.ranges) << header;
}

void ExpectWhole(std::string_view header, uint64_t size = kSize) { ExpectAnswer(header, {}, size); }
void ExpectUnsatisfiable(std::string_view header) { ExpectAnswer(header, {RangeAnswer::kUnsatisfiable, {}}); }

TEST(ByteRangesTest, OneRangeInEachForm) {
  ExpectAnswer("bytes=0-99", Ranges({{0, 99}}));
  ExpectAnswer("bytes=100-199", Ranges({{100, 199}}));
  ExpectAnswer("bytes=500-", Ranges({{500, 999}}));
  ExpectAnswer("bytes=-10", Ranges({{990, 999}}));
  ExpectAnswer("bytes=999-999", Ranges({{999, 999}}));
  ExpectAnswer("BYTES=0-0", Ranges({{0, 0}}));  // the unit is case-insensitive
}

TEST(ByteRangesTest, AnEndPastTheFileIsClampedToItsLastByte) {
  ExpectAnswer("bytes=0-1048575", Ranges({{0, 999}}));
  ExpectAnswer("bytes=10-99999999999999999999999", Ranges({{10, 999}}));
  ExpectAnswer("bytes=-5000", Ranges({{0, 999}}));  // a suffix longer than the file is all of it
}

TEST(ByteRangesTest, RangesThatNameNoByteOfTheFileAreUnsatisfiable) {
  ExpectUnsatisfiable("bytes=1000-");
  ExpectUnsatisfiable("bytes=1000-2000");
  ExpectUnsatisfiable("bytes=100000000000000000000-");  // 10^20: past 2^64, saturates, still valid syntax
  ExpectUnsatisfiable("bytes=-0");
  ExpectUnsatisfiable("bytes=-0,5000-");
}

TEST(ByteRangesTest, InvalidSyntaxAndOtherUnitsAreIgnored) {
  ExpectWhole("");
  ExpectWhole("bytes=100-50");  // last before first is invalid, not unsatisfiable
  ExpectWhole("items=0-5");
  ExpectWhole("bytes 0-5");
  ExpectWhole("bytes=");
  ExpectWhole("bytes=,");
  ExpectWhole("bytes=-");
  ExpectWhole("bytes=5");
  ExpectWhole("bytes=a-b");
  ExpectWhole("bytes=1-2-3");
  ExpectWhole("bytes=+1-2");
  ExpectWhole("bytes=0x10-20");
  ExpectWhole("bytes=0-5,100-50");  // one invalid spec makes the header invalid
  ExpectWhole("bytes=0-5,x");
  ExpectWhole("bytes=0-5", 0);  // an empty file has no byte to name
  ExpectWhole("bytes=-5", 0);
}

TEST(ByteRangesTest, SeveralRangesAreSortedAndOverlappingOrAdjacentOnesMerged) {
  ExpectAnswer("bytes=0-9,20-29", Ranges({{0, 9}, {20, 29}}));
  ExpectAnswer("bytes=20-29,0-9", Ranges({{0, 9}, {20, 29}}));
  ExpectAnswer("bytes=0-9,5-19", Ranges({{0, 19}}));
  ExpectAnswer("bytes=0-9,10-19", Ranges({{0, 19}}));
  ExpectAnswer("bytes=0-9, -10", Ranges({{0, 9}, {990, 999}}));  // a suffix part names the file's end
  ExpectAnswer("bytes=0-9,-995", Ranges({{0, 999}}));
  ExpectAnswer("bytes=0-9,5000-", Ranges({{0, 9}}));                   // unsatisfiable parts drop out
  ExpectAnswer("bytes= 0-9 ,\t, 20-29 ", Ranges({{0, 9}, {20, 29}}));  // whitespace and empty list elements
}

TEST(ByteRangesTest, ManyRangesNeverAddUpToMoreThanTheFile) {
  std::string same = "bytes=0-999";
  for (int i = 1; i < 100; ++i) same += ",0-999";
  ExpectAnswer(same, Ranges({{0, 999}}));
  std::string too_many = "bytes=0-0";
  for (int i = 1; i < 1000; ++i) too_many += "," + std::to_string(i) + "-" + std::to_string(i);
  ExpectWhole(too_many);  // more than kMaxRangeSpecs
}

}  // namespace
}  // namespace recorder::server
