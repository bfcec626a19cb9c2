// The rules of `aegis-flow redirect`: option validation and the exact
// iptables-restore text per family (the integration tests apply it to a real
// nat table in a network namespace).
#include "app/redirect_rules.h"

#include <gtest/gtest.h>

#include <string>

namespace aegis::app {
namespace {

RedirectPlan plan_of(const RedirectFlags& flags) {
  auto plan = make_redirect_plan(flags);
  EXPECT_TRUE(plan.ok()) << (plan.ok() ? "" : plan.error().message);
  return plan.ok() ? plan.value() : RedirectPlan{};
}

std::string error_of(const RedirectFlags& flags) {
  auto plan = make_redirect_plan(flags);
  EXPECT_FALSE(plan.ok());
  return plan.ok() ? "" : plan.error().message;
}

TEST(RedirectRules, DefaultsIPv4) {
  const auto text = install_rules(plan_of({}), IpFamily::v4, NatState{});
  EXPECT_EQ(text,
            "*nat\n"
            ":AEGIS_INBOUND - [0:0]\n"
            ":AEGIS_IN_REDIRECT - [0:0]\n"
            ":AEGIS_OUTPUT - [0:0]\n"
            ":AEGIS_REDIRECT - [0:0]\n"
            "-A AEGIS_INBOUND -p tcp --dport 15000 -j RETURN\n"
            "-A AEGIS_INBOUND -p tcp --dport 15020 -j RETURN\n"
            "-A AEGIS_INBOUND -p tcp --dport 15006 -j RETURN\n"
            "-A AEGIS_INBOUND -p tcp --dport 15001 -j RETURN\n"
            "-A AEGIS_INBOUND -p tcp -j AEGIS_IN_REDIRECT\n"
            "-A AEGIS_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006\n"
            "-A AEGIS_OUTPUT -m owner --uid-owner 1337 -j RETURN\n"
            "-A AEGIS_OUTPUT -d 127.0.0.1/32 -j RETURN\n"
            "-A AEGIS_OUTPUT -j AEGIS_REDIRECT\n"
            "-A AEGIS_REDIRECT -p tcp -j REDIRECT --to-ports 15001\n"
            "-A PREROUTING -p tcp -j AEGIS_INBOUND\n"
            "-A OUTPUT -p tcp -j AEGIS_OUTPUT\n"
            "COMMIT\n");
  EXPECT_EQ(describe_plan(plan_of({})), "outbound -> 15001, inbound -> 15006, proxy uid 1337 excluded");
}

TEST(RedirectRules, IPv6UsesItsLoopback) {
  const auto text = install_rules(plan_of({}), IpFamily::v6, NatState{});
  EXPECT_NE(text.find("-A AEGIS_OUTPUT -d ::1/128 -j RETURN\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("127.0.0.1"), std::string::npos) << text;
}

TEST(RedirectRules, PortListsAndIds) {
  RedirectFlags f;
  f.proxy_uids = {"1337,1338", "1339"};
  f.proxy_gids = {"2000"};
  f.outbound_port = "16001";
  f.inbound_port = "16006";
  f.inbound_ports = {"8080,9090"};
  f.exclude_inbound_ports = {"22"};
  f.exclude_outbound_ports = {"53", "5432"};
  const auto plan = plan_of(f);
  const auto text = install_rules(plan, IpFamily::v4, NatState{});
  for (const char* line :
       {"-A AEGIS_INBOUND -p tcp --dport 22 -j RETURN\n", "-A AEGIS_INBOUND -p tcp --dport 16006 -j RETURN\n",
        "-A AEGIS_INBOUND -p tcp --dport 16001 -j RETURN\n",
        "-A AEGIS_INBOUND -p tcp --dport 8080 -j AEGIS_IN_REDIRECT\n",
        "-A AEGIS_INBOUND -p tcp --dport 9090 -j AEGIS_IN_REDIRECT\n",
        "-A AEGIS_IN_REDIRECT -p tcp -j REDIRECT --to-ports 16006\n",
        "-A AEGIS_OUTPUT -m owner --uid-owner 1337 -j RETURN\n",
        "-A AEGIS_OUTPUT -m owner --uid-owner 1338 -j RETURN\n",
        "-A AEGIS_OUTPUT -m owner --uid-owner 1339 -j RETURN\n",
        "-A AEGIS_OUTPUT -m owner --gid-owner 2000 -j RETURN\n", "-A AEGIS_OUTPUT -p tcp --dport 53 -j RETURN\n",
        "-A AEGIS_OUTPUT -p tcp --dport 5432 -j RETURN\n", "-A AEGIS_REDIRECT -p tcp -j REDIRECT --to-ports 16001\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << " missing from\n" << text;
  }
  EXPECT_EQ(text.find("-A AEGIS_INBOUND -p tcp -j AEGIS_IN_REDIRECT"), std::string::npos) << text;
  EXPECT_EQ(text.find("15000"), std::string::npos) << "--exclude-inbound-ports replaces the default";
  EXPECT_EQ(describe_plan(plan),
            "outbound -> 16001, inbound -> 16006 (ports 8080,9090), proxy uid 1337,1338,1339 excluded, "
            "proxy gid 2000 excluded");
}

TEST(RedirectRules, CidrsGoToTheirFamily) {
  RedirectFlags f;
  f.exclude_outbound_cidrs = {"10.0.0.0/8,fd00::/8", "192.168.1.1", "2001:db8::1"};
  const auto plan = plan_of(f);
  const auto v4 = install_rules(plan, IpFamily::v4, NatState{});
  const auto v6 = install_rules(plan, IpFamily::v6, NatState{});
  EXPECT_NE(v4.find("-A AEGIS_OUTPUT -d 10.0.0.0/8 -j RETURN\n"), std::string::npos) << v4;
  EXPECT_NE(v4.find("-A AEGIS_OUTPUT -d 192.168.1.1/32 -j RETURN\n"), std::string::npos) << v4;
  EXPECT_EQ(v4.find("fd00"), std::string::npos) << v4;
  EXPECT_EQ(v4.find("2001:db8"), std::string::npos) << v4;
  EXPECT_NE(v6.find("-A AEGIS_OUTPUT -d fd00::/8 -j RETURN\n"), std::string::npos) << v6;
  EXPECT_NE(v6.find("-A AEGIS_OUTPUT -d 2001:db8::1/128 -j RETURN\n"), std::string::npos) << v6;
  EXPECT_EQ(v6.find("10.0.0.0"), std::string::npos) << v6;
  // The exclusions come before the final jump to the redirect.
  EXPECT_LT(v4.find("10.0.0.0/8"), v4.find("-A AEGIS_OUTPUT -j AEGIS_REDIRECT"));
}

TEST(RedirectRules, RefusesBadInput) {
  RedirectFlags f;
  f.outbound_port = "0";
  EXPECT_EQ(error_of(f), "--outbound-port: '0' is not a TCP port (1-65535)");
  f = {};
  f.inbound_port = "65536";
  EXPECT_EQ(error_of(f), "--inbound-port: '65536' is not a TCP port (1-65535)");
  f = {};
  f.inbound_port = "15001";
  EXPECT_EQ(error_of(f), "--outbound-port and --inbound-port are both 15001: they must differ");
  f = {};
  f.inbound_ports = {"8080,0"};
  EXPECT_EQ(error_of(f), "--inbound-ports: '0' is not a TCP port (1-65535)");
  f = {};
  f.exclude_outbound_ports = {"53,,54"};
  EXPECT_EQ(error_of(f), "--exclude-outbound-ports: empty item in '53,,54'");
  f = {};
  f.exclude_outbound_cidrs = {"10.0.0.300/8"};
  EXPECT_EQ(error_of(f),
            "--exclude-outbound-cidrs: '10.0.0.300/8' is not an IPv4 or IPv6 CIDR (e.g. 10.0.0.0/8, fd00::/8)");
  f = {};
  f.exclude_outbound_cidrs = {"10.0.0.0/33"};
  EXPECT_EQ(error_of(f), "--exclude-outbound-cidrs: '10.0.0.0/33' has a bad prefix length (0-32)");
  f = {};
  f.exclude_outbound_cidrs = {"fd00::/129"};
  EXPECT_EQ(error_of(f), "--exclude-outbound-cidrs: 'fd00::/129' has a bad prefix length (0-128)");
  f = {};
  f.proxy_uids = {"nobody"};
  EXPECT_EQ(error_of(f), "--proxy-uid: 'nobody' is not a numeric id (0-4294967294)");
  f = {};
  f.proxy_uids = {};
  EXPECT_NE(error_of(f).find("--proxy-uid / --proxy-gid"), std::string::npos);
  f = {};
  f.ipv6 = "yes";
  EXPECT_EQ(error_of(f), "--ipv6: 'yes' is not auto, on or off");
  f = {};
  f.inbound_ports = {"*,80"};
  EXPECT_EQ(error_of(f), "--inbound-ports: '*' is not a TCP port (1-65535)");
}

constexpr const char* kSaved =
    "# Generated by iptables-save v1.8.9 (nf_tables) on Thu Nov 26 23:23:55 2026\n"
    "*nat\n"
    ":PREROUTING ACCEPT [0:0]\n"
    ":INPUT ACCEPT [0:0]\n"
    ":OUTPUT ACCEPT [0:0]\n"
    ":POSTROUTING ACCEPT [0:0]\n"
    ":AEGIS_INBOUND - [0:0]\n"
    ":AEGIS_OUTPUT - [0:0]\n"
    ":USER_CHAIN - [0:0]\n"
    "-A PREROUTING -p tcp -j AEGIS_INBOUND\n"
    "-A OUTPUT -p tcp -j AEGIS_OUTPUT\n"
    "-A OUTPUT -p tcp -j AEGIS_OUTPUT\n"
    "-A OUTPUT -d 10.1.0.0/16 -j USER_CHAIN\n"
    "COMMIT\n";

TEST(RedirectRules, ReadsOurStateFromIptablesSave) {
  const auto state = parse_nat_state(kSaved);
  EXPECT_EQ(state.chains, (std::vector<std::string>{"AEGIS_INBOUND", "AEGIS_OUTPUT"}));
  EXPECT_EQ(state.prerouting_jumps, 1);
  EXPECT_EQ(state.output_jumps, 2);
  EXPECT_TRUE(state.installed());
  EXPECT_FALSE(parse_nat_state("*nat\n:PREROUTING ACCEPT [0:0]\n:AEGIS_INBOUNDX - [0:0]\nCOMMIT\n").installed());
}

TEST(RedirectRules, InstallAddsOnlyMissingJumps) {
  const auto text = install_rules(plan_of({}), IpFamily::v4, parse_nat_state(kSaved));
  EXPECT_EQ(text.find("-A PREROUTING"), std::string::npos) << text;
  EXPECT_EQ(text.find("-A OUTPUT"), std::string::npos) << text;
}

TEST(RedirectRules, RemoveDeletesEveryJumpThenChains) {
  EXPECT_EQ(remove_rules(parse_nat_state(kSaved)),
            "*nat\n"
            "-D PREROUTING -p tcp -j AEGIS_INBOUND\n"
            "-D OUTPUT -p tcp -j AEGIS_OUTPUT\n"
            "-D OUTPUT -p tcp -j AEGIS_OUTPUT\n"
            "-F AEGIS_INBOUND\n"
            "-F AEGIS_OUTPUT\n"
            "-X AEGIS_INBOUND\n"
            "-X AEGIS_OUTPUT\n"
            "COMMIT\n");
  EXPECT_EQ(remove_rules(NatState{}), "");
}

}  // namespace
}  // namespace aegis::app
