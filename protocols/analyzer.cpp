#include "protocols/analyzer.h"

#include <string>

#include "protocols/mime/date.h"
#include "protocols/mime/decode.h"
#include "protocols/mime/header.h"
#include "protocols/mime/message.h"
#include "protocols/mime/sort_keys.h"
#include "protocols/mime/structure_codec.h"

namespace pillarbox::protocols {

namespace {

// The journal keeps the subject for display; a longer one is cut at a UTF-8
// character boundary.
constexpr std::size_t kMaxJournalSubjectBytes = 256;

std::string TruncateUtf8(std::string s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80) --cut;
  s.resize(cut);
  return s;
}

}  // namespace

storage::MessageAnalyzer MakeMessageAnalyzer() {
  return [](std::string_view bytes) {
    mime::Part root = mime::ParseMessage(bytes);
    storage::AnalyzedMessage out;
    out.structure = mime::SerializeStructure(root);
    out.sort_keys = mime::EncodeSortKeys(mime::ComputeSortKeys(bytes));
    if (root.envelope && root.envelope->subject) {
      out.subject =
          TruncateUtf8(mime::DecodeHeaderValue(*root.envelope->subject), kMaxJournalSubjectBytes);
    }
    return out;
  };
}

std::optional<storage::StoreOptions::MessageDate> MessageDateOf(std::string_view bytes) {
  // The header only; a Date field far down a huge header is not looked for.
  constexpr std::size_t kMaxHeaderBytes = 256 * 1024;
  constexpr std::size_t kMaxHeaderFields = 1000;
  mime::HeaderBlock header =
      mime::ParseHeader(bytes, 0, bytes.size(), kMaxHeaderBytes, kMaxHeaderFields);
  const mime::HeaderField* field = mime::FindField(header.fields, "Date");
  if (field == nullptr) return std::nullopt;
  auto date = mime::ParseRfc5322Date(mime::Unfold(field->raw_value));
  if (!date) return std::nullopt;
  return storage::StoreOptions::MessageDate{date->utc, date->zone_minutes};
}

}  // namespace pillarbox::protocols
