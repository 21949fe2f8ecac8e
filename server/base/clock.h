// Wall-clock time for expiry decisions, behind a seam so tests can move time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace recorder::server {

class Clock {
 public:
  virtual ~Clock() = default;
  // Seconds since the Unix epoch, UTC. Thread-safe.
  virtual int64_t NowSeconds() const = 0;
};

class SystemClock : public Clock {
 public:
  int64_t NowSeconds() const override {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// The fake: time moves only when a test says so.
class ManualClock : public Clock {
 public:
  explicit ManualClock(int64_t now) : now_(now) {}
  int64_t NowSeconds() const override { return now_.load(); }
  void Advance(int64_t seconds) { now_ += seconds; }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace recorder::server
