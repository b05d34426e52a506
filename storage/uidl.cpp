#include "storage/uidl.h"

namespace pillarbox::storage {

std::string FormatUidl(std::uint64_t guid) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kHex[guid & 0xf];
    guid >>= 4;
  }
  return out;
}

std::string MessageUidl(const MessageRecord& message) {
  return message.pop3_uidl.empty() ? FormatUidl(message.guid) : message.pop3_uidl;
}

bool IsValidUidl(std::string_view uidl) {
  if (uidl.empty() || uidl.size() > 70) return false;
  for (char c : uidl) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace pillarbox::storage
