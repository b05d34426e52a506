#include "protocols/imap/object_id.h"

#include <cstdint>
#include <cstdio>

namespace pillarbox::imap {
namespace {

// Hex digits of the blob id kept in an EMAILID: 128 bits.
constexpr std::size_t kEmailIdHexDigits = 32;
// Hex digits of a THREADID: 64 bits.
constexpr std::size_t kThreadIdHexDigits = 16;
// RFC 8474 objectid = 1*255(ALPHA / DIGIT / "_" / "-").
constexpr std::size_t kMaxObjectIdLength = 255;

}  // namespace

std::string EmailId(const storage::MessageRecord& record) {
  return "M" + record.blob.Hex().substr(0, kEmailIdHexDigits);
}

std::string ThreadId(std::string_view message_id, std::string_view references,
                     const storage::MessageRecord& record) {
  std::string_view root = references.substr(0, references.find(' '));
  if (root.empty()) root = message_id;
  if (root.empty()) return "T" + record.blob.Hex().substr(0, kThreadIdHexDigits);
  // FNV-1a, 64 bits: stable across versions and machines, which is all a
  // THREADID needs (ids of one mailbox set colliding is a 2^-64 event).
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : root) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  char hex[kThreadIdHexDigits + 1];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return "T" + std::string(hex);
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
