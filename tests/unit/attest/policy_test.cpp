// check_policy: each rule refuses on its own, with a message naming it.
#include "attest/policy.h"

#include <gtest/gtest.h>

namespace aegis::attest {
namespace {

Claims snp_claims() {
  Claims c;
  c.tee = Tee::kSevSnp;
  c.measurement.assign(48, 0xab);
  c.report_data.assign(64, 0);
  c.fields = {{"reported_tcb.bootloader", "3"},
              {"reported_tcb.tee", "0"},
              {"reported_tcb.snp", "8"},
              {"reported_tcb.microcode", "115"}};
  return c;
}

Claims tdx_claims() {
  Claims c;
  c.tee = Tee::kTdx;
  c.measurement.assign(48, 0x01);
  c.tcb_status = "UpToDate";
  for (int i = 0; i < 4; ++i)
    c.fields.emplace_back("rtmr" + std::to_string(i), std::string(96, static_cast<char>('0' + i)));
  return c;
}

TEST(AttestationPolicy, AnEmptyPolicyAcceptsAnyNonDebugGuest) {
  const config::AttestationPolicy p;
  EXPECT_FALSE(check_policy(p, snp_claims()));
  EXPECT_FALSE(check_policy(p, tdx_claims()));
  auto debug = snp_claims();
  debug.debug = true;
  const auto f = check_policy(p, debug);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->code, "policy");
  EXPECT_NE(f->detail.find("debugging"), std::string::npos);
  config::AttestationPolicy lax;
  lax.allow_debug = true;
  EXPECT_FALSE(check_policy(lax, debug));
}

TEST(AttestationPolicy, TeeKindAndMeasurements) {
  config::AttestationPolicy p;
  p.tee = config::AttestationPolicy::TeeKind::kTdx;
  ASSERT_TRUE(check_policy(p, snp_claims()));
  EXPECT_NE(check_policy(p, snp_claims())->detail.find("sev-snp"), std::string::npos);
  p.tee = config::AttestationPolicy::TeeKind::kAny;
  p.measurements = {std::string(96, 'c')};
  std::string ab;
  for (int i = 0; i < 48; ++i) ab += "ab";
  const auto f = check_policy(p, snp_claims());
  ASSERT_TRUE(f);
  EXPECT_NE(f->detail.find("measurement " + ab + " is not on the allow list"), std::string::npos) << f->detail;
  p.measurements.push_back(ab);
  EXPECT_FALSE(check_policy(p, snp_claims()));
}

TEST(AttestationPolicy, RtmrsMinTcbAndTcbStatus) {
  config::AttestationPolicy p;
  p.rtmrs = {"*", std::string(96, '1')};
  EXPECT_FALSE(check_policy(p, tdx_claims()));
  p.rtmrs = {"*", std::string(96, '2')};
  ASSERT_TRUE(check_policy(p, tdx_claims()));
  EXPECT_NE(check_policy(p, tdx_claims())->detail.find("rtmr1"), std::string::npos);
  p.rtmrs.clear();

  p.min_tcb = {{"snp", 8}, {"microcode", 115}};
  EXPECT_FALSE(check_policy(p, snp_claims()));
  p.min_tcb["microcode"] = 116;
  ASSERT_TRUE(check_policy(p, snp_claims()));
  EXPECT_NE(check_policy(p, snp_claims())->detail.find("min_tcb.microcode"), std::string::npos);
  p.min_tcb.clear();

  auto out_of_date = tdx_claims();
  out_of_date.tcb_status = "OutOfDate";
  const auto f = check_policy(p, out_of_date);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->code, "tcb_status");
  p.accepted_tcb_status.push_back("OutOfDate");
  EXPECT_FALSE(check_policy(p, out_of_date));
}

}  // namespace
}  // namespace aegis::attest
