#include "protocols/mime/section.h"

#include "common/strings.h"
#include "protocols/mime/header.h"

namespace pillarbox::mime {

namespace {

// HEADER.FIELDS lists longer than this are refused as abuse.
constexpr std::size_t kMaxSectionFields = 1000;

bool ConsumeKeyword(std::string_view* s, std::string_view keyword) {
  if (s->size() < keyword.size() || !StartsWithIgnoreAsciiCase(*s, keyword)) return false;
  s->remove_prefix(keyword.size());
  return true;
}

bool IsAtomChar(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u <= ' ' || u >= 0x7f) return false;
  switch (c) {
    case '(':
    case ')':
    case '{':
    case '%':
    case '*':
    case '"':
    case '\\':
    case ']':
      return false;
    default:
      return true;
  }
}

// "(" astring *(SP astring) ")" with nothing after it.
bool ParseFieldList(std::string_view s, std::vector<std::string>* out) {
  if (s.empty() || s[0] != '(') return false;
  s.remove_prefix(1);
  for (;;) {
    if (s.empty()) return false;
    std::string name;
    if (s[0] == '"') {
      std::size_t i = 1;
      for (; i < s.size() && s[i] != '"'; ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        if (s[i] == '\r' || s[i] == '\n') return false;
        name.push_back(s[i]);
      }
      if (i >= s.size()) return false;
      s.remove_prefix(i + 1);
    } else {
      std::size_t i = 0;
      while (i < s.size() && IsAtomChar(s[i])) ++i;
      if (i == 0) return false;
      name = std::string(s.substr(0, i));
      s.remove_prefix(i);
    }
    out->push_back(std::move(name));
    if (out->size() > kMaxSectionFields) return false;
    if (s.empty()) return false;
    if (s[0] == ')') return s.size() == 1;
    if (s[0] != ' ') return false;
    s.remove_prefix(1);
  }
}

bool IsFieldNameIn(std::string_view name, const std::vector<std::string>& names) {
  for (const std::string& n : names) {
    if (EqualsIgnoreAsciiCase(name, n)) return true;
  }
  return false;
}

SectionContent Range(std::uint64_t offset, std::uint64_t size) {
  SectionContent c;
  c.found = true;
  c.offset = offset;
  c.size = size;
  return c;
}

}  // namespace

std::optional<SectionSpec> ParseSectionSpec(std::string_view s) {
  SectionSpec spec;
  // Part number: nz-number *("." nz-number).
  while (!s.empty() && s[0] >= '0' && s[0] <= '9') {
    if (s[0] == '0') return std::nullopt;
    std::uint64_t n = 0;
    while (!s.empty() && s[0] >= '0' && s[0] <= '9') {
      n = n * 10 + static_cast<std::uint64_t>(s[0] - '0');
      if (n > UINT32_MAX) return std::nullopt;
      s.remove_prefix(1);
    }
    spec.part.push_back(static_cast<std::uint32_t>(n));
    if (s.empty()) return spec;
    if (s[0] != '.') return std::nullopt;
    s.remove_prefix(1);
    if (s.empty()) return std::nullopt;  // "1."
  }
  if (s.empty()) return spec;  // []
  if (ConsumeKeyword(&s, "MIME")) {
    if (!s.empty() || spec.part.empty()) return std::nullopt;
    spec.text = SectionSpec::Text::kMime;
    return spec;
  }
  if (ConsumeKeyword(&s, "TEXT")) {
    if (!s.empty()) return std::nullopt;
    spec.text = SectionSpec::Text::kText;
    return spec;
  }
  if (!ConsumeKeyword(&s, "HEADER")) return std::nullopt;
  if (s.empty()) {
    spec.text = SectionSpec::Text::kHeader;
    return spec;
  }
  if (!ConsumeKeyword(&s, ".FIELDS")) return std::nullopt;
  spec.text = SectionSpec::Text::kHeaderFields;
  if (ConsumeKeyword(&s, ".NOT")) spec.text = SectionSpec::Text::kHeaderFieldsNot;
  if (s.empty() || s[0] != ' ') return std::nullopt;
  s.remove_prefix(1);
  if (!ParseFieldList(s, &spec.fields)) return std::nullopt;
  return spec;
}

const Part* FindPart(const Part& root, const std::vector<std::uint32_t>& path) {
  const Part* part = &root;
  for (std::size_t i = 0; i < path.size(); ++i) {
    std::uint32_t n = path[i];
    bool more = i + 1 < path.size();
    if (part->IsMultipart()) {
      if (n == 0 || n > part->children.size()) return nullptr;
      part = &part->children[n - 1];
    } else {
      // Only part 1 exists; the path may go on only into a message/rfc822.
      if (n != 1) return nullptr;
      if (more && !part->IsMessageRfc822()) return nullptr;
    }
    if (more && part->IsMessageRfc822()) part = &part->children[0];
  }
  return part;
}

std::string FilterHeaderFields(std::string_view header, const std::vector<std::string>& names,
                               bool include) {
  HeaderBlock block = ParseHeader(header, 0, header.size(), header.size() + 1, SIZE_MAX);
  std::string out;
  for (const HeaderField& f : block.fields) {
    // A line without a colon is no field: never part of a subset.
    if (!f.has_colon) continue;
    if (IsFieldNameIn(f.name, names) != include) continue;
    out.append(header.substr(f.offset, f.size));
    if (out.back() != '\n') out += "\r\n";  // last field of a header without an end
  }
  out += "\r\n";
  return out;
}

SectionContent ResolveSection(std::string_view raw, const Part& root, const SectionSpec& spec) {
  const Part* part = &root;
  if (!spec.part.empty()) {
    part = FindPart(root, spec.part);
    if (part == nullptr) return SectionContent{};
  }
  using Text = SectionSpec::Text;
  if (spec.text == Text::kNone) {
    if (spec.part.empty()) return Range(0, raw.size());
    return Range(part->body_offset, part->body_size);
  }
  if (spec.text == Text::kMime) return Range(part->header_offset, part->header_size);
  // HEADER, TEXT, HEADER.FIELDS[.NOT]: of the message itself or of the
  // message embedded in a message/rfc822 part.
  const Part* message = part;
  if (!spec.part.empty()) {
    if (!part->IsMessageRfc822()) return SectionContent{};
    message = &part->children[0];
  }
  switch (spec.text) {
    case Text::kHeader:
      return Range(message->header_offset, message->header_size);
    case Text::kText:
      return Range(message->body_offset, message->body_size);
    case Text::kHeaderFields:
    case Text::kHeaderFieldsNot: {
      SectionContent c;
      c.found = true;
      c.synthesized = true;
      c.bytes = FilterHeaderFields(Slice(raw, message->header_offset, message->header_size),
                                   spec.fields, spec.text == Text::kHeaderFields);
      c.size = c.bytes.size();
      return c;
    }
    default:
      return SectionContent{};
  }
}

}  // namespace pillarbox::mime
