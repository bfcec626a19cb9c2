// Writing and reading the TEST roots directory: every file is checked before
// the first is written (no half-replaced set), keys are 0600 from their
// first byte (tls/certs_files.h), and roots.json says what the set is for.
#include "attest/simulated_roots.h"

#include <openssl/pem.h>
#include <openssl/rand.h>

#include <array>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "attest/snp_chain.h"
#include "tls/certs_files.h"
#include "tls/certs_keys.h"
#include "tls/x509_build.h"
#include "tls/x509_inspect.h"

namespace aegis::attest {

namespace {

namespace f = simulated_files;
namespace fs = std::filesystem;

constexpr std::string_view kWarning =
    "TEST roots for aegis-flow's simulated attestation evidence. They are not AMD's or Intel's; evidence "
    "chained to them proves nothing about hardware. Never configure them as trusted roots in production.";

struct PendingFile {
  std::string_view name;
  std::string data;
  mode_t mode;
};

tls::CertResult<void> add_cert(std::vector<PendingFile>& out, std::string_view name, X509* cert) {
  auto pem = tls::certificate_pem(cert);
  if (!pem) return pem.error();
  out.push_back({name, std::move(pem.value()), tls::kCertificateMode});
  return {};
}

tls::CertResult<void> add_key(std::vector<PendingFile>& out, std::string_view name, const EVP_PKEY* key) {
  auto pem = tls::private_key_pem(key, name);
  if (!pem) return pem.error();
  out.push_back({name, std::move(pem.value()), tls::kPrivateKeyMode});
  return {};
}

tls::CertResult<tls::PkeyPtr> read_key(const fs::path& file) {
  auto pem = tls::read_file(file);
  if (!pem) return pem.error();
  tls::BioPtr bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  pem_password_cb* no_passphrase = [](char*, int, int, void*) -> int { return 0; };
  tls::PkeyPtr key(bio ? PEM_read_bio_PrivateKey_ex(bio.get(), nullptr, no_passphrase, nullptr, nullptr, nullptr)
                       : nullptr);
  if (!key) return tls::openssl_failure(file.string() + ": reading the TEST private key");
  return key;
}

tls::CertResult<tls::X509Ptr> read_cert(const fs::path& file) {
  auto certs = tls::read_certificates(file);
  if (!certs) return certs.error();
  if (certs->size() != 1)
    return tls::invalid_input(file.string() + ": expected one certificate, found " + std::to_string(certs->size()));
  return std::move(certs->front());
}

tls::CertResult<void> add_snp(std::vector<PendingFile>& out, SimulatedRootFingerprints& fps) {
  auto ark = make_test_ark(kSimulatedRootDays);
  if (!ark) return ark.error();
  auto ask = make_test_ask(ark.value(), kSimulatedRootDays);
  if (!ask) return ask.error();
  auto vcek_key = make_test_vcek_key();
  if (!vcek_key) return vcek_key.error();
  ChipId chip_id{};  // a fresh chip for every root set
  if (RAND_bytes(chip_id.data(), static_cast<int>(chip_id.size())) != 1)
    return tls::openssl_failure("drawing a random chip id");
  auto vcek = issue_test_vcek(ask.value(), vcek_key->get(), SimulatedSnpTcb{}, chip_id, kSimulatedLeafDays);
  if (!vcek) return vcek.error();
  fps.snp_ark_sha256 = cert_sha256(ark->cert.get());
  for (auto r : {add_cert(out, f::kSnpArk, ark->cert.get()), add_key(out, f::kSnpArkKey, ark->key.get()),
                 add_cert(out, f::kSnpAsk, ask->cert.get()), add_key(out, f::kSnpAskKey, ask->key.get()),
                 add_cert(out, f::kSnpVcek, vcek->get()), add_key(out, f::kSnpVcekKey, vcek_key->get())})
    if (!r) return r;
  return {};
}

tls::CertResult<void> add_tdx(std::vector<PendingFile>& out, SimulatedRootFingerprints& fps) {
  auto root = make_test_sgx_root(kSimulatedRootDays);
  if (!root) return root.error();
  auto platform_ca = make_test_pck_platform_ca(root.value(), kSimulatedRootDays);
  if (!platform_ca) return platform_ca.error();
  auto pck = make_test_pck(platform_ca.value(), TestPckPlatform{}, kSimulatedLeafDays);
  if (!pck) return pck.error();
  auto attestation_key = tls::generate_key(tls::KeyType::ecdsa_p256);
  if (!attestation_key) return attestation_key.error();
  fps.tdx_root_sha256 = cert_sha256(root->cert.get());
  for (auto r :
       {add_cert(out, f::kTdxRoot, root->cert.get()), add_key(out, f::kTdxRootKey, root->key.get()),
        add_cert(out, f::kTdxPlatformCa, platform_ca->cert.get()),
        add_key(out, f::kTdxPlatformCaKey, platform_ca->key.get()), add_cert(out, f::kTdxPck, pck->cert.get()),
        add_key(out, f::kTdxPckKey, pck->key.get()), add_key(out, f::kTdxAttestationKey, attestation_key->get())})
    if (!r) return r;
  return {};
}

}  // namespace

tls::CertResult<SimulatedRootFingerprints> generate_simulated_roots(const fs::path& dir, bool force) {
  const std::string_view all[] = {f::kSnpArk,
                                  f::kSnpArkKey,
                                  f::kSnpAsk,
                                  f::kSnpAskKey,
                                  f::kSnpVcek,
                                  f::kSnpVcekKey,
                                  f::kTdxRoot,
                                  f::kTdxRootKey,
                                  f::kTdxPlatformCa,
                                  f::kTdxPlatformCaKey,
                                  f::kTdxPck,
                                  f::kTdxPckKey,
                                  f::kTdxAttestationKey,
                                  f::kRootsJson};
  for (const auto name : all)
    if (auto r = tls::check_may_write(dir / name, force); !r) return r.error();
  SimulatedRootFingerprints fps;
  std::vector<PendingFile> files;
  if (auto r = add_snp(files, fps); !r) return r.error();
  if (auto r = add_tdx(files, fps); !r) return r.error();
  const nlohmann::json roots = {
      {"warning", kWarning}, {"snp_ark_sha256", fps.snp_ark_sha256}, {"tdx_root_sha256", fps.tdx_root_sha256}};
  files.push_back({f::kRootsJson, roots.dump(2) + "\n", tls::kCertificateMode});
  if (auto r = tls::ensure_directory(dir); !r) return r.error();
  for (const auto& file : files)
    if (auto r = tls::write_file(dir / file.name, file.data, file.mode, force); !r) return r.error();
  return fps;
}

tls::CertResult<SimulatedRootFingerprints> read_simulated_fingerprints(const fs::path& dir) {
  const fs::path file = dir / f::kRootsJson;
  auto text = tls::read_file(file);
  if (!text) return text.error();
  const auto json = nlohmann::json::parse(text.value(), nullptr, false);
  if (!json.is_object() || !json.contains("snp_ark_sha256") || !json["snp_ark_sha256"].is_string() ||
      !json.contains("tdx_root_sha256") || !json["tdx_root_sha256"].is_string())
    return tls::invalid_input(file.string() +
                              ": not a roots.json with snp_ark_sha256 and tdx_root_sha256 (regenerate it with "
                              "`aegis-flow attest test-roots --out DIR --force`)");
  return SimulatedRootFingerprints{json["snp_ark_sha256"].get<std::string>(),
                                   json["tdx_root_sha256"].get<std::string>()};
}

tls::CertResult<SimulatedSnpKeys> load_simulated_snp(const fs::path& dir) {
  SimulatedSnpKeys k;
  auto ark = read_cert(dir / f::kSnpArk);
  if (!ark) return ark.error();
  auto ask = read_cert(dir / f::kSnpAsk);
  if (!ask) return ask.error();
  auto ask_key = read_key(dir / f::kSnpAskKey);
  if (!ask_key) return ask_key.error();
  auto vcek = read_cert(dir / f::kSnpVcek);
  if (!vcek) return vcek.error();
  auto vcek_key = read_key(dir / f::kSnpVcekKey);
  if (!vcek_key) return vcek_key.error();
  k.ark = std::move(ark.value());
  k.ask = TestCa{std::move(ask_key.value()), std::move(ask.value())};
  k.vcek = std::move(vcek.value());
  k.vcek_key = std::move(vcek_key.value());
  return k;
}

tls::CertResult<SimulatedTdxKeys> load_simulated_tdx(const fs::path& dir) {
  SimulatedTdxKeys k;
  auto root = read_cert(dir / f::kTdxRoot);
  if (!root) return root.error();
  auto platform_ca = read_cert(dir / f::kTdxPlatformCa);
  if (!platform_ca) return platform_ca.error();
  auto pck = read_cert(dir / f::kTdxPck);
  if (!pck) return pck.error();
  auto pck_key = read_key(dir / f::kTdxPckKey);
  if (!pck_key) return pck_key.error();
  auto attestation_key = read_key(dir / f::kTdxAttestationKey);
  if (!attestation_key) return attestation_key.error();
  k.root = std::move(root.value());
  k.platform_ca = std::move(platform_ca.value());
  k.pck = TestCa{std::move(pck_key.value()), std::move(pck.value())};
  k.attestation_key = std::move(attestation_key.value());
  return k;
}

}  // namespace aegis::attest
