#include "protocols/imap/value.h"

#include "common/strings.h"

namespace pillarbox::imap {

bool Value::AtomIs(std::string_view word) const {
  return (kind == Kind::kAtom || kind == Kind::kNil) && EqualsIgnoreAsciiCase(text, word);
}

}  // namespace pillarbox::imap
