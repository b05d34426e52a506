#include "protocols/analyzer.h"

#include <string>

#include "protocols/mime/decode.h"
#include "protocols/mime/message.h"
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
    if (root.envelope && root.envelope->subject) {
      out.subject =
          TruncateUtf8(mime::DecodeHeaderValue(*root.envelope->subject), kMaxJournalSubjectBytes);
    }
    return out;
  };
}

}  // namespace pillarbox::protocols
