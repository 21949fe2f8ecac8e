// libvpx VP9 in real-time CBR mode: one I420 picture in, at most one compressed frame out.
#pragma once

#include <vpx/vpx_encoder.h>
#include <vpx/vpx_image.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "common/status.h"
#include "recorder/recorder.h"

namespace recorder {

struct EncodedVideoFrame {
  std::vector<uint8_t> data;
  int64_t pts_us = 0;  // stream time
  bool keyframe = false;
};

class Vp9Encoder {
 public:
  // REQUIRES: `config` was checked by the Recorder (sizes, kbps, speed, threads in range).
  static Result<std::unique_ptr<Vp9Encoder>> Create(const VideoConfig& config);
  ~Vp9Encoder();

  // Encodes `image` (config-sized I420) shown at `pts_us` for `duration_us`; pts must increase.
  // Appends what libvpx emits (in real-time mode: this frame, unless rate control dropped it).
  Status Encode(const vpx_image_t& image, int64_t pts_us, int64_t duration_us, bool force_keyframe,
                std::vector<EncodedVideoFrame>* out);
  // Drains the encoder at end of stream.
  Status Flush(std::vector<EncodedVideoFrame>* out);

  // cpu-used, 5..9; takes effect from the next frame.
  Status SetSpeed(int speed);
  int speed() const { return speed_; }
  // The CBR target from the next frame on. libvpx rescales its rate-control buffer to the new
  // rate and keeps its references: no keyframe.
  Status SetBitrate(int kbps);

 private:
  struct CodecDeleter {
    void operator()(vpx_codec_ctx_t* ctx) const;
  };
  Vp9Encoder(int speed, const vpx_codec_enc_cfg_t& cfg) : speed_(speed), cfg_(cfg) {}
  Status Drain(std::vector<EncodedVideoFrame>* out);

  std::unique_ptr<vpx_codec_ctx_t, CodecDeleter> codec_;
  int speed_;
  vpx_codec_enc_cfg_t cfg_;  // as in effect: vpx_codec_enc_config_set takes a whole one
};

}  // namespace recorder
