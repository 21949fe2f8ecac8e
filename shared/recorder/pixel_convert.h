// Checking caller frames and converting them to the I420 layout libvpx encodes.
#pragma once

#include <cstdint>

#include "common/status.h"
#include "recorder/recorder.h"

namespace recorder {

// Writable I420 planes of a known size. Not owned.
struct I420Planes {
  uint8_t* y = nullptr;
  uint8_t* u = nullptr;
  uint8_t* v = nullptr;
  int stride_y = 0;
  int stride_u = 0;
  int stride_v = 0;
};

// Ok if `frame` is exactly width x height in a supported format with a non-null plane and a
// large enough stride for each plane its format uses. Does not look at the timestamp.
Status ValidateFrame(const VideoFrame& frame, int width, int height);

// Converts NV12 / RGBA / BGRA (BT.601 limited range, as browsers deliver) to I420.
// REQUIRES: ValidateFrame(frame, ...) is ok, frame.format != kI420, `dst` is frame-sized.
Status ConvertToI420(const VideoFrame& frame, const I420Planes& dst);

}  // namespace recorder
