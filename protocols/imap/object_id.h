// Object identifiers (RFC 8474 OBJECTID): EMAILID, THREADID, MAILBOXID.
// Each is 1-255 characters of [A-Za-z0-9_-] (objectid in the RFC's ABNF).
//
// EMAILID names immutable content: it is made from the blob id (the SHA-256
// of the message bytes), so a message keeps it through COPY, MOVE and
// RENAME, and its copies share it, as the RFC asks (5.1); two deliveries
// of byte-identical messages share it too, which the RFC allows.
// MAILBOXID is the store's mailbox id, which is never reused (a counter)
// and survives RENAME. THREADID: the store keeps no threads, so FETCH
// THREADID answers NIL (RFC 8474 5.2 allows it) and SEARCH THREADID
// matches nothing.
#pragma once

#include <string>
#include <string_view>

#include "storage/types.h"

namespace pillarbox::imap {

// "M" and the first 128 bits of the blob id in hex.
std::string EmailId(const storage::MessageRecord& record);
// "F" and the mailbox id in decimal.
std::string MailboxObjectId(storage::MailboxId id);
// True when `id` has the objectid syntax.
bool IsObjectId(std::string_view id);

}  // namespace pillarbox::imap
