#include "storage/types.h"

namespace pillarbox::storage {

std::string BlobId::Hex() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (std::uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

std::string_view SpecialUseName(SpecialUse use) {
  switch (use) {
    case SpecialUse::kSent:
      return "\\Sent";
    case SpecialUse::kDrafts:
      return "\\Drafts";
    case SpecialUse::kTrash:
      return "\\Trash";
    case SpecialUse::kJunk:
      return "\\Junk";
    case SpecialUse::kArchive:
      return "\\Archive";
    case SpecialUse::kNone:
      break;
  }
  return "";
}

std::string_view JournalKindName(JournalKind kind) {
  switch (kind) {
    case JournalKind::kDelivered:
      return "delivered";
    case JournalKind::kPop3Retrieved:
      return "pop3-retrieved";
    case JournalKind::kPop3DeletePending:
      return "pop3-delete-pending";
    case JournalKind::kPop3Deleted:
      return "pop3-deleted";
    case JournalKind::kPop3DeleteAborted:
      return "pop3-delete-aborted";
    case JournalKind::kImapRead:
      return "imap-read";
    case JournalKind::kFlagsChanged:
      return "flags-changed";
    case JournalKind::kCopied:
      return "copied";
    case JournalKind::kMoved:
      return "moved";
    case JournalKind::kExpunged:
      return "expunged";
    case JournalKind::kExpired:
      return "expired";
    case JournalKind::kPop3Unhidden:
      return "unhidden";
    case JournalKind::kPop3DeleteRefused:
      return "pop3-delete-refused";
  }
  return "unknown";
}

}  // namespace pillarbox::storage
