// Collateral JSON → structs. nlohmann parses without exceptions; every field
// is type- and range-checked before use, and the first problem is reported
// as collateral_invalid naming the document and the field.
#include "attest/tdx_collateral.h"

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/hex.h"

namespace aegis::attest::tdx {
namespace {

using Json = nlohmann::json;
constexpr std::size_t kMaxLevels = 256;

// Reads named fields of one JSON object, remembering the first failure.
class JsonFields {
 public:
  JsonFields(const Json& obj, std::string doc) : obj_(obj), doc_(std::move(doc)) {
    if (!obj_.is_object()) fail("", "is not a JSON object");
  }

  const Json* get(const std::string& key, bool (Json::*is)() const noexcept,
                  std::string_view kind) {
    if (!ok_) return nullptr;
    const auto it = obj_.find(key);
    if (it == obj_.end()) return fail(key, "is missing");
    if (!((*it).*is)()) return fail(key, std::string("is not ") + std::string(kind));
    return &*it;
  }
  bool has(const std::string& key) const { return obj_.is_object() && obj_.contains(key); }

  std::string str(const std::string& key) {
    const Json* j = get(key, &Json::is_string, "a string");
    return j ? j->get<std::string>() : std::string();
  }
  std::int64_t integer(const std::string& key, std::int64_t lo, std::int64_t hi) {
    const Json* j = get(key, &Json::is_number_integer, "an integer");
    if (!j) return 0;
    const auto v =
        j->is_number_unsigned() && j->get<std::uint64_t>() > static_cast<std::uint64_t>(hi)
            ? hi + 1
            : j->get<std::int64_t>();
    if (v < lo || v > hi) {
      fail(key, "is out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
      return 0;
    }
    return v;
  }
  template <std::size_t N>
  void hex(const std::string& key, std::array<std::uint8_t, N>& out) {
    const auto bytes = hex_bytes(key);
    if (!ok_) return;
    if (bytes.size() != N) {
      fail(key, "must be " + std::to_string(N) + " bytes of hex");
      return;
    }
    std::copy(bytes.begin(), bytes.end(), out.begin());
  }
  std::vector<std::uint8_t> hex_bytes(const std::string& key) {
    const std::string text = str(key);
    if (!ok_) return {};
    auto bytes = core::from_hex(text);
    if (!bytes) fail(key, "is not hex");
    return bytes ? std::move(*bytes) : std::vector<std::uint8_t>{};
  }
  std::time_t time(const std::string& key) {
    const std::string text = str(key);
    if (!ok_) return 0;
    const auto t = parse_utc_time(text);
    if (!t) fail(key, "is not a UTC time like 2025-06-19T10:16:03Z");
    return t.value_or(0);
  }
  const Json* array(const std::string& key) {
    const Json* j = get(key, &Json::is_array, "an array");
    if (j && j->size() > kMaxLevels) return fail(key, "has too many entries");
    return j;
  }
  std::nullptr_t fail(const std::string& key, const std::string& what) {
    if (ok_) failure_ = {"collateral_invalid", doc_ + (key.empty() ? "" : "." + key) + " " + what};
    ok_ = false;
    return nullptr;
  }
  void absorb(const JsonFields& inner) {
    if (ok_ && !inner.ok_) {
      ok_ = false;
      failure_ = inner.failure_;
    }
  }
  bool ok() const { return ok_; }
  const Failure& failure() const { return failure_; }

 private:
  const Json& obj_;
  std::string doc_;
  bool ok_ = true;
  Failure failure_;
};

std::vector<IsvLevel> isv_levels(JsonFields& f, const std::string& doc) {
  std::vector<IsvLevel> out;
  const Json* levels = f.array("tcbLevels");
  if (!levels) return out;
  for (std::size_t i = 0; i < levels->size() && f.ok(); ++i) {
    JsonFields lf((*levels)[i], doc + ".tcbLevels[" + std::to_string(i) + "]");
    IsvLevel level;
    if (const Json* tcb = lf.get("tcb", &Json::is_object, "an object")) {
      JsonFields tf(*tcb, doc + ".tcbLevels[" + std::to_string(i) + "].tcb");
      level.isvsvn = static_cast<std::uint16_t>(tf.integer("isvsvn", 0, 0xffff));
      lf.absorb(tf);
    }
    level.status = lf.str("tcbStatus");
    f.absorb(lf);
    out.push_back(std::move(level));
  }
  return out;
}

void components(JsonFields& f, const std::string& key, std::array<std::uint8_t, 16>& out,
                const std::string& doc) {
  const Json* list = f.array(key);
  if (!list) return;
  if (list->size() != out.size()) {
    f.fail(key, "must have 16 entries");
    return;
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::string name = doc;
    name += "." + key + "[" + std::to_string(i) + "]";
    JsonFields cf((*list)[i], name);
    out.at(i) = static_cast<std::uint8_t>(cf.integer("svn", 0, 255));
    f.absorb(cf);
  }
}

TdxModuleIdentity module_identity(JsonFields& f, bool with_levels, const std::string& doc) {
  TdxModuleIdentity m;
  if (with_levels) m.id = f.str("id");
  f.hex("mrsigner", m.mrsigner);
  f.hex("attributes", m.attributes);
  f.hex("attributesMask", m.attributes_mask);
  if (with_levels) m.levels = isv_levels(f, doc);
  return m;
}

}  // namespace

std::optional<std::time_t> parse_utc_time(std::string_view t) {
  // Exactly YYYY-MM-DDTHH:MM:SSZ.
  if (t.size() != 20 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' ||
      t[16] != ':' || t[19] != 'Z') {
    return std::nullopt;
  }
  auto num = [&](std::size_t pos, std::size_t len) -> int {
    int v = 0;
    for (const char c : t.substr(pos, len)) {
      if (c < '0' || c > '9') return -1;
      v = v * 10 + (c - '0');
    }
    return v;
  };
  const int y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2),
            s = num(17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59) {
    return std::nullopt;
  }
  using namespace std::chrono;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  const auto tp = sys_days{ymd} + hours{h} + minutes{mi} + seconds{s};
  return static_cast<std::time_t>(tp.time_since_epoch().count());
}

std::string format_utc_time(std::time_t t) {
  using namespace std::chrono;
  const sys_seconds tp{seconds{t}};
  const auto days = floor<std::chrono::days>(tp);
  const year_month_day ymd{days};
  const hh_mm_ss hms{tp - days};
  std::array<char, 96> buf{};
  (void)std::snprintf(buf.data(), buf.size(), "%04d-%02u-%02uT%02d:%02d:%02dZ", int(ymd.year()),
                      unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
                      int(hms.minutes().count()), int(hms.seconds().count()));
  return buf.data();
}

TdxResult<TdxCollateral> parse_tdx_collateral(std::string_view json) {
  const Json doc = Json::parse(json.begin(), json.end(), nullptr, false);
  if (doc.is_discarded()) return Failure{"collateral_invalid", "collateral is not valid JSON"};
  JsonFields f(doc, "collateral");
  TdxCollateral c;
  c.tcb_info_issuer_chain = f.str("tcb_info_issuer_chain");
  c.tcb_info = f.str("tcb_info");
  f.hex("tcb_info_signature", c.tcb_info_signature);
  c.qe_identity_issuer_chain = f.str("qe_identity_issuer_chain");
  c.qe_identity = f.str("qe_identity");
  f.hex("qe_identity_signature", c.qe_identity_signature);
  c.pck_crl_issuer_chain = f.str("pck_crl_issuer_chain");
  c.root_ca_crl = f.hex_bytes("root_ca_crl");
  c.pck_crl = f.hex_bytes("pck_crl");
  if (!f.ok()) return f.failure();
  return c;
}

TdxResult<TdxTcbInfo> parse_tdx_tcb_info(std::string_view json) {
  const Json doc = Json::parse(json.begin(), json.end(), nullptr, false);
  if (doc.is_discarded()) return Failure{"collateral_invalid", "tcb_info is not valid JSON"};
  JsonFields f(doc, "tcb_info");
  TdxTcbInfo t;
  t.id = f.str("id");
  t.version = static_cast<int>(f.integer("version", 0, 1000));
  t.issue_date = f.time("issueDate");
  t.next_update = f.time("nextUpdate");
  f.hex("fmspc", t.fmspc);
  f.hex("pceId", t.pce_id);
  t.tcb_type = static_cast<int>(f.integer("tcbType", 0, 1000));
  t.tcb_evaluation_data_number = static_cast<int>(f.integer("tcbEvaluationDataNumber", 0, 1 << 30));
  if (const Json* m = f.get("tdxModule", &Json::is_object, "an object")) {
    JsonFields mf(*m, "tcb_info.tdxModule");
    t.module = module_identity(mf, false, "tcb_info.tdxModule");
    f.absorb(mf);
  }
  if (f.has("tdxModuleIdentities")) {
    const Json* ids = f.array("tdxModuleIdentities");
    for (std::size_t i = 0; ids && i < ids->size() && f.ok(); ++i) {
      const std::string doc_name = "tcb_info.tdxModuleIdentities[" + std::to_string(i) + "]";
      JsonFields mf((*ids)[i], doc_name);
      t.module_identities.push_back(module_identity(mf, true, doc_name));
      f.absorb(mf);
    }
  }
  const Json* levels = f.array("tcbLevels");
  for (std::size_t i = 0; levels && i < levels->size() && f.ok(); ++i) {
    const std::string doc_name = "tcb_info.tcbLevels[" + std::to_string(i) + "]";
    JsonFields lf((*levels)[i], doc_name);
    TcbLevel level;
    if (const Json* tcb = lf.get("tcb", &Json::is_object, "an object")) {
      JsonFields tf(*tcb, doc_name + ".tcb");
      components(tf, "sgxtcbcomponents", level.sgx_components, doc_name + ".tcb");
      level.pcesvn = static_cast<std::uint16_t>(tf.integer("pcesvn", 0, 0xffff));
      components(tf, "tdxtcbcomponents", level.tdx_components, doc_name + ".tcb");
      lf.absorb(tf);
    }
    level.status = lf.str("tcbStatus");
    level.tcb_date = lf.str("tcbDate");
    if (lf.has("advisoryIDs")) {
      const Json* ids = lf.array("advisoryIDs");
      for (std::size_t k = 0; ids && k < ids->size(); ++k) {
        if ((*ids)[k].is_string()) level.advisories.push_back((*ids)[k].get<std::string>());
      }
    }
    f.absorb(lf);
    t.levels.push_back(std::move(level));
  }
  if (!f.ok()) return f.failure();
  return t;
}

TdxResult<QeIdentity> parse_qe_identity(std::string_view json) {
  const Json doc = Json::parse(json.begin(), json.end(), nullptr, false);
  if (doc.is_discarded()) return Failure{"collateral_invalid", "qe_identity is not valid JSON"};
  JsonFields f(doc, "qe_identity");
  QeIdentity q;
  q.id = f.str("id");
  q.version = static_cast<int>(f.integer("version", 0, 1000));
  q.issue_date = f.time("issueDate");
  q.next_update = f.time("nextUpdate");
  std::array<std::uint8_t, 4> misc{}, misc_mask{};
  f.hex("miscselect", misc);
  f.hex("miscselectMask", misc_mask);
  // Written as a big-endian hex number; the QE report holds it little-endian.
  auto be32 = [](const std::array<std::uint8_t, 4>& b) {
    return std::uint32_t{b[0]} << 24 | std::uint32_t{b[1]} << 16 | std::uint32_t{b[2]} << 8 | b[3];
  };
  q.miscselect = be32(misc);
  q.miscselect_mask = be32(misc_mask);
  f.hex("attributes", q.attributes);
  f.hex("attributesMask", q.attributes_mask);
  f.hex("mrsigner", q.mrsigner);
  q.isvprodid = static_cast<std::uint16_t>(f.integer("isvprodid", 0, 0xffff));
  q.levels = isv_levels(f, "qe_identity");
  if (!f.ok()) return f.failure();
  return q;
}

}  // namespace aegis::attest::tdx
