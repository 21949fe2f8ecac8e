// A cheap check for the ingest path: does an uploaded chunk start where a chunk should start?
// The recorder sends the EBML header + Segment start + Info + Tracks as the first chunk and
// whole Clusters after that, so a chunk that starts elsewhere means a client bug or a mixed-up
// upload. This looks only at the first element header; it does not validate the chunk.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/status.h"

namespace recorder::webm {

// REQUIRES: data points at size readable bytes (data may be null when size is 0).
// first_chunk: the EBML header ID must come first. Later chunks: a Cluster, or another
// Segment-level element (Cues, Tags, Void) must come first. Corrupt otherwise, naming what was
// found; a chunk too short to hold an element ID is Corrupt too.
Status CheckChunkStart(const uint8_t* data, size_t size, bool first_chunk);

}  // namespace recorder::webm
