#include "config/loader.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <variant>

#include <yaml-cpp/eventhandler.h>

#include "config/sections.h"

namespace aegis::config {
namespace {

void parse_document(const YAML::Node& root, detail::ParseContext& ctx, Config& config) {
  const detail::Object top(root, YAML::Mark::null_mark(), "config file", "",
                           {"node", "admin", "access_log", "drain_timeout", "process", "listeners", "route_configs",
                            "clusters", "services", "carbon", "attestation"},
                           ctx.diags);
  if (!top.is_mapping()) return;
  detail::parse_node(top, config);
  detail::parse_admin(top, config);
  detail::parse_access_log(top, config);
  detail::parse_process(top, config);
  top.read_duration("drain_timeout", config.drain_timeout);
  detail::parse_attestation_trust(top, ctx, config);
  detail::parse_listeners(top, ctx, config);
  detail::parse_route_configs(top, config);
  detail::parse_clusters(top, ctx, config);
  detail::parse_services(top, ctx, config);
  detail::parse_carbon(top, ctx, config);
  detail::validate_across_sections(config, ctx.diags);
}

// Where each document's root node starts (what Node::Mark() gives), without
// building the nodes.
struct RootMarks final : YAML::EventHandler {
  std::vector<YAML::Mark> marks;
  bool want_root = false;
  void root(const YAML::Mark& m) {
    if (!want_root) return;
    marks.push_back(m);
    want_root = false;
  }
  void OnDocumentStart(const YAML::Mark&) override { want_root = true; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { root(m); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { root(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t, const std::string&) override { root(m); }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    root(m);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    root(m);
  }
  void OnMapEnd() override {}
};

}  // namespace

std::string Diagnostic::str() const {
  if (line <= 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

LoadResult load_from_string(std::string_view yaml, const std::string& source) {
  return load_from_string(yaml, source, LoadOptions{});
}

namespace {

// One YAML document through `parse` (root node, context), every problem
// collected as a Diagnostic.
std::vector<Diagnostic> parse_yaml(std::string_view yaml, const std::string& source, const LoadOptions& options,
                                   const std::function<void(const YAML::Node&, detail::ParseContext&)>& parse) {
  detail::Diagnostics diags(source);
  const HostResolver resolve = options.resolve ? options.resolve : HostResolver(&resolve_with_getaddrinfo);
  detail::ParseContext ctx{diags, resolve, {}, options.base_dir, {}};
  try {
    // Not YAML::LoadAll: yaml-cpp 0.7's loops forever on input such as
    // ",a: b", adding a null document per turn until memory runs out
    // (jbeder/yaml-cpp#1040, fixed upstream in 0.8.0 by PR #1319; found by
    // the config_yaml fuzz target). Two documents at most are looked at.
    const std::string text(yaml);
    std::istringstream in(text);
    YAML::Parser parser(in);
    RootMarks roots;
    while (roots.marks.size() < 2 && parser.HandleNextDocument(roots)) {
    }
    if (roots.marks.size() > 1 && roots.marks[1].pos == roots.marks[0].pos) {
      // The parser did not move: the second "document" is that loop.
      diags.error(roots.marks[0],
                  "invalid YAML: unexpected token here (e.g. a "
                  "',' outside a [...] or {...} list)");
    } else {
      if (roots.marks.size() > 1)
        diags.error(roots.marks[1], "a config file holds one YAML document; found another after '---'");
      if (!roots.marks.empty()) parse(YAML::Load(text), ctx);
    }
  } catch (const YAML::Exception& e) {  // ParserException and friends carry a position
    diags.error(e.mark, "invalid YAML: " + e.msg);
  } catch (const std::exception& e) {
    diags.error(YAML::Mark::null_mark(), std::string("cannot load config: ") + e.what());
  }
  return diags.take();
}

// A file's text, or the diagnostic saying why not.
std::variant<std::string, Diagnostic> read_config_text(const std::string& path) {
  auto fail = [&](std::string message) { return Diagnostic{path, 0, 0, std::move(message)}; };
  try {
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(std::string("cannot open config file: ") + std::strerror(errno));
    std::string text;
    std::array<char, std::size_t{64} * 1024> buf{};
    while (in.read(buf.data(), buf.size()) || in.gcount() > 0) {
      text.append(buf.data(), static_cast<std::size_t>(in.gcount()));
      if (text.size() > kMaxConfigFileBytes) {
        return fail("config file is larger than " + std::to_string(kMaxConfigFileBytes) + " bytes");
      }
    }
    if (in.bad()) return fail(std::string("cannot read config file: ") + std::strerror(errno));
    return text;
  } catch (const std::exception& e) {
    return fail(std::string("cannot read config file: ") + e.what());
  }
}

}  // namespace

LoadResult load_from_string(std::string_view yaml, const std::string& source, const LoadOptions& options) {
  Config config;
  config.source = source;
  LoadResult result;
  result.diagnostics = parse_yaml(yaml, source, options, [&](const YAML::Node& root, detail::ParseContext& ctx) {
    parse_document(root, ctx, config);
  });
  if (result.diagnostics.empty()) result.config = std::move(config);
  return result;
}

LoadResult load_from_file(const std::string& path) { return load_from_file(path, LoadOptions{}); }

LoadResult load_from_file(const std::string& path, const LoadOptions& options) {
  auto text = read_config_text(path);
  if (auto* d = std::get_if<Diagnostic>(&text)) {
    LoadResult r;
    r.diagnostics.push_back(std::move(*d));
    return r;
  }
  LoadOptions with_base = options;
  if (with_base.base_dir.empty())
    with_base.base_dir = std::filesystem::absolute(std::filesystem::path(path)).parent_path().string();
  return load_from_string(std::get<std::string>(text), path, with_base);
}

PolicyLoadResult load_attestation_policy(const std::string& path) {
  PolicyLoadResult result;
  auto text = read_config_text(path);
  if (auto* d = std::get_if<Diagnostic>(&text)) {
    result.diagnostics.push_back(std::move(*d));
    return result;
  }
  AttestationPolicy policy;
  result.diagnostics = parse_yaml(
      std::get<std::string>(text), path, LoadOptions{}, [&](const YAML::Node& root, detail::ParseContext& ctx) {
        detail::parse_attestation_policy(root, YAML::Mark::null_mark(), "", ctx.diags, policy);
      });
  if (result.diagnostics.empty()) result.policy = std::move(policy);
  return result;
}

}  // namespace aegis::config
