#include "proxy/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace aegis::proxy {
namespace {

using namespace std::chrono_literals;
using Clock = RateLimiter::Clock;

TEST(RateLimiter, BurstThenOneEveryInterval) {
  RateLimiter rl(config::RateLimit{10, 3});  // 100 ms apart, 3 at once
  const auto t0 = Clock::time_point(1h);
  std::chrono::nanoseconds wait{};
  EXPECT_TRUE(rl.try_acquire(t0, wait));
  EXPECT_TRUE(rl.try_acquire(t0, wait));
  EXPECT_TRUE(rl.try_acquire(t0, wait));
  EXPECT_FALSE(rl.try_acquire(t0, wait));
  EXPECT_EQ(wait, 100ms);
  EXPECT_FALSE(rl.try_acquire(t0 + 99ms, wait));
  EXPECT_EQ(wait, 1ms);
  EXPECT_TRUE(rl.try_acquire(t0 + 100ms, wait));
  EXPECT_FALSE(rl.try_acquire(t0 + 100ms, wait));
  // A long pause refills the burst, no more.
  EXPECT_TRUE(rl.try_acquire(t0 + 10s, wait));
  EXPECT_TRUE(rl.try_acquire(t0 + 10s, wait));
  EXPECT_TRUE(rl.try_acquire(t0 + 10s, wait));
  EXPECT_FALSE(rl.try_acquire(t0 + 10s, wait));
}

TEST(RateLimiter, SustainedRateIsTheConfiguredOne) {
  RateLimiter rl(config::RateLimit{50, 1});
  const auto t0 = Clock::time_point(1h);
  std::chrono::nanoseconds wait{};
  int passed = 0;
  for (int ms = 0; ms < 10'000; ++ms) passed += rl.try_acquire(t0 + std::chrono::milliseconds(ms), wait) ? 1 : 0;
  EXPECT_EQ(passed, 500);  // 50/s for 10 s
}

TEST(RateLimiter, ConcurrentCallersNeverExceedTheBurst) {
  RateLimiter rl(config::RateLimit{1, 100});  // 100 at once, then 1/s
  const auto t0 = Clock::time_point(1h);
  std::atomic<int> passed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      std::chrono::nanoseconds wait{};
      for (int j = 0; j < 1000; ++j) passed += rl.try_acquire(t0, wait) ? 1 : 0;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(passed.load(), 100);
}

}  // namespace
}  // namespace aegis::proxy
