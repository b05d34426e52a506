// RFC 5322 address lists (From, To, Cc, ...) parsed into IMAP envelope
// address elements, tolerant the way Dovecot is: display names are kept raw
// (encoded words are not decoded), a missing local part or domain becomes
// "MISSING_MAILBOX" / "MISSING_DOMAIN", groups become a start element, their
// members and an end element.
//
// Thread-safety: pure functions.
#pragma once

#include <string_view>

#include "protocols/mime/message.h"

namespace pillarbox::mime {

// Parses an (unfolded or folded) address-list header value.
AddressList ParseAddressList(std::string_view value);

}  // namespace pillarbox::mime
