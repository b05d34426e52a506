// Delivery: the one path by which a message enters a mailbox from outside
// (`pillarbox deliver`, LMTP, SMTP; next the HTTP API). The rules on the
// message (not empty, not larger than limits.max_message_size, mbox
// envelope lines), on recipients (which user and mailbox an address
// reaches, quota) and on how a failed commit is reported live here; each
// front end maps the Outcome codes to its own answer (sysexits, 2xx/4xx/5xx).
//
// Threads: the store's owner thread; Deliver's completion runs there after
// the durable commit. The pure functions run anywhere.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "services/outcome.h"
#include "storage/store.h"

namespace pillarbox::services {

// One message of an mbox, or the whole input when it is not an mbox.
struct IncomingMessage {
  std::string envelope_from;  // from its "From " line; "" for none or MAILER-DAEMON
  std::string bytes;
};

// Splits an input that starts with an mbox "From " envelope line (as
// sendmail-style MTAs prepend, or as mail programs save folders) into its
// messages. A later message starts at a "From " line that follows an empty
// line and carries a time ("Thu Nov 26 10:00:00 2026"); the empty line
// before it belongs to the mbox, not to the message. Within each message a
// quoted ">From " line (">>From ", ...) loses one '>' (mboxrd, which also
// undoes mboxo's single quoting). An input without a leading "From " line
// is one message, returned unchanged.
std::vector<IncomingMessage> SplitMbox(std::string_view input);

// The checks on a message's bytes that every intake makes, and the bytes as
// stored (line endings normalized to CRLF): kEmptyMessage when it holds
// nothing but line endings, kTooBig when the stored form exceeds
// `max_message_size`.
Outcome PrepareMessage(std::string_view bytes, std::uint64_t max_message_size,
                       std::string* normalized);

// Who a recipient address reaches.
struct RecipientAddress {
  std::string local;   // "alice+lists"
  std::string domain;  // "example.org"; empty for a bare local part
  std::string base;    // "alice" when the local part carries a subaddress detail, else empty
  std::string detail;  // "lists"
};
struct Recipient {
  storage::UserRecord user;
  std::string mailbox = "INBOX";  // the detail's mailbox as spelled in the store, else INBOX
};
// Looks the user up by the whole address (users named "a@example.org"), the
// local part, then both without the detail; the detail selects the mailbox
// of that name (any case) when the user has one. kNoSuchUser otherwise.
Outcome FindRecipient(storage::ReadView& view, const RecipientAddress& address,
                      Recipient* recipient);

// kOverQuota when `messages` more messages of `bytes` in total do not fit
// the user's quota (storage::CheckQuota with the configured defaults), so
// that an intake can refuse before receiving or storing anything.
Outcome CheckQuota(const config::Config& config, const storage::UserRecord& user,
                   std::uint64_t bytes, std::uint64_t messages);

struct Delivery {
  storage::UserId user = 0;
  std::string mailbox = "INBOX";
  bool create_mailbox = false;     // create the mailbox (and parents) when missing
  bool fallback_to_inbox = false;  // a missing mailbox (deleted since RCPT): INBOX takes it
  std::shared_ptr<const std::string> bytes;  // as from PrepareMessage, or trace headers
  // The rest of a message received into a file (storage::AppendRequest::spill).
  std::shared_ptr<const storage::SpillFile> spill;
  storage::Origin origin;     // protocol "cli", "lmtp", "smtp", "http"
  std::string envelope_from;  // for the journal
  storage::Flags flags;       // system flags and keywords to store with it (HTTP seeding)
  std::optional<storage::UnixTime> internal_date;  // default: now
  std::int32_t internal_date_tz = 0;               // minutes east of UTC
};
struct Delivered {
  storage::AppendResult result;
  std::string mailbox;  // where it went (INBOX after a fallback)
};
// Stores one message. Codes: kNoSuchUser (deleted meanwhile), kOverQuota,
// kBadMailbox (the mailbox name or a limit of it), kTemporary.
void Deliver(storage::Store& store, Delivery delivery, Done<Delivered> done);

}  // namespace pillarbox::services
