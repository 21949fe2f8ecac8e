// A task run every `interval` on a thread of its own (the spool's expiry sweep, retention), so
// that no sweep waits behind a long job or holds one up.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace recorder::server {

class PeriodicTask {
 public:
  // Starts at once; the first run is one interval from now.
  PeriodicTask(std::string name, std::chrono::milliseconds interval, std::function<void()> task);
  // Stops and waits for a run in progress.
  ~PeriodicTask();
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

 private:
  std::string name_;
  std::chrono::milliseconds interval_;
  std::function<void()> task_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the rest is built
};

}  // namespace recorder::server
