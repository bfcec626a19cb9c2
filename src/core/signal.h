// A wake-up between coroutines of one executor: one side waits, the other
// notifies. A notification with nobody waiting is remembered (once), so a
// waiter that checks its condition, then waits, never misses one. Built on a
// timer that never expires (cancel() is the notification); it is not a
// timeout: timeouts stay on the worker's tick.
#pragma once

#include <boost/asio/steady_timer.hpp>

#include <chrono>

#include "core/io.h"

namespace aegis::core {

class Signal {
 public:
  explicit Signal(const Executor& ex) : timer_(ex) {}

  Task<void> wait() {
    if (pending_) {
      pending_ = false;
      co_return;
    }
    timer_.expires_at(Timer::time_point::max());
    waiting_ = true;
    auto [ec] = co_await timer_.async_wait(kAwait);
    (void)ec;
    waiting_ = false;
    pending_ = false;
  }

  void notify() {
    pending_ = true;
    if (waiting_) timer_.cancel();
  }

 private:
  using Timer = boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                                  boost::asio::wait_traits<std::chrono::steady_clock>, Executor>;
  Timer timer_;
  bool pending_ = false;
  bool waiting_ = false;
};

}  // namespace aegis::core
