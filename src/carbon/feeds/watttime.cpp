// WattTime: GET {base}/login with HTTP Basic → a token valid 30 minutes,
// renewed 5 minutes before it expires; then GET {base}/v3/forecast?region=R&
// signal_type=co2_moer&horizon_hours=0 with Authorization: Bearer. A 401 on
// the forecast (token revoked or expired early) logs in again and retries once.
#include <openssl/evp.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <optional>
#include <vector>

#include "carbon/feeds/common.h"
#include "stats/stats.h"

namespace aegis::carbon::feeds {
namespace {

constexpr auto kTokenLifetime = std::chrono::minutes(30);
constexpr auto kRenewBefore = std::chrono::minutes(5);

std::string base64(std::string_view in) {
  std::vector<unsigned char> out(4 * ((in.size() + 2) / 3) + 1);
  const int n = EVP_EncodeBlock(out.data(), reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  return std::string(reinterpret_cast<const char*>(out.data()), n > 0 ? static_cast<std::size_t>(n) : 0);
}

class WattTimeFeed final : public IntensityFeed {
 public:
  WattTimeFeed(HttpGet tmpl, const std::string& username, const std::string& password, const std::string& name, NowFn now)
      : tmpl_(std::move(tmpl)), basic_("Basic " + base64(username + ":" + password)), now_(std::move(now)),
        logins_initial_(&login_counter(name, "initial")), logins_renew_(&login_counter(name, "renew")),
        logins_rejected_(&login_counter(name, "rejected")) {}

  core::Task<FeedResult<ParsedReading>> fetch(std::string id) override {
    if (!token_ || now_() >= token_at_ + kTokenLifetime - kRenewBefore) {
      (token_ ? logins_renew_ : logins_initial_)->inc();
      auto ok = co_await login();
      if (!ok) co_return ok.error();
    }
    auto r = co_await forecast(id);
    if (!r && r.error().kind == FeedErrorKind::kAuth) {
      spdlog::info("carbon: WattTime refused the token ({}); logging in again", r.error().message);
      token_.reset();
      logins_rejected_->inc();
      auto ok = co_await login();
      if (!ok) co_return ok.error();
      r = co_await forecast(id);
    }
    co_return r;
  }

 private:
  static stats::Counter& login_counter(const std::string& provider, const char* reason) {
    return stats::global().counter("aegis_carbon_feed_logins_total",
                                   "Logins to a provider that issues tokens (WattTime), by reason: initial, renew "
                                   "(before the token expires), rejected (the provider refused the token)",
                                   {{"provider", provider}, {"reason", reason}});
  }

  core::Task<FeedResult<void>> login() {
    HttpGet req = tmpl_;
    req.target = "/login";
    req.headers.emplace_back("authorization", basic_);
    const Clock::time_point asked = now_();
    auto r = co_await http_get(std::move(req));
    if (!r) co_return r.error();
    auto body = body_of(std::move(*r), "WattTime login");
    if (!body) co_return body.error();
    auto token = parse_watttime_login(*body);
    if (!token) co_return malformed(token.error());
    token_ = std::move(*token);
    token_at_ = asked;
    co_return FeedResult<void>{};
  }

  core::Task<FeedResult<ParsedReading>> forecast(const std::string& id) {
    HttpGet req = tmpl_;
    req.target = "/v3/forecast?region=" + query_escape(id) + "&signal_type=co2_moer&horizon_hours=0";
    req.headers.emplace_back("authorization", "Bearer " + *token_);
    auto r = co_await http_get(std::move(req));
    if (!r) co_return r.error();
    auto body = body_of(std::move(*r), "WattTime forecast");
    if (!body) co_return body.error();
    auto parsed = parse_watttime_forecast(*body);
    if (!parsed) co_return malformed(parsed.error());
    co_return *parsed;
  }

  HttpGet tmpl_;
  std::string basic_;  // "Basic base64(user:password)"
  NowFn now_;
  std::optional<std::string> token_;
  Clock::time_point token_at_;
  stats::Counter* logins_initial_;
  stats::Counter* logins_renew_;
  stats::Counter* logins_rejected_;
};

}  // namespace

std::unique_ptr<IntensityFeed> make_watttime(HttpGet tmpl, const std::string& username, const std::string& password,
                                             const std::string& provider_name, NowFn now) {
  return std::make_unique<WattTimeFeed>(std::move(tmpl), username, password, provider_name, std::move(now));
}

}  // namespace aegis::carbon::feeds
