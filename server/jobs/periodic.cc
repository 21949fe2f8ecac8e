#include "jobs/periodic.h"

namespace recorder::server {

PeriodicTask::PeriodicTask(std::string name, std::chrono::milliseconds interval, std::function<void()> task)
    : name_(std::move(name)), interval_(interval), task_(std::move(task)), thread_([this] {
        std::unique_lock lock(mu_);
        while (!cv_.wait_for(lock, interval_, [&] { return stopping_; })) {
          lock.unlock();
          task_();
          lock.lock();
        }
      }) {}

PeriodicTask::~PeriodicTask() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

}  // namespace recorder::server
