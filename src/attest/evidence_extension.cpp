#include "attest/evidence_extension.h"

#include <cbor.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "tls/ossl_ptr.h"

namespace aegis::attest {
namespace {

struct CborFree {
  // NOLINTNEXTLINE(cppcoreguidelines-owning-memory): libcbor's C API frees through a pointer to the pointer
  void operator()(cbor_item_t* item) const noexcept { cbor_decref(&item); }
};
using CborPtr = std::unique_ptr<cbor_item_t, CborFree>;

struct CborBytesFree {
  // NOLINTNEXTLINE(cppcoreguidelines-owning-memory): cbor_serialize_alloc's buffer is malloc'd
  void operator()(unsigned char* p) const noexcept { std::free(p); }
};

std::vector<std::uint8_t> serialize(const cbor_item_t* item) {
  unsigned char* raw = nullptr;
  std::size_t capacity = 0;
  const std::size_t n = cbor_serialize_alloc(item, &raw, &capacity);
  const std::unique_ptr<unsigned char, CborBytesFree> owned(raw);
  if (n == 0 || !raw) return {};
  const std::span<const unsigned char> bytes(raw, n);
  return {bytes.begin(), bytes.end()};
}

std::array<std::uint8_t, 32> sha256(std::span<const std::uint8_t> data) {
  std::array<std::uint8_t, 32> out{};
  SHA256(data.data(), data.size(), out.data());
  return out;
}

Failure bad(std::string detail) { return {"bad_extension", std::move(detail)}; }

std::span<const std::uint8_t> bytes_of(const cbor_item_t* item) {
  return {cbor_bytestring_handle(item), cbor_bytestring_length(item)};
}

bool is_definite_bytes(const cbor_item_t* item) {
  return cbor_isa_bytestring(item) && cbor_bytestring_is_definite(item);
}

// libcbor's cbor_load allocates a definite array or map for the count its
// header declares before reading any element, so 5 bytes can ask for tens of
// gigabytes (found by fuzz_evidence_extension); and it frees nested items
// recursively. So the header structure is walked first with libcbor's
// streaming decoder, which allocates nothing: every declared count must fit
// in the bytes that remain (each element takes at least one), nesting stays
// shallow, and indefinite lengths (never written by this format) are refused.
constexpr std::size_t kMaxCborDepth = 16;

struct CborWalk {
  std::size_t remaining = 0;   // bytes after the current item's start
  std::uint64_t children = 0;  // of the item just decoded (0: a leaf)
  bool bad = false;
};

void on_container(CborWalk& w, std::uint64_t children) {
  if (children > w.remaining) w.bad = true;
  w.children = children;
}

bool cbor_structure_fits(std::span<const std::uint8_t> data) {
  cbor_callbacks cb = cbor_empty_callbacks;
  cb.array_start = [](void* c, std::size_t n) { on_container(*static_cast<CborWalk*>(c), n); };
  cb.map_start = [](void* c, std::size_t n) {
    on_container(*static_cast<CborWalk*>(c), n > SIZE_MAX / 2 ? SIZE_MAX : 2 * n);
  };
  cb.tag = [](void* c, std::uint64_t) { on_container(*static_cast<CborWalk*>(c), 1); };
  cb.indef_array_start = cb.indef_map_start = cb.byte_string_start = cb.string_start =
      cb.indef_break = [](void* c) { static_cast<CborWalk*>(c)->bad = true; };
  std::vector<std::uint64_t> open;  // children still expected, per open container
  std::size_t pos = 0;
  while (pos < data.size()) {
    CborWalk w;
    w.remaining = data.size() - pos;
    const auto rest = data.subspan(pos);
    const auto r = cbor_stream_decode(rest.data(), rest.size(), &cb, &w);
    if (r.status != CBOR_DECODER_FINISHED || w.bad || r.read == 0) return false;
    pos += r.read;
    if (w.children > 0) {
      if (open.size() >= kMaxCborDepth) return false;
      open.push_back(w.children);
      continue;
    }
    // A leaf (or an empty container) completes its parents as far as it can.
    while (!open.empty() && --open.back() == 0) open.pop_back();
    if (open.empty()) return true;  // one whole top-level item; load() checks what follows
  }
  return false;  // ran out inside a container
}

CborPtr load(std::span<const std::uint8_t> data, std::string_view what, Failure& failure) {
  if (!cbor_structure_fits(data)) {
    failure = bad(std::string(what) + " is not well-formed definite-length CBOR within its " +
                  std::to_string(data.size()) + " bytes");
    return nullptr;
  }
  cbor_load_result result{};
  CborPtr item(cbor_load(data.data(), data.size(), &result));
  if (!item || result.error.code != CBOR_ERR_NONE) {
    failure = bad(std::string(what) + " is not well-formed CBOR (error " + std::to_string(result.error.code) +
                  " at byte " + std::to_string(result.error.position) + ")");
    return nullptr;
  }
  if (result.read != data.size()) {
    failure =
        bad(std::string(what) + " has " + std::to_string(data.size() - result.read) + " bytes after its CBOR item");
    return nullptr;
  }
  return item;
}

// The claims: a map whose "pubkey-hash" is bstr(CBOR [alg, bstr hash]).
std::optional<Failure> decode_claims(std::span<const std::uint8_t> claims, std::array<std::uint8_t, 32>& hash) {
  Failure f;
  const CborPtr map = load(claims, "the claims", f);
  if (!map) return f;
  if (!cbor_isa_map(map.get()) || !cbor_map_is_definite(map.get())) return bad("the claims are not a CBOR map");
  const cbor_pair* pairs = cbor_map_handle(map.get());
  const std::span<const cbor_pair> entries(pairs, cbor_map_size(map.get()));
  const cbor_item_t* value = nullptr;
  for (const auto& p : entries) {
    if (!cbor_isa_string(p.key) || !cbor_string_is_definite(p.key)) continue;
    const std::string_view key(reinterpret_cast<const char*>(cbor_string_handle(p.key)), cbor_string_length(p.key));
    if (key != "pubkey-hash") continue;
    if (value) return bad("the claims hold two \"pubkey-hash\" entries");
    value = p.value;
  }
  if (!value) return bad("the claims have no \"pubkey-hash\"");
  if (!is_definite_bytes(value)) return bad("\"pubkey-hash\" is not a byte string");
  const CborPtr entry = load(bytes_of(value), "\"pubkey-hash\"", f);
  if (!entry) return f;
  if (!cbor_isa_array(entry.get()) || !cbor_array_is_definite(entry.get()) || cbor_array_size(entry.get()) != 2)
    return bad("\"pubkey-hash\" is not [hash-alg-id, hash]");
  const std::span<cbor_item_t* const> pair(cbor_array_handle(entry.get()), 2);
  const cbor_item_t* alg = pair[0];
  const cbor_item_t* digest = pair[1];
  if (!cbor_isa_uint(alg) || cbor_get_int(alg) != kHashAlgSha256)
    return Failure{"unsupported_version", "\"pubkey-hash\" uses a hash algorithm other than SHA-256 (id 1)"};
  if (!is_definite_bytes(digest) || cbor_bytestring_length(digest) != hash.size())
    return bad("\"pubkey-hash\" is not 32 bytes of SHA-256");
  std::copy_n(cbor_bytestring_handle(digest), hash.size(), hash.begin());
  return std::nullopt;
}

}  // namespace

std::vector<std::uint8_t> encode_claims(std::span<const std::uint8_t> spki) {
  const auto digest = sha256(spki);
  const CborPtr entry(cbor_new_definite_array(2));
  if (!entry || !cbor_array_push(entry.get(), CborPtr(cbor_build_uint8(kHashAlgSha256)).get()) ||
      !cbor_array_push(entry.get(), CborPtr(cbor_build_bytestring(digest.data(), digest.size())).get()))
    return {};
  const auto entry_bytes = serialize(entry.get());
  const CborPtr map(cbor_new_definite_map(1));
  if (!map) return {};
  const CborPtr key(cbor_build_string("pubkey-hash"));
  const CborPtr value(cbor_build_bytestring(entry_bytes.data(), entry_bytes.size()));
  if (!key || !value || !cbor_map_add(map.get(), cbor_pair{key.get(), value.get()})) return {};
  return serialize(map.get());
}

ReportData report_data_for(std::span<const std::uint8_t> claims) {
  ReportData out{};
  const auto digest = sha256(claims);
  std::copy(digest.begin(), digest.end(), out.begin());
  return out;
}

std::vector<std::uint8_t> encode_extension(Tee tee, std::span<const std::uint8_t> evidence,
                                           std::span<const std::uint8_t> claims) {
  const CborPtr array(cbor_new_definite_array(2));
  if (!array || !cbor_array_push(array.get(), CborPtr(cbor_build_bytestring(evidence.data(), evidence.size())).get()) ||
      !cbor_array_push(array.get(), CborPtr(cbor_build_bytestring(claims.data(), claims.size())).get()))
    return {};
  const CborPtr tagged(cbor_new_tag(tee == Tee::kTdx ? kTagIntelTeeQuote : kTagSevSnpReport));
  if (!tagged) return {};
  cbor_tag_set_item(tagged.get(), array.get());
  return serialize(tagged.get());
}

std::variant<EvidenceExtension, Failure> decode_extension(std::span<const std::uint8_t> value) {
  if (value.size() > kMaxExtensionBytes)
    return bad("the evidence extension is " + std::to_string(value.size()) + " bytes, more than " +
               std::to_string(kMaxExtensionBytes));
  Failure f;
  const CborPtr root = load(value, "the evidence extension", f);
  if (!root) return f;
  if (!cbor_isa_tag(root.get())) return bad("the evidence extension is not a tagged CBOR item");
  EvidenceExtension out;
  const auto tag = cbor_tag_value(root.get());
  if (tag == kTagIntelTeeQuote) {
    out.tee = Tee::kTdx;
  } else if (tag == kTagSevSnpReport) {
    out.tee = Tee::kSevSnp;
  } else {
    return Failure{"unsupported_version", "evidence format tag " + std::to_string(tag) + " is not " +
                                              std::to_string(kTagIntelTeeQuote) + " (TDX quote) or " +
                                              std::to_string(kTagSevSnpReport) + " (SNP report)"};
  }
  const CborPtr array(cbor_tag_item(root.get()));  // cbor_tag_item adds a reference
  if (!cbor_isa_array(array.get()) || !cbor_array_is_definite(array.get()) || cbor_array_size(array.get()) != 2)
    return bad("the tagged item is not a two-element array [evidence, claims]");
  const std::span<cbor_item_t* const> items(cbor_array_handle(array.get()), 2);
  const cbor_item_t* evidence = items[0];
  const cbor_item_t* claims = items[1];
  if (!is_definite_bytes(evidence) || !is_definite_bytes(claims))
    return bad("evidence and claims must both be byte strings");
  const auto ev = bytes_of(evidence);
  const auto cl = bytes_of(claims);
  out.evidence.assign(ev.begin(), ev.end());
  out.claims.assign(cl.begin(), cl.end());
  if (auto failure = decode_claims(out.claims, out.pubkey_hash)) return *failure;
  return out;
}

std::optional<std::vector<std::uint8_t>> find_extension(X509* cert) {
  const tls::OsslPtr<ASN1_OBJECT, ASN1_OBJECT_free> oid(OBJ_txt2obj(kEvidenceExtensionOid, 1));
  if (!cert || !oid) return std::nullopt;
  const int at = X509_get_ext_by_OBJ(cert, oid.get(), -1);
  if (at < 0) return std::nullopt;
  const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(X509_get_ext(cert, at));
  if (!data) return std::nullopt;
  const std::span<const unsigned char> bytes(ASN1_STRING_get0_data(data),
                                             static_cast<std::size_t>(std::max(ASN1_STRING_length(data), 0)));
  return std::vector<std::uint8_t>(bytes.begin(), bytes.end());
}

bool add_extension(X509* cert, std::span<const std::uint8_t> value) {
  const tls::OsslPtr<ASN1_OBJECT, ASN1_OBJECT_free> oid(OBJ_txt2obj(kEvidenceExtensionOid, 1));
  const tls::OsslPtr<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free> data(ASN1_OCTET_STRING_new());
  if (!oid || !data || value.size() > kMaxExtensionBytes ||
      !ASN1_OCTET_STRING_set(data.get(), value.data(), static_cast<int>(value.size())))
    return false;
  const tls::X509ExtensionPtr ext(X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), 0, data.get()));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

std::vector<std::uint8_t> spki_der(X509* cert) {
  X509_PUBKEY* key = cert ? X509_get_X509_PUBKEY(cert) : nullptr;
  if (!key) return {};
  unsigned char* raw = nullptr;
  const int n = i2d_X509_PUBKEY(key, &raw);
  const tls::OpensslBytesPtr<unsigned char> owned(raw);
  if (n <= 0 || !raw) return {};
  const std::span<const unsigned char> bytes(raw, static_cast<std::size_t>(n));
  return {bytes.begin(), bytes.end()};
}

std::optional<Failure> check_binding(const EvidenceExtension& ext, std::span<const std::uint8_t> cert_spki,
                                     std::span<const std::uint8_t> report_data) {
  if (sha256(cert_spki) != ext.pubkey_hash)
    return Failure{"key_binding",
                   "the evidence's pubkey-hash is not the "
                   "SHA-256 of this certificate's public key"};
  const auto expected = report_data_for(ext.claims);
  if (report_data.size() != expected.size() || !std::equal(expected.begin(), expected.end(), report_data.begin()))
    return Failure{"report_data_binding", "the evidence's report data is not SHA-256(claims) || 32 zero bytes"};
  return std::nullopt;
}

}  // namespace aegis::attest
