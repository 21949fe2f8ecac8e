// Keeps VP9 encoding in real time: compares the wall time each frame took to encode with the
// capture interval it has to fit in, raises cpu-used when encoding is too slow, lowers it back
// when there is headroom, and asks for a drop when even the fastest speed falls behind.
// Pure arithmetic on the numbers it is given (no clock), so it is tested with made-up times.
#pragma once

#include <cstdint>

namespace recorder {

class SpeedController {
 public:
  static constexpr int kFastestSpeed = 9;  // libvpx VP9 real-time cpu-used upper bound

  // `base_speed` is where it starts and the slowest it goes back to. Disabled: speed stays at
  // base_speed and ShouldDrop() is always false.
  SpeedController(int base_speed, bool enabled);

  // Before encoding a frame captured `interval_us` after the previous one. True means skip it:
  // the encoder is more than kMaxBacklogUs behind real time at the fastest speed.
  bool ShouldDrop(int64_t interval_us);
  // After encoding a frame that took `encode_us` of wall time.
  void OnEncoded(int64_t encode_us, int64_t interval_us);

  int speed() const { return speed_; }
  // Smoothed encode time / frame interval; > 1 means slower than real time.
  double load() const { return load_; }

  static constexpr int64_t kMaxBacklogUs = 200000;
  static constexpr double kRaiseAbove = 0.8;  // faster when encoding uses > 80 % of the budget
  static constexpr double kLowerBelow = 0.4;  // slower (better) again below 40 %
  static constexpr int kHoldFrames = 15;      // frames to wait after a change before the next

 private:
  const int base_speed_;
  const bool enabled_;
  int speed_;
  double load_ = 0;
  int64_t backlog_us_ = 0;  // how far encoding lags capture, in wall time
  int frames_since_change_ = 0;
  bool have_load_ = false;
};

}  // namespace recorder
