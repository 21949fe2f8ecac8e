#include "recorder/pixel_convert.h"

#include <libyuv/convert.h>

#include <string>

namespace recorder {
namespace {

int ChromaSize(int luma) { return (luma + 1) / 2; }

Status CheckPlane(const VideoFrame& frame, int index, int min_stride, const char* name) {
  if (frame.planes[index] == nullptr) {
    return InvalidArgument(std::string("video frame plane ") + name + " is null");
  }
  if (frame.strides[index] < min_stride) {
    return InvalidArgument(std::string("video frame plane ") + name + " stride " +
                           std::to_string(frame.strides[index]) + " is below the row size " +
                           std::to_string(min_stride));
  }
  return Status::Ok();
}

}  // namespace

Status ValidateFrame(const VideoFrame& frame, int width, int height) {
  if (frame.width != width || frame.height != height) {
    return InvalidArgument("video frame is " + std::to_string(frame.width) + "x" + std::to_string(frame.height) +
                           ", expected " + std::to_string(width) + "x" + std::to_string(height));
  }
  const int cw = ChromaSize(width);
  switch (frame.format) {
    case PixelFormat::kI420:
      RETURN_IF_ERROR(CheckPlane(frame, 0, width, "Y"));
      RETURN_IF_ERROR(CheckPlane(frame, 1, cw, "U"));
      return CheckPlane(frame, 2, cw, "V");
    case PixelFormat::kNV12:
      RETURN_IF_ERROR(CheckPlane(frame, 0, width, "Y"));
      return CheckPlane(frame, 1, 2 * cw, "UV");
    case PixelFormat::kRGBA:
    case PixelFormat::kBGRA:
      return CheckPlane(frame, 0, 4 * width, "RGBA");
  }
  return Unsupported("pixel format " + std::to_string(static_cast<int>(frame.format)) +
                     " is not one of I420, NV12, RGBA, BGRA");
}

Status ConvertToI420(const VideoFrame& f, const I420Planes& d) {
  int rc = -1;
  switch (f.format) {
    case PixelFormat::kNV12:
      rc = libyuv::NV12ToI420(f.planes[0], f.strides[0], f.planes[1], f.strides[1], d.y, d.stride_y, d.u, d.stride_u,
                              d.v, d.stride_v, f.width, f.height);
      break;
    // libyuv names formats by the little-endian 32-bit word: its "ABGR" is bytes R,G,B,A and
    // its "ARGB" is bytes B,G,R,A.
    case PixelFormat::kRGBA:
      rc = libyuv::ABGRToI420(f.planes[0], f.strides[0], d.y, d.stride_y, d.u, d.stride_u, d.v, d.stride_v, f.width,
                              f.height);
      break;
    case PixelFormat::kBGRA:
      rc = libyuv::ARGBToI420(f.planes[0], f.strides[0], d.y, d.stride_y, d.u, d.stride_u, d.v, d.stride_v, f.width,
                              f.height);
      break;
    case PixelFormat::kI420:
      return Internal("ConvertToI420 called for an I420 frame");
  }
  if (rc != 0) return Internal("libyuv conversion failed with " + std::to_string(rc));
  return Status::Ok();
}

}  // namespace recorder
