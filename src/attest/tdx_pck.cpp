// Reads the SGX extension of a PCK certificate with OpenSSL's DER decoder
// (d2i_ASN1_SEQUENCE_ANY): a SEQUENCE of {OID, value} pairs, the TCB one
// itself a SEQUENCE of {OID, INTEGER} pairs (Intel PCK Certificate spec).
#include "attest/tdx_pck.h"

#include <openssl/objects.h>

#include <algorithm>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "attest/tdx_ossl.h"

namespace aegis::attest::tdx {
namespace {

constexpr std::string_view kSgxExtOid = "1.2.840.113741.1.13.1";

Failure bad(std::string detail) {
  return {"bad_certificate", "PCK certificate SGX extension: " + std::move(detail)};
}

Asn1SequenceAnyPtr decode_sequence(const ASN1_STRING* der) {
  if (der == nullptr) return nullptr;
  const unsigned char* p = ASN1_STRING_get0_data(der);
  const long len = ASN1_STRING_length(der);
  Asn1SequenceAnyPtr seq(d2i_ASN1_SEQUENCE_ANY(nullptr, &p, len));
  // NOLINTNEXTLINE(cppcoreguidelines-pro-bounds-pointer-arithmetic): d2i's end vs the input's
  if (seq && p != ASN1_STRING_get0_data(der) + len) return nullptr;  // trailing bytes
  return seq;
}

// One {OID, value} pair: the OID's dotted text and the value.
struct Entry {
  std::string oid;
  const ASN1_TYPE* value = nullptr;
};

std::optional<Entry> entry_of(const ASN1_TYPE* item, Asn1SequenceAnyPtr& holder) {
  if (item == nullptr || item->type != V_ASN1_SEQUENCE) return std::nullopt;
  holder = decode_sequence(item->value.sequence);
  if (!holder || sk_ASN1_TYPE_num(holder.get()) != 2) return std::nullopt;
  const ASN1_TYPE* key = sk_ASN1_TYPE_value(holder.get(), 0);
  if (key->type != V_ASN1_OBJECT) return std::nullopt;
  std::array<char, 80> text{};
  const int n = OBJ_obj2txt(text.data(), static_cast<int>(text.size()), key->value.object, 1);
  if (n <= 0 || n >= static_cast<int>(text.size())) return std::nullopt;
  return Entry{std::string(text.data(), static_cast<std::size_t>(n)),
               sk_ASN1_TYPE_value(holder.get(), 1)};
}

template <std::size_t N>
bool octets(const ASN1_TYPE* v, std::array<std::uint8_t, N>& out) {
  if (v->type != V_ASN1_OCTET_STRING || ASN1_STRING_length(v->value.octet_string) != N) {
    return false;
  }
  const std::span<const unsigned char> src(ASN1_STRING_get0_data(v->value.octet_string), N);
  std::copy(src.begin(), src.end(), out.begin());
  return true;
}

std::optional<std::int64_t> integer(const ASN1_TYPE* v) {
  std::int64_t out = 0;
  if (v->type != V_ASN1_INTEGER || ASN1_INTEGER_get_int64(&out, v->value.integer) != 1) {
    return std::nullopt;
  }
  return out;
}

// "1".."16" → 1..16; anything else → 0.
int component_number(std::string_view s) {
  if (s.empty() || s.size() > 2) return 0;
  int v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return 0;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::optional<Failure> read_tcb(const ASN1_TYPE* v, PckTcb& tcb) {
  if (v->type != V_ASN1_SEQUENCE) return bad("TCB is not a SEQUENCE");
  auto items = decode_sequence(v->value.sequence);
  if (!items) return bad("TCB is not valid DER");
  const std::string prefix = std::string(kSgxExtOid) + ".2.";
  unsigned seen = 0;
  for (int i = 0; i < sk_ASN1_TYPE_num(items.get()); ++i) {
    Asn1SequenceAnyPtr holder;
    auto e = entry_of(sk_ASN1_TYPE_value(items.get(), i), holder);
    if (!e || !e->oid.starts_with(prefix)) return bad("malformed TCB entry");
    const std::string index = e->oid.substr(prefix.size());
    if (index == "18") {
      if (!octets(e->value, tcb.cpusvn)) return bad("CPUSVN is not 16 octets");
      continue;
    }
    const auto value = integer(e->value);
    if (!value || *value < 0)
      return bad("TCB component " + index + " is not a non-negative INTEGER");
    if (index == "17") {
      if (*value > 0xffff) return bad("PCESVN out of range");
      tcb.pcesvn = static_cast<std::uint16_t>(*value);
      seen |= 1u << 16;
      continue;
    }
    const int n = component_number(index);
    if (n < 1 || n > 16 || *value > 0xff) return bad("unknown TCB component " + index);
    tcb.sgx_components.at(static_cast<std::size_t>(n - 1)) = static_cast<std::uint8_t>(*value);
    seen |= 1u << (n - 1);
  }
  if (seen != 0x1ffff) return bad("TCB lacks some of comp01..16 SVN and PCESVN");
  return std::nullopt;
}

}  // namespace

TdxResult<PckTcb> parse_pck_extension(X509* pck_leaf) {
  tls::OsslPtr<ASN1_OBJECT, ASN1_OBJECT_free> oid(OBJ_txt2obj(kSgxExtOid.data(), 1));
  if (!oid) return bad("OpenSSL could not build the OID");
  const int pos = X509_get_ext_by_OBJ(pck_leaf, oid.get(), -1);
  if (pos < 0) return bad("missing (not a PCK certificate?)");
  auto top = decode_sequence(X509_EXTENSION_get_data(X509_get_ext(pck_leaf, pos)));
  if (!top) return bad("not valid DER");
  PckTcb tcb;
  bool have_tcb = false, have_fmspc = false, have_pceid = false;
  const std::string prefix = std::string(kSgxExtOid) + ".";
  for (int i = 0; i < sk_ASN1_TYPE_num(top.get()); ++i) {
    Asn1SequenceAnyPtr holder;
    auto e = entry_of(sk_ASN1_TYPE_value(top.get(), i), holder);
    if (!e) return bad("malformed entry");
    if (e->oid == prefix + "2") {
      if (auto failure = read_tcb(e->value, tcb)) return std::move(*failure);
      have_tcb = true;
    } else if (e->oid == prefix + "3") {
      if (!octets(e->value, tcb.pce_id)) return bad("PCE-ID is not 2 octets");
      have_pceid = true;
    } else if (e->oid == prefix + "4") {
      if (!octets(e->value, tcb.fmspc)) return bad("FMSPC is not 6 octets");
      have_fmspc = true;
    }
  }
  if (!have_tcb || !have_fmspc || !have_pceid) return bad("TCB, PCE-ID or FMSPC missing");
  return tcb;
}

}  // namespace aegis::attest::tdx
