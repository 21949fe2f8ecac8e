#include "recorder/vp9_encoder.h"

#include <vpx/vp8cx.h>

#include <algorithm>
#include <string>

namespace recorder {
namespace {

Status VpxError(vpx_codec_ctx_t* ctx, const char* what) {
  std::string message = std::string(what) + ": " + vpx_codec_error(ctx);
  if (const char* detail = vpx_codec_error_detail(ctx)) message += std::string(" (") + detail + ")";
  return Internal(message);
}

// Tile columns are log2-coded; libvpx further clamps them to what the width allows
// (each tile at least 256 pixels wide).
int Log2TileColumns(int threads) {
  int log2 = 0;
  while ((2 << log2) <= threads && log2 < 6) ++log2;
  return log2;
}

}  // namespace

void Vp9Encoder::CodecDeleter::operator()(vpx_codec_ctx_t* ctx) const {
  vpx_codec_destroy(ctx);
  delete ctx;
}

Vp9Encoder::~Vp9Encoder() = default;

Result<std::unique_ptr<Vp9Encoder>> Vp9Encoder::Create(const VideoConfig& config) {
  vpx_codec_iface_t* iface = vpx_codec_vp9_cx();
  vpx_codec_enc_cfg_t cfg;
  if (vpx_codec_enc_config_default(iface, &cfg, 0) != VPX_CODEC_OK) {
    return Internal("vpx_codec_enc_config_default failed");
  }
  cfg.g_w = static_cast<unsigned>(config.width);
  cfg.g_h = static_cast<unsigned>(config.height);
  cfg.g_timebase = {1, 1000000};  // pts and durations are microseconds
  cfg.g_threads = static_cast<unsigned>(config.threads);
  cfg.g_lag_in_frames = 0;  // real time: a packet for every input, no look-ahead
  cfg.g_pass = VPX_RC_ONE_PASS;
  cfg.g_error_resilient = 0;
  cfg.rc_end_usage = VPX_CBR;
  cfg.rc_target_bitrate = static_cast<unsigned>(config.kbps);
  cfg.rc_min_quantizer = 2;
  cfg.rc_max_quantizer = 52;
  // Keep every frame (drops are the Recorder's decision, and counted); let the rate controller
  // move ±50 % around the target per frame and hold about 1 s of buffer, as WebRTC does.
  cfg.rc_dropframe_thresh = 0;
  cfg.rc_undershoot_pct = 50;
  cfg.rc_overshoot_pct = 50;
  cfg.rc_buf_initial_sz = 500;
  cfg.rc_buf_optimal_sz = 600;
  cfg.rc_buf_sz = 1000;
  // Keyframes are placed by the Recorder by time (timestamps are variable-rate), so libvpx's
  // frame-count limit is only a backstop far beyond any configured interval.
  cfg.kf_mode = VPX_KF_AUTO;
  cfg.kf_min_dist = 0;
  cfg.kf_max_dist = 1u << 20;

  std::unique_ptr<Vp9Encoder> encoder(new Vp9Encoder(config.speed, cfg));
  auto ctx = std::make_unique<vpx_codec_ctx_t>();
  if (vpx_codec_enc_init(ctx.get(), iface, &cfg, 0) != VPX_CODEC_OK) {
    Status status = VpxError(ctx.get(), "vpx_codec_enc_init");
    return status;
  }
  encoder->codec_.reset(ctx.release());
  vpx_codec_ctx_t* c = encoder->codec_.get();

  const bool screen = config.content == ContentType::kScreen;
  if (vpx_codec_control(c, VP8E_SET_CPUUSED, config.speed) ||
      vpx_codec_control(c, VP9E_SET_ROW_MT, config.threads > 1 ? 1 : 0) ||
      vpx_codec_control(c, VP9E_SET_TILE_COLUMNS, Log2TileColumns(config.threads)) ||
      // Cyclic-refresh AQ is libvpx's real-time CBR mode for camera; screen content gets none.
      vpx_codec_control(c, VP9E_SET_AQ_MODE, screen ? 0u : 3u) ||
      vpx_codec_control(c, VP9E_SET_TUNE_CONTENT, screen ? VP9E_CONTENT_SCREEN : VP9E_CONTENT_DEFAULT) ||
      // A recording is uploaded in ~1 s chunks, so a large keyframe only delays one chunk a
      // little; capping keyframes low (as calls do) costs ~0.15 dB for the following seconds.
      vpx_codec_control(c, VP8E_SET_MAX_INTRA_BITRATE_PCT, 900u) ||
      // Extra bits for golden frames pay off on static talking-head scenes (~0.1 dB).
      vpx_codec_control(c, VP9E_SET_GF_CBR_BOOST_PCT, 100u) || vpx_codec_control(c, VP9E_SET_NOISE_SENSITIVITY, 0)) {
    return VpxError(c, "vpx_codec_control");
  }
  return encoder;
}

Status Vp9Encoder::SetSpeed(int speed) {
  if (speed == speed_) return Status::Ok();
  if (vpx_codec_control(codec_.get(), VP8E_SET_CPUUSED, speed) != VPX_CODEC_OK) {
    return VpxError(codec_.get(), "VP8E_SET_CPUUSED");
  }
  speed_ = speed;
  return Status::Ok();
}

Status Vp9Encoder::SetBitrate(int kbps) {
  if (cfg_.rc_target_bitrate == static_cast<unsigned>(kbps)) return Status::Ok();
  vpx_codec_enc_cfg_t cfg = cfg_;
  cfg.rc_target_bitrate = static_cast<unsigned>(kbps);
  if (vpx_codec_enc_config_set(codec_.get(), &cfg) != VPX_CODEC_OK) {
    return VpxError(codec_.get(), "vpx_codec_enc_config_set");
  }
  cfg_ = cfg;
  return Status::Ok();
}

Status Vp9Encoder::Encode(const vpx_image_t& image, int64_t pts_us, int64_t duration_us, bool force_keyframe,
                          std::vector<EncodedVideoFrame>* out) {
  const vpx_enc_frame_flags_t flags = force_keyframe ? VPX_EFLAG_FORCE_KF : 0;
  if (vpx_codec_encode(codec_.get(), &image, pts_us, static_cast<unsigned long>(duration_us), flags, VPX_DL_REALTIME) !=
      VPX_CODEC_OK) {
    return VpxError(codec_.get(), "vpx_codec_encode");
  }
  return Drain(out);
}

Status Vp9Encoder::Flush(std::vector<EncodedVideoFrame>* out) {
  if (vpx_codec_encode(codec_.get(), nullptr, 0, 0, 0, VPX_DL_REALTIME) != VPX_CODEC_OK) {
    return VpxError(codec_.get(), "vpx_codec_encode(flush)");
  }
  return Drain(out);
}

Status Vp9Encoder::Drain(std::vector<EncodedVideoFrame>* out) {
  vpx_codec_iter_t iter = nullptr;
  while (const vpx_codec_cx_pkt_t* pkt = vpx_codec_get_cx_data(codec_.get(), &iter)) {
    if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) continue;
    const auto* bytes = static_cast<const uint8_t*>(pkt->data.frame.buf);
    EncodedVideoFrame frame;
    frame.data.assign(bytes, bytes + pkt->data.frame.sz);
    frame.pts_us = pkt->data.frame.pts;
    frame.keyframe = (pkt->data.frame.flags & VPX_FRAME_IS_KEY) != 0;
    out->push_back(std::move(frame));
  }
  return Status::Ok();
}

}  // namespace recorder
