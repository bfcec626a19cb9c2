#include "app/inject_yaml.h"

#include <regex>

namespace aegis::app {

namespace {

// yaml-cpp's loader tags a quoted scalar "!" and a plain one "?"; the emitter
// would drop that and write "8080" plain. We keep the quotes.
constexpr std::string_view kQuotedTag = "!";

bool reads_as_non_string(std::string_view v) {
  // YAML 1.1 (what Kubernetes' Go YAML and PyYAML resolve) null, bool, int and float forms.
  static const std::regex pattern(
      R"(^(|~|null|Null|NULL|y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$|)"
      R"(^[-+]?([0-9][0-9_]*|0x[0-9a-fA-F_]+|0o?[0-7_]+|0b[01_]+|[0-9][0-9_]*(:[0-5]?[0-9])+)$|)"
      R"(^[-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+]?[0-9]+)?$|^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$|)"
      R"(^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$)");
  return std::regex_match(v.begin(), v.end(), pattern);
}

// A multi-line string as a literal block when that reads back exactly
// (the clip chomping of `|` restores one final newline, not zero or two).
bool literal_round_trips(const std::string& value) {
  YAML::Emitter probe;
  probe << YAML::BeginMap << YAML::Key << "v" << YAML::Value << YAML::Literal << value << YAML::EndMap;
  try {
    return YAML::Load(probe.c_str())["v"].as<std::string>() == value;
  } catch (const YAML::Exception&) {
    return false;
  }
}

void emit_scalar(YAML::Emitter& out, const YAML::Node& node) {
  const std::string& value = node.Scalar();
  const std::string& tag = node.Tag();
  if (!tag.empty() && tag != "?" && tag != kQuotedTag) out << YAML::VerbatimTag(tag);
  if (value.find('\n') != std::string::npos) {
    if (literal_round_trips(value)) {
      out << YAML::Literal << value;
    } else {
      out << YAML::DoubleQuoted << value;
    }
    return;
  }
  if (tag == kQuotedTag) {
    out << YAML::DoubleQuoted << value;
  } else {
    out << value;
  }
}

void emit_node(YAML::Emitter& out, const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out << YAML::Null;
      return;
    case YAML::NodeType::Scalar:
      emit_scalar(out, node);
      return;
    case YAML::NodeType::Sequence:
      if (node.Style() == YAML::EmitterStyle::Flow) out << YAML::Flow;
      out << YAML::BeginSeq;
      for (const auto& item : node) emit_node(out, item);
      out << YAML::EndSeq;
      return;
    case YAML::NodeType::Map:
      if (node.Style() == YAML::EmitterStyle::Flow) out << YAML::Flow;
      out << YAML::BeginMap;
      for (const auto& kv : node) {
        out << YAML::Key;
        emit_node(out, kv.first);
        out << YAML::Value;
        emit_node(out, kv.second);
      }
      out << YAML::EndMap;
      return;
  }
}

}  // namespace

std::string emit_yaml_document(const YAML::Node& document) {
  YAML::Emitter out;
  out.SetIndent(2);
  out.SetSeqFormat(YAML::Block);
  emit_node(out, document);
  std::string text = out.c_str();
  if (text.empty() || text.back() != '\n') text += '\n';
  return text;
}

YAML::Node yaml_string(std::string_view value) {
  YAML::Node node{std::string(value)};
  if (reads_as_non_string(value)) node.SetTag(std::string(kQuotedTag));
  return node;
}

}  // namespace aegis::app
