#include "protocols/imap/object_id.h"

namespace pillarbox::imap {
namespace {

// Hex digits of the blob id kept in an EMAILID: 128 bits.
constexpr std::size_t kEmailIdHexDigits = 32;
// RFC 8474 objectid = 1*255(ALPHA / DIGIT / "_" / "-").
constexpr std::size_t kMaxObjectIdLength = 255;

}  // namespace

std::string EmailId(const storage::MessageRecord& record) {
  return "M" + record.blob.Hex().substr(0, kEmailIdHexDigits);
}

std::string MailboxObjectId(storage::MailboxId id) { return "F" + std::to_string(id); }

bool IsObjectId(std::string_view id) {
  if (id.empty() || id.size() > kMaxObjectIdLength) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace pillarbox::imap
