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

}  // namespace pillarbox::storage
