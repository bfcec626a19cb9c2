// Circuit breakers open exactly at their limit, also when threads race.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "upstream/circuit_breaker.h"

namespace aegis::upstream {
namespace {

using R = CircuitBreakers::Resource;
using Field = std::uint32_t config::CircuitBreakers::*;

// Breakers with the defaults but one limit.
void limit(CircuitBreakers& b, Field field, std::uint32_t n) {
  config::CircuitBreakers limits;
  limits.*field = n;
  b.set_limits(limits);
}

TEST(CircuitBreakers, OpensExactlyAtTheLimit) {
  CircuitBreakers b;
  limit(b, &config::CircuitBreakers::max_requests, 3);
  EXPECT_TRUE(b.try_acquire(R::kRequests));
  EXPECT_TRUE(b.try_acquire(R::kRequests));
  EXPECT_TRUE(b.try_acquire(R::kRequests));
  EXPECT_FALSE(b.try_acquire(R::kRequests));
  EXPECT_EQ(b.active(R::kRequests), 3u);
  b.release(R::kRequests);
  EXPECT_TRUE(b.try_acquire(R::kRequests));
  EXPECT_EQ(b.active(R::kConnections), 0u);  // resources are independent
  EXPECT_EQ(b.limit(R::kRetries), 3u);       // Envoy's default max_retries
  EXPECT_EQ(b.limit(R::kConnections), config::CircuitBreakers::kUnlimited);
}

TEST(CircuitBreakers, ZeroLimitRefusesAll) {
  CircuitBreakers b;
  limit(b, &config::CircuitBreakers::max_retries, 0);
  EXPECT_FALSE(b.try_acquire(R::kRetries));
  EXPECT_TRUE(b.try_acquire(R::kRetries, 1));  // an explicit limit (the retry budget's)
}

TEST(CircuitBreakers, ConcurrentAcquiresNeverPassTheLimit) {
  CircuitBreakers b;
  limit(b, &config::CircuitBreakers::max_connections, 100);
  std::atomic<int> taken{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i)
        if (b.try_acquire(R::kConnections)) taken.fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(taken.load(), 100);
  EXPECT_EQ(b.active(R::kConnections), 100u);
}

TEST(CircuitBreakers, SlotsGiveBackOnce) {
  CircuitBreakers b;
  limit(b, &config::CircuitBreakers::max_pending_requests, 1);
  {
    BreakerSlot s = acquire(b, R::kPendingRequests);
    EXPECT_TRUE(s.held());
    EXPECT_FALSE(acquire(b, R::kPendingRequests).held());
    BreakerSlot moved = std::move(s);
    EXPECT_EQ(b.active(R::kPendingRequests), 1u);
  }
  EXPECT_EQ(b.active(R::kPendingRequests), 0u);
  BreakerSlot kept = acquire(b, R::kPendingRequests);
  kept.keep();
  EXPECT_EQ(b.active(R::kPendingRequests), 1u);
}

TEST(CircuitBreakers, OnePerClusterName) {
  EXPECT_EQ(&circuit_breakers_for("a"), &circuit_breakers_for("a"));
  EXPECT_NE(&circuit_breakers_for("a"), &circuit_breakers_for("b"));
}

}  // namespace
}  // namespace aegis::upstream
