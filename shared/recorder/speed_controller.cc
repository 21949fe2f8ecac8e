#include "recorder/speed_controller.h"

#include <algorithm>

namespace recorder {

SpeedController::SpeedController(int base_speed, bool enabled)
    : base_speed_(base_speed), enabled_(enabled), speed_(base_speed) {}

bool SpeedController::ShouldDrop(int64_t interval_us) {
  if (!enabled_ || speed_ < kFastestSpeed || backlog_us_ <= kMaxBacklogUs) return false;
  // The skipped frame's slot is time the encoder gets back.
  backlog_us_ = std::max<int64_t>(0, backlog_us_ - interval_us);
  return true;
}

void SpeedController::OnEncoded(int64_t encode_us, int64_t interval_us) {
  if (!enabled_) return;
  interval_us = std::max<int64_t>(interval_us, 1);
  backlog_us_ = std::max<int64_t>(0, backlog_us_ + encode_us - interval_us);
  const double sample = static_cast<double>(encode_us) / static_cast<double>(interval_us);
  load_ = have_load_ ? 0.9 * load_ + 0.1 * sample : sample;  // ~10-frame average
  have_load_ = true;

  if (++frames_since_change_ < kHoldFrames) return;
  int next = speed_;
  if (load_ > kRaiseAbove && speed_ < kFastestSpeed) next = speed_ + 1;
  if (load_ < kLowerBelow && speed_ > base_speed_) next = speed_ - 1;
  if (next != speed_) {
    speed_ = next;
    frames_since_change_ = 0;
  }
}

}  // namespace recorder
