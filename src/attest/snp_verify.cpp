// The SEV-SNP verification pipeline: parse, chain to a trusted ARK, check
// the report signature with the leaf's key, then bind the leaf's TCB and
// hwID to the report. Each step's refusal is a distinct Failure code.
#include "attest/snp_verify.h"

#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "attest/snp_cert_table.h"
#include "attest/snp_chain.h"
#include "attest/snp_vcek.h"
#include "core/hex.h"

namespace aegis::attest {

namespace {

std::string hex_u64(std::uint64_t v) { return fmt::format("{:#x}", v); }

void add_tcb(Claims& c, const std::string& name, std::uint64_t raw, SnpProduct product) {
  const SnpTcb t = decode_tcb(raw, product);
  c.fields.emplace_back(name, t.hex());
  if (product == SnpProduct::kTurin) c.fields.emplace_back(name + ".fmc", std::to_string(t.fmc));
  c.fields.emplace_back(name + ".bootloader", std::to_string(t.bootloader));
  c.fields.emplace_back(name + ".tee", std::to_string(t.tee));
  c.fields.emplace_back(name + ".snp", std::to_string(t.snp));
  c.fields.emplace_back(name + ".microcode", std::to_string(t.microcode));
}

std::string signing_key_name(std::uint8_t k) {
  switch (k) {
    case static_cast<std::uint8_t>(SnpSigningKey::kVcek):
      return "vcek";
    case static_cast<std::uint8_t>(SnpSigningKey::kVlek):
      return "vlek";
    case static_cast<std::uint8_t>(SnpSigningKey::kNone):
      return "none";
    default:
      return std::to_string(k);
  }
}

std::string version_triple(std::uint8_t major, std::uint8_t minor, std::uint8_t build) {
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(build);
}

}  // namespace

Claims snp_claims(const SnpReport& r, SnpProduct product) {
  Claims c;
  c.tee = Tee::kSevSnp;
  c.measurement.assign(r.measurement.begin(), r.measurement.end());
  c.report_data.assign(r.report_data.begin(), r.report_data.end());
  c.debug = r.debug();
  auto& f = c.fields;
  f.emplace_back("version", std::to_string(r.version));
  f.emplace_back("product", std::string(product_name(product)));
  f.emplace_back("guest_svn", std::to_string(r.guest_svn));
  f.emplace_back("policy", hex_u64(r.policy));
  f.emplace_back("vmpl", std::to_string(r.vmpl));
  f.emplace_back("signature_algo", std::to_string(r.signature_algo));
  f.emplace_back("platform_info", hex_u64(r.platform_info));
  f.emplace_back("signing_key", signing_key_name(r.signing_key));
  f.emplace_back("author_key_en", r.author_key_en ? "1" : "0");
  f.emplace_back("mask_chip_key", r.mask_chip_key ? "1" : "0");
  f.emplace_back("family_id", core::to_hex(r.family_id));
  f.emplace_back("image_id", core::to_hex(r.image_id));
  f.emplace_back("host_data", core::to_hex(r.host_data));
  f.emplace_back("id_key_digest", core::to_hex(r.id_key_digest));
  f.emplace_back("author_key_digest", core::to_hex(r.author_key_digest));
  f.emplace_back("report_id", core::to_hex(r.report_id));
  f.emplace_back("report_id_ma", core::to_hex(r.report_id_ma));
  add_tcb(c, "reported_tcb", r.reported_tcb, product);
  add_tcb(c, "current_tcb", r.current_tcb, product);
  add_tcb(c, "committed_tcb", r.committed_tcb, product);
  add_tcb(c, "launch_tcb", r.launch_tcb, product);
  f.emplace_back("chip_id", core::to_hex(r.chip_id));
  f.emplace_back("current_version", version_triple(r.current_major, r.current_minor, r.current_build));
  f.emplace_back("committed_version", version_triple(r.committed_major, r.committed_minor, r.committed_build));
  if (r.version >= 3) {
    f.emplace_back("cpuid_fam_id", hex_u64(r.cpuid_fam_id));
    f.emplace_back("cpuid_mod_id", hex_u64(r.cpuid_mod_id));
    f.emplace_back("cpuid_step", hex_u64(r.cpuid_step));
  }
  if (r.version >= 5) {
    f.emplace_back("launch_mit_vector", hex_u64(r.launch_mit_vector));
    f.emplace_back("current_mit_vector", hex_u64(r.current_mit_vector));
  }
  return c;
}

std::optional<Failure> check_report_signature(std::span<const std::uint8_t> report_bytes, const SnpReport& report,
                                              EVP_PKEY* key) {
  std::array<char, 32> group{};
  std::size_t group_len = 0;
  if (key == nullptr || !EVP_PKEY_is_a(key, "EC") ||
      EVP_PKEY_get_group_name(key, group.data(), group.size(), &group_len) != 1 ||
      std::string_view(group.data(), group_len) != "secp384r1") {
    ERR_clear_error();
    return Failure{"unsupported_key_type", "the VCEK/VLEK key is not EC P-384"};
  }
  if (report_bytes.size() < kSnpSignedSize) return Failure{"truncated", "report shorter than its signed part"};
  tls::BignumPtr r(BN_lebin2bn(report.signature_r.data(), static_cast<int>(report.signature_r.size()), nullptr));
  tls::BignumPtr s(BN_lebin2bn(report.signature_s.data(), static_cast<int>(report.signature_s.size()), nullptr));
  tls::EcdsaSigPtr sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    ERR_clear_error();
    return Failure{"bad_signature", "could not build the ECDSA signature from r and s"};
  }
  static_cast<void>(r.release());  // owned by `sig` since ECDSA_SIG_set0 succeeded
  static_cast<void>(s.release());
  unsigned char* der_raw = nullptr;
  const int der_len = i2d_ECDSA_SIG(sig.get(), &der_raw);
  const tls::OpensslBytesPtr<unsigned char> der(der_raw);
  const tls::MdCtxPtr ctx(EVP_MD_CTX_new());
  const auto signed_part = report_bytes.first(kSnpSignedSize);
  const bool ok = der && der_len > 0 && ctx &&
                  EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha384(), nullptr, key) == 1 &&
                  EVP_DigestVerify(ctx.get(), der.get(), static_cast<std::size_t>(der_len), signed_part.data(),
                                   signed_part.size()) == 1;
  ERR_clear_error();
  if (!ok)
    return Failure{"bad_signature", "the report's ECDSA P-384/SHA-384 signature does not verify under the VCEK/VLEK"};
  return std::nullopt;
}

Verdict verify_snp(std::span<const std::uint8_t> report, const SnpVerifyInputs& inputs) {
  Verdict v;
  auto fail = [&v](Failure f) {
    v.failure = std::move(f);
    return v;
  };
  const auto parsed = parse_snp_report(report);
  if (!parsed) return fail(parsed.error());
  const SnpReport& r = parsed.value();
  const bool simulated = !inputs.test_roots.empty();
  v.claims = snp_claims(r, r.product());
  v.claims.simulated = simulated;
  if (r.signature_algo != kSnpSigAlgoEcdsaP384Sha384)
    return fail({"unsupported_key_type", "SIGNATURE_ALGO " + std::to_string(r.signature_algo) +
                                             " (only 1, ECDSA P-384 with SHA-384, is defined)"});
  const bool vlek = r.signing_key == static_cast<std::uint8_t>(SnpSigningKey::kVlek);
  if (!vlek && r.signing_key != static_cast<std::uint8_t>(SnpSigningKey::kVcek))
    return fail({"unsupported_key_type", "KEY_INFO.SIGNING_KEY " + std::to_string(r.signing_key) +
                                             " (the report is not signed by a VCEK or VLEK)"});

  auto chain = load_snp_chain({inputs.vcek, inputs.ask, inputs.ark, inputs.cert_chain});
  if (!chain) return fail(chain.error());
  auto pin_product = verify_snp_chain(chain.value(), inputs.test_roots);
  if (!pin_product) return fail(pin_product.error());
  if (auto f = check_validity(chain.value(), inputs.at.value_or(std::time(nullptr)))) return fail(*f);
  X509* leaf = chain->leaf.get();
  const std::string cn = common_name(leaf);
  if ((vlek && cn == "SEV-VCEK") || (!vlek && cn == "SEV-VLEK"))
    return fail({"bad_certificate", "the report says it is signed by a " + std::string(vlek ? "VLEK" : "VCEK") +
                                        " but the certificate given is CN=" + cn});

  if (auto f = check_report_signature(report, r, X509_get0_pubkey(leaf))) return fail(*f);

  auto cert_tcb = read_cert_tcb(leaf);
  if (!cert_tcb) return fail(cert_tcb.error());
  SnpProduct product = r.product();
  if (product == SnpProduct::kUnknown) product = pin_product.value();
  if (product == SnpProduct::kUnknown) product = product_from_name(cert_tcb->product_name);
  v.claims = snp_claims(r, product);
  v.claims.simulated = simulated;
  if (auto f = match_tcb(r, cert_tcb.value(), product, !vlek)) return fail(*f);
  v.verified = true;
  return v;
}

AttestResult<SnpVerifyInputs> inputs_from_cert_table(std::span<const std::uint8_t> table, bool want_vlek) {
  auto entries = parse_cert_table(table);
  if (!entries) return entries.error();
  SnpVerifyInputs in;
  auto as_string = [](std::span<const std::uint8_t> der) { return std::string(der.begin(), der.end()); };
  for (const auto& e : entries.value()) {
    switch (e.kind) {
      case SnpCertKind::kVcek:
        if (!want_vlek) in.vcek = as_string(e.der);
        break;
      case SnpCertKind::kVlek:
        if (want_vlek) in.vcek = as_string(e.der);
        break;
      case SnpCertKind::kAsk:
        in.ask = as_string(e.der);
        break;
      case SnpCertKind::kArk:
        in.ark = as_string(e.der);
        break;
      case SnpCertKind::kOther:
        break;
    }
  }
  return in;
}

}  // namespace aegis::attest
