// libFuzzer target for the MIME layer: arbitrary bytes as a message are
// parsed, serialized, deserialized (must round-trip exactly), rendered as
// BODY/BODYSTRUCTURE/ENVELOPE, addressed with every section form and
// decoded for SEARCH; the same bytes as a stored structure must either be
// rejected or render without trouble.
//
// Build: cmake -DPILLARBOX_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ ...
// Run:   ./mime_fuzz -max_len=65536 tests/fixtures/mime
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "protocols/mime/date.h"
#include "protocols/mime/decode.h"
#include "protocols/mime/imap_render.h"
#include "protocols/mime/message.h"
#include "protocols/mime/section.h"
#include "protocols/mime/sort_keys.h"
#include "protocols/mime/structure_codec.h"

using pillarbox::Result;
using namespace pillarbox::mime;  // NOLINT: a fuzz entry point, not a header

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

void VisitSections(std::string_view raw, const Part& root, const Part& part,
                   std::vector<std::uint32_t>* path, int depth) {
  if (depth > 4) return;
  for (const char* text : {"", "MIME", "HEADER", "TEXT"}) {
    SectionSpec spec;
    spec.part = *path;
    std::string_view t = text;
    if (t == "MIME" && path->empty()) continue;
    spec.text = t == ""         ? SectionSpec::Text::kNone
                : t == "MIME"   ? SectionSpec::Text::kMime
                : t == "HEADER" ? SectionSpec::Text::kHeader
                                : SectionSpec::Text::kText;
    SectionContent c = ResolveSection(raw, root, spec);
    if (c.found && !c.synthesized) {
      Check(c.offset + c.size <= raw.size());
    }
  }
  SectionSpec fields;
  fields.part = *path;
  fields.text = SectionSpec::Text::kHeaderFieldsNot;
  fields.fields = {"received", "x-a"};
  SectionContent c = ResolveSection(raw, root, fields);
  if (c.found) Check(c.bytes.size() >= 2);
  for (std::uint32_t i = 1; i <= part.children.size() + 1 && i <= 3; ++i) {
    path->push_back(i);
    const Part* p = FindPart(root, *path);
    if (p != nullptr) VisitSections(raw, root, *p, path, depth + 1);
    path->pop_back();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view raw(reinterpret_cast<const char*>(data), size);

  Part root = ParseMessage(raw);
  Check(root.envelope != nullptr);
  Check(root.body_offset + root.body_size <= raw.size());
  std::string stored = SerializeStructure(root);
  Result<Part> back = DeserializeStructure(stored);
  Check(back.ok());
  Check(*back == root);
  std::string bs = RenderBodyStructure(*back, true);
  Check(bs == RenderBodyStructure(root, true));
  (void)RenderBodyStructure(*back, false);
  (void)RenderEnvelope(*back->envelope);

  std::vector<std::uint32_t> path;
  VisitSections(raw, root, root, &path, 0);

  if (root.envelope->subject) (void)DecodeHeaderValue(*root.envelope->subject);
  if (root.envelope->date) (void)ParseRfc5322Date(*root.envelope->date);
  (void)MessageSearchText(raw, root);
  (void)DecodedParam(root.params, "charset");

  // Sort keys: what is stored reads back the same; any bytes as stored keys
  // are refused or read within bounds.
  SortKeys keys = ComputeSortKeys(raw);
  const std::string encoded = EncodeSortKeys(keys);  // the view points into it
  auto view = DecodeSortKeys(encoded);
  Check(view.has_value() && view->subject == keys.subject && view->references == keys.references);
  Check(keys.subject.size() <= kMaxSortKeyBytes);
  if (auto as_keys = DecodeSortKeys(raw)) Check(as_keys->references.size() <= raw.size());

  // The same bytes as a stored structure.
  Result<Part> as_structure = DeserializeStructure(raw);
  if (as_structure.ok()) {
    (void)RenderBodyStructure(*as_structure, true);
    if (as_structure->envelope) (void)RenderEnvelope(*as_structure->envelope);
    std::vector<std::uint32_t> p2;
    VisitSections(raw, *as_structure, *as_structure, &p2, 0);
    (void)MessageSearchText(raw, *as_structure);
  }
  return 0;
}
