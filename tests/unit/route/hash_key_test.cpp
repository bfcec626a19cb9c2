// A request's hash key from its route's hash_policy.
#include "route/hash_key.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "core/hash.h"

namespace aegis::route {
namespace {

using Kind = config::HashPolicy::Kind;

HeaderLookup headers(const std::map<std::string, std::string>& fields) {
  return [fields](std::string_view name) -> std::optional<std::string_view> {
    auto it = fields.find(std::string(name));
    if (it == fields.end()) return std::nullopt;
    return std::string_view(it->second);
  };
}

TEST(HashKey, FindCookie) {
  EXPECT_EQ(find_cookie("a=1; session=xyz; b=2", "session"), "xyz");
  EXPECT_EQ(find_cookie("session=xyz", "session"), "xyz");
  EXPECT_EQ(find_cookie("  session = \"q v\" ;x=1", "session"), "q v");
  EXPECT_EQ(find_cookie("session=", "session"), "");
  EXPECT_EQ(find_cookie("xsession=1; sessionx=2", "session"), std::nullopt);
  EXPECT_EQ(find_cookie("session", "session"), std::nullopt);  // no '='
  EXPECT_EQ(find_cookie("", "session"), std::nullopt);
  EXPECT_EQ(find_cookie(";;;=;", "session"), std::nullopt);
}

TEST(HashKey, FirstRuleWithAValueGivesTheKey) {
  const std::vector<config::HashPolicy> rules{{Kind::kHeader, "x-user"}, {Kind::kCookie, "session"},
                                              {Kind::kSourceIp, ""}};
  const auto ip = request_hash(rules, headers({}), "10.1.2.3");
  EXPECT_EQ(ip, core::stable_hash("10.1.2.3"));
  EXPECT_EQ(request_hash(rules, headers({{"cookie", "session=s1"}}), "10.1.2.3"), core::stable_hash("s1"));
  EXPECT_EQ(request_hash(rules, headers({{"cookie", "session=s1"}, {"x-user", "alice"}}), "10.1.2.3"),
            core::stable_hash("alice"));
  // A Cookie header without that cookie yields nothing: the next rule decides.
  EXPECT_EQ(request_hash(rules, headers({{"cookie", "other=1"}}), "10.1.2.3"), ip);
}

TEST(HashKey, NoValueNoKey) {
  const std::vector<config::HashPolicy> rules{{Kind::kHeader, "x-user"}};
  EXPECT_EQ(request_hash(rules, headers({{"x-other", "1"}}), "10.1.2.3"), std::nullopt);
  EXPECT_EQ(request_hash({}, headers({{"x-user", "1"}}), "10.1.2.3"), std::nullopt);
  const std::vector<config::HashPolicy> ip_only{{Kind::kSourceIp, ""}};
  EXPECT_EQ(request_hash(ip_only, headers({}), ""), std::nullopt);
}

TEST(HashKey, DifferentValuesDifferentKeys) {
  const std::vector<config::HashPolicy> rules{{Kind::kHeader, "x-user"}};
  EXPECT_NE(request_hash(rules, headers({{"x-user", "alice"}}), ""),
            request_hash(rules, headers({{"x-user", "bob"}}), ""));
}

}  // namespace
}  // namespace aegis::route
