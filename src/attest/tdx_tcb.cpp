// Collateral evaluation, after Intel's QVL (TcbLevelCheck, TdxModuleCheck,
// QE identity check) in a simplified form that docs/attestation.md, Intel TDX
// spells out: signed documents first, then windows, CRLs, identities, level.
#include "attest/tdx_tcb.h"

#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <cstdio>

#include "attest/tdx_collateral.h"
#include "attest/tdx_ossl.h"
#include "core/hex.h"

namespace aegis::attest::tdx {
namespace {

constexpr std::array<std::string_view, 7> kStatuses = {"UpToDate",
                                                       "SWHardeningNeeded",
                                                       "ConfigurationNeeded",
                                                       "ConfigurationAndSWHardeningNeeded",
                                                       "OutOfDate",
                                                       "OutOfDateConfigurationNeeded",
                                                       "Revoked"};

bool known_status(std::string_view s) {
  return std::find(kStatuses.begin(), kStatuses.end(), s) != kStatuses.end();
}

Failure invalid(std::string detail) { return {"collateral_invalid", std::move(detail)}; }
Failure mismatch(std::string detail) { return {"tcb_mismatch", std::move(detail)}; }

// A signed collateral document: its issuer chain goes to a pinned root, is
// valid and unrevoked at `at`, and its leaf signed the exact JSON bytes.
std::optional<Failure> check_signed(std::string_view chain_pem, std::string_view json,
                                    const Bytes64& sig, std::string_view what, X509_CRL* root_crl,
                                    const TcbInputs& in) {
  const std::string chain_name = std::string(what) + " issuer chain";
  auto chain = load_chain(chain_pem, chain_name);
  if (!chain) return chain.error();
  if (auto f = check_chain_order(*chain, chain_name)) return f;
  if (auto f = check_pinned_root(*chain, in.root_fingerprints, chain_name)) return f;
  if (auto f = verify_chain_at(*chain, in.at, {root_crl}, chain_name)) return f;
  tls::PkeyPtr key(X509_get_pubkey(chain->front().get()));
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(json.data());
  if (!key || !ecdsa_p256_verify(key.get(), std::span(bytes, json.size()), sig)) {
    return Failure{"collateral_signature",
                   std::string(what) + " signature does not verify over its JSON bytes"};
  }
  return std::nullopt;
}

TdxResult<X509CrlPtr> load_crl(const std::vector<std::uint8_t>& der, std::string_view what) {
  const unsigned char* p = der.data();
  X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
  // NOLINTNEXTLINE(cppcoreguidelines-pro-bounds-pointer-arithmetic): d2i's end vs the input's
  if (!crl || p != der.data() + der.size()) return invalid(std::string(what) + " is not a DER CRL");
  return crl;
}

std::optional<std::time_t> to_time_t(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
  return timegm(&tm);
}

struct Window {
  std::time_t from = 0;
  std::time_t until = 0;
  void narrow(std::time_t f, std::time_t u) {
    from = std::max(from, f);
    until = std::min(until, u);
  }
};

std::optional<Failure> check_identity_qe(const QeIdentity& id, const SgxReportBody& r) {
  if (id.id != "TD_QE") return invalid("qe_identity.id is \"" + id.id + "\", not TD_QE");
  if (r.mrsigner != id.mrsigner) return mismatch("QE report mrsigner differs from QE identity");
  if (r.isvprodid != id.isvprodid) return mismatch("QE report isvprodid differs from QE identity");
  if ((r.miscselect & id.miscselect_mask) != (id.miscselect & id.miscselect_mask)) {
    return mismatch("QE report miscselect (masked) differs from QE identity");
  }
  for (std::size_t i = 0; i < r.attributes.size(); ++i) {
    const auto mask = id.attributes_mask.at(i);
    if ((r.attributes.at(i) & mask) != (id.attributes.at(i) & mask)) {
      return mismatch("QE report attributes (masked) differ from QE identity");
    }
  }
  return std::nullopt;
}

std::string isv_status(const std::vector<IsvLevel>& levels, std::uint16_t isvsvn) {
  for (const auto& level : levels) {
    if (isvsvn >= level.isvsvn) return level.status;
  }
  return "OutOfDate";  // below every listed level
}

bool seam_matches(const TdxModuleIdentity& m, const TdReportBody& b) {
  if (b.mrsignerseam != m.mrsigner) return false;
  for (std::size_t i = 0; i < m.attributes.size(); ++i) {
    const auto mask = m.attributes_mask.at(i);
    if ((b.seam_attributes.at(i) & mask) != (m.attributes.at(i) & mask)) {
      return false;
    }
  }
  return true;
}

// TDX module: the seam signer and attributes must match tdxModule; a module
// of major version tee_tcb_svn[1] > 0 must also match tdxModuleIdentities'
// "TDX_<version>" entry, whose levels give the module's status.
TdxResult<std::string> module_status(const TdxTcbInfo& info, const TdReportBody& b) {
  if (!seam_matches(info.module, b)) {
    return mismatch("mrsignerseam/seam_attributes differ from tcb_info.tdxModule");
  }
  const std::uint8_t version = b.tee_tcb_svn[1];
  if (version == 0) return std::string();
  std::array<char, 8> id{};
  (void)std::snprintf(id.data(), id.size(), "TDX_%02X", version);
  for (const auto& m : info.module_identities) {
    if (m.id != id.data()) continue;
    if (!seam_matches(m, b))
      return mismatch(std::string(id.data()) + " identity does not match the quote");
    for (const auto& level : m.levels) {
      if (b.tee_tcb_svn[0] >= level.isvsvn) return level.status;
    }
    return std::string(kUnrecognized);  // below every level of this module identity
  }
  return mismatch(std::string("tcb_info has no module identity ") + id.data());
}

// First level whose SGX components and PCE SVN (from the PCK certificate)
// and TDX components (from tee_tcb_svn; from index 2 when the module
// identity covers indexes 0 and 1) are all at or below the platform's.
// Otherwise null, and `why` names what the lowest level asks for.
const TcbLevel* match_level(const TdxTcbInfo& info, const PckTcb& pck, const Bytes16& tee,
                            std::string& why) {
  const std::size_t tdx_from = tee[1] > 0 ? 2 : 0;
  for (const auto& level : info.levels) {
    why.clear();
    if (pck.pcesvn < level.pcesvn) {
      why = "PCE SVN " + std::to_string(level.pcesvn) + " (platform " + std::to_string(pck.pcesvn) +
            ")";
    }
    for (std::size_t i = 0; why.empty() && i < 16; ++i) {
      const unsigned have = pck.sgx_components.at(i), need = level.sgx_components.at(i);
      if (have < need) {
        why = "SGX component " + std::to_string(i + 1) + " SVN " + std::to_string(need) +
              " (PCK certificate " + std::to_string(have) + ")";
      }
    }
    for (std::size_t i = tdx_from; why.empty() && i < 16; ++i) {
      const unsigned have = tee.at(i), need = level.tdx_components.at(i);
      if (have < need) {
        why = "TDX component " + std::to_string(i + 1) + " SVN " + std::to_string(need) +
              " (tee_tcb_svn " + std::to_string(have) + ")";
      }
    }
    if (why.empty()) return &level;
  }
  if (info.levels.empty()) why = "tcb_info has no TCB levels";
  return nullptr;
}

}  // namespace

std::string combine_tcb_status(const std::string& platform, const std::string& component) {
  if (platform == kUnrecognized || component == kUnrecognized) return std::string(kUnrecognized);
  if (component.empty() || component == "UpToDate") return platform;
  if (component == "Revoked" || platform == "Revoked") return "Revoked";
  if (platform == "UpToDate" || platform == "SWHardeningNeeded") return "OutOfDate";
  if (platform == "ConfigurationNeeded" || platform == "ConfigurationAndSWHardeningNeeded") {
    return "OutOfDateConfigurationNeeded";
  }
  return platform;
}

bool tcb_status_refused(std::string_view status) {
  return status == "Revoked" || status == kUnrecognized;
}

namespace {

// The signed documents, the collateral window at `in.at`, and the PCK chain
// against both CRLs. Sets `window` to the window's text.
std::optional<Failure> check_collateral(const TdxCollateral& c, const TdxTcbInfo& info,
                                        const QeIdentity& qe, X509_CRL* root_crl, X509_CRL* pck_crl,
                                        const TcbInputs& in, std::string& window) {
  Window w{info.issue_date, info.next_update};
  w.narrow(qe.issue_date, qe.next_update);
  for (X509_CRL* crl : {root_crl, pck_crl}) {
    const auto from = to_time_t(X509_CRL_get0_lastUpdate(crl));
    const auto until = to_time_t(X509_CRL_get0_nextUpdate(crl));
    if (!from || !until) return invalid("a CRL lacks thisUpdate or nextUpdate");
    w.narrow(*from, *until);
  }
  window = format_utc_time(w.from) + " .. " + format_utc_time(w.until);
  if (in.at < w.from || in.at >= w.until) {  // as OpenSSL: valid from thisUpdate, not at nextUpdate
    return Failure{"collateral_expired", "evaluation time " + format_utc_time(in.at) +
                                             " is outside the collateral's validity " + window};
  }
  const std::string_view what = "pck_crl issuer chain";
  auto crl_chain = load_chain(c.pck_crl_issuer_chain, what);
  if (!crl_chain) return crl_chain.error();
  if (auto f = check_chain_order(*crl_chain, what)) return f;
  if (auto f = check_pinned_root(*crl_chain, in.root_fingerprints, what)) return f;
  if (auto f = verify_chain_at(*crl_chain, in.at, {root_crl}, what)) return f;
  return verify_chain_at(in.pck_chain, in.at, {pck_crl, root_crl}, "PCK chain with CRLs");
}

// FMSPC, PCE-ID, QE identity, TDX module and TCB level → the statuses.
TdxResult<TcbEvaluation> evaluate_levels(const TdxTcbInfo& info, const QeIdentity& qe,
                                         const TcbInputs& in) {
  if (info.id != "TDX" || info.version != 3) {
    return invalid("tcb_info is \"" + info.id + "\" v" + std::to_string(info.version) +
                   " (only TDX TCB Info v3 is evaluated)");
  }
  if (info.fmspc != in.pck.fmspc) {
    return mismatch("tcb_info FMSPC " + core::to_hex(info.fmspc) + " differs from the PCK's " +
                    core::to_hex(in.pck.fmspc));
  }
  if (info.pce_id != in.pck.pce_id) return mismatch("tcb_info pceId differs from the PCK's");
  for (const auto& level : info.levels) {
    if (!known_status(level.status)) return invalid("unknown tcbStatus \"" + level.status + "\"");
  }
  if (auto f = check_identity_qe(qe, in.quote.qe_report)) return *f;
  TcbEvaluation e;
  e.qe_status = isv_status(qe.levels, in.quote.qe_report.isvsvn);
  if (!known_status(e.qe_status)) return invalid("unknown QE tcbStatus \"" + e.qe_status + "\"");
  auto module = module_status(info, in.quote.body);
  if (!module) return module.error();
  e.module_status = *module;
  if (!e.module_status.empty() && e.module_status != kUnrecognized &&
      !known_status(e.module_status)) {
    return invalid("unknown TDX module tcbStatus \"" + e.module_status + "\"");
  }
  std::string why;
  const TcbLevel* level = match_level(info, in.pck, in.quote.body.tee_tcb_svn, why);
  if (level != nullptr) {
    e.platform_status = level->status;
    e.tcb_date = level->tcb_date;
    e.advisories = level->advisories;
  } else {
    e.platform_status = kUnrecognized;
    e.detail = "no TCB level matches the platform; the lowest asks for " + why;
  }
  e.status =
      combine_tcb_status(combine_tcb_status(e.platform_status, e.module_status), e.qe_status);
  if (e.detail.empty() && e.status == kUnrecognized) e.detail = "TDX module SVN below every level";
  return e;
}

}  // namespace

TdxResult<TcbEvaluation> evaluate_tdx_collateral(std::string_view collateral_json,
                                                 const TcbInputs& in) {
  auto c = parse_tdx_collateral(collateral_json);
  if (!c) return c.error();
  auto root_crl = load_crl(c->root_ca_crl, "root_ca_crl");
  if (!root_crl) return root_crl.error();
  auto pck_crl = load_crl(c->pck_crl, "pck_crl");
  if (!pck_crl) return pck_crl.error();
  if (auto f = check_signed(c->tcb_info_issuer_chain, c->tcb_info, c->tcb_info_signature,
                            "tcb_info", root_crl->get(), in)) {
    return *f;
  }
  if (auto f = check_signed(c->qe_identity_issuer_chain, c->qe_identity, c->qe_identity_signature,
                            "qe_identity", root_crl->get(), in)) {
    return *f;
  }
  auto info = parse_tdx_tcb_info(c->tcb_info);
  if (!info) return info.error();
  auto qe = parse_qe_identity(c->qe_identity);
  if (!qe) return qe.error();
  std::string window;
  if (auto f = check_collateral(*c, *info, *qe, root_crl->get(), pck_crl->get(), in, window)) {
    return *f;
  }
  auto e = evaluate_levels(*info, *qe, in);
  if (!e) return e.error();
  std::string advisories;
  for (const auto& a : e->advisories) advisories += (advisories.empty() ? "" : ",") + a;
  e->fields = {{"tcb_status", e->status},
               {"platform_tcb_status", e->platform_status},
               {"tdx_module_tcb_status", e->module_status.empty() ? "n/a" : e->module_status},
               {"qe_tcb_status", e->qe_status},
               {"tcb_date", e->tcb_date},
               {"advisory_ids", advisories},
               {"collateral_window", window},
               {"tcb_evaluation_data_number", std::to_string(info->tcb_evaluation_data_number)}};
  return e;
}

}  // namespace aegis::attest::tdx
