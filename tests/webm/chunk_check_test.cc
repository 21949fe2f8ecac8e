#include "webm/chunk_check.h"

#include <gtest/gtest.h>

#include "webm_test_util.h"

namespace recorder::webm {
namespace {

using namespace recorder::webm::testing;

TEST(ChunkCheckTest, FirstChunkMustStartWithTheEbmlHeader) {
  const Bytes live = ReadFile(LiveVp9Opus());
  EXPECT_TRUE(CheckChunkStart(live.data(), 1000, true).ok());
  const std::vector<uint64_t> clusters = ClusterOffsets(live);
  EXPECT_EQ(CheckChunkStart(live.data() + clusters[0], 1000, true).code(), StatusCode::kCorrupt);
}

TEST(ChunkCheckTest, LaterChunksSplitAtClustersPass) {
  const Bytes live = ReadFile(LiveVp9Opus());
  for (uint64_t offset : ClusterOffsets(live)) {
    EXPECT_TRUE(CheckChunkStart(live.data() + offset, live.size() - offset, false).ok()) << offset;
  }
}

TEST(ChunkCheckTest, LaterChunkStartingMidClusterOrWithAHeaderIsCorrupt) {
  const Bytes live = ReadFile(LiveVp9Opus());
  const uint64_t mid = ClusterOffsets(live)[1] + 50;
  EXPECT_EQ(CheckChunkStart(live.data() + mid, 100, false).code(), StatusCode::kCorrupt);
  EXPECT_EQ(CheckChunkStart(live.data(), 100, false).code(), StatusCode::kCorrupt);
}

TEST(ChunkCheckTest, EmptyOrTooShortChunkIsCorrupt) {
  const uint8_t cluster_id[] = {0x1F, 0x43, 0xB6, 0x75};
  EXPECT_EQ(CheckChunkStart(nullptr, 0, false).code(), StatusCode::kCorrupt);
  EXPECT_EQ(CheckChunkStart(cluster_id, 3, false).code(), StatusCode::kCorrupt);
  EXPECT_TRUE(CheckChunkStart(cluster_id, 4, false).ok());
}

}  // namespace
}  // namespace recorder::webm
