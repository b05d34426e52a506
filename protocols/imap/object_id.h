// Object identifiers (RFC 8474 OBJECTID): EMAILID, THREADID, MAILBOXID.
// Each is 1-255 characters of [A-Za-z0-9_-] (objectid in the RFC's ABNF).
//
// EMAILID names immutable content: it is made from the blob id (the SHA-256
// of the message bytes), so a message keeps it through COPY, MOVE and
// RENAME, and its copies share it, as the RFC asks (5.1); two deliveries
// of byte-identical messages share it too, which the RFC allows.
// MAILBOXID is the store's mailbox id, which is never reused (a counter)
// and survives RENAME.
//
// THREADID names the first message of the thread, as the message itself
// says: the first id of its References (In-Reply-To when there is no
// References), else its own Message-ID. So a message and every reply whose
// References start with it share one THREADID, in every mailbox, with no
// state kept and none to repair. A message with no ids at all is a thread
// of its own, named by its content. Threads deeper than the references the
// store keeps per message (mime::kMaxSortReferences) or built only from
// In-Reply-To of a reply to a reply split.
#pragma once

#include <string>
#include <string_view>

#include "storage/types.h"

namespace pillarbox::imap {

// "M" and the first 128 bits of the blob id in hex.
std::string EmailId(const storage::MessageRecord& record);
// "T" and 16 hex digits: a hash of the thread's first Message-ID.
// `message_id` and `references` as the sort keys keep them (mime/sort_keys.h).
std::string ThreadId(std::string_view message_id, std::string_view references,
                     const storage::MessageRecord& record);
// "F" and the mailbox id in decimal.
std::string MailboxObjectId(storage::MailboxId id);
// True when `id` has the objectid syntax.
bool IsObjectId(std::string_view id);

}  // namespace pillarbox::imap
