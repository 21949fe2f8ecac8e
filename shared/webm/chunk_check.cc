#include "webm/chunk_check.h"

#include <common/webmids.h>

#include <cstdio>
#include <string>

namespace recorder::webm {
namespace {

// Reads the element ID at the start of data, marker bits kept. 0 if there is none.
uint32_t LeadingId(const uint8_t* data, size_t size) {
  if (size == 0 || data[0] < 0x10) return 0;  // IDs are 1 to 4 bytes long
  const size_t len = data[0] >= 0x80 ? 1 : data[0] >= 0x40 ? 2 : data[0] >= 0x20 ? 3 : 4;
  if (size < len) return 0;
  uint32_t id = 0;
  for (size_t i = 0; i < len; ++i) id = (id << 8) | data[i];
  return id;
}

std::string Hex(uint32_t id) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%X", id);
  return buf;
}

}  // namespace

Status CheckChunkStart(const uint8_t* data, size_t size, bool first_chunk) {
  const uint32_t id = LeadingId(data, size);
  if (first_chunk) {
    if (id == libwebm::kMkvEBML) return Status::Ok();
    return Corrupt("first chunk does not start with the EBML header (found " + Hex(id) + ")");
  }
  switch (id) {
    case libwebm::kMkvCluster:
    case libwebm::kMkvCues:
    case libwebm::kMkvTags:
    case libwebm::kMkvVoid:
      return Status::Ok();
    default:
      return Corrupt("chunk does not start at a Cluster (found " + Hex(id) + ")");
  }
}

}  // namespace recorder::webm
