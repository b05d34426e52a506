// What happened to a user's messages (the journal) and what POP3 and IMAP
// see of the INBOX now (the views): the models behind `pillarbox journal`,
// `pillarbox views` and the HTTP API, which render them as text or JSON.
//
// Threads: the store's owner thread; each call uses one short read view.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "config/config.h"
#include "services/outcome.h"
#include "services/settings.h"
#include "storage/store.h"

namespace pillarbox::services {

// Reads a user's journal in order, each event once, across calls (for a
// listing and then for following it). Events that carry no subject (a
// pending DELE, say) get the one an earlier event of the same message had.
class JournalReader {
 public:
  JournalReader(storage::UserId user, storage::UnixTime since, std::size_t max_events)
      : user_(user), last_{since, 0}, max_events_(std::max<std::size_t>(max_events, 1)) {}
  // The events committed since the last call (the first call: since `since`).
  std::vector<storage::JournalEvent> Next(storage::ReadView& view);

 private:
  storage::UserId user_;
  std::tuple<storage::UnixTime, std::uint64_t> last_;  // (time, seq) of the last event returned
  bool any_ = false;
  std::size_t max_events_;
  std::map<std::uint64_t, std::string> subjects_;  // by GUID
};

struct InboxRow {
  storage::MessageRecord message;
  std::size_t pop3_number = 0;        // as a POP3 login now would number it; 0: hidden
  std::uint64_t pending_session = 0;  // a live POP3 session has it DELE'd
  std::string subject;
};

struct InboxView {
  storage::UserRecord user;
  storage::MailboxRecord inbox;
  DeleteModeInEffect delete_mode;
  std::vector<InboxRow> rows;  // ascending UID
  std::size_t pop3_visible = 0;
  // Journal events of messages that left INBOX and did not come back, oldest first.
  std::vector<storage::JournalEvent> gone;
  // By GUID, the UID each of `gone` had in INBOX, where the journal recorded
  // it (an IMAP MOVE journals only the destination's UID).
  std::map<std::uint64_t, storage::Uid> gone_inbox_uids;
  std::vector<storage::ReadView::LiveSession> sessions;
  std::optional<storage::ReadView::LiveSession> pop3_lock_holder;
};
// How a message left INBOX, from the event that took it out (one of
// InboxView::gone): expunged (by IMAP, POP3 in expunge mode or retention) or
// moved (IMAP MOVE, POP3 in move mode, INBOX renamed), and then where to.
struct Departure {
  bool moved = false;
  std::string mailbox;   // the destination, when moved
  storage::Uid uid = 0;  // the UID there; 0 when the journal does not say
};
Departure DepartureOf(const storage::JournalEvent& ev);

// kNoSuchUser, or kTemporary when the user has no INBOX.
Outcome BuildInboxView(storage::Store& store, const config::Config& config, std::string_view user,
                       InboxView* out);

// The rows of some INBOX messages (a page of a listing) without reading the
// rest of INBOX: a DELE is pending only while its POP3 session lives, so
// the journal is read only from when the oldest live POP3 session of the
// user began (nothing at all when there is none). `pop3_number` and
// `subject` are left empty (they need every message, or the whole journal).
std::vector<InboxRow> InboxRowsOf(storage::ReadView& view, const config::Config& config,
                                  storage::UserId user, std::vector<storage::MessageRecord> page);

// InboxView::gone and gone_inbox_uids of `out` (whose `user` and `inbox`
// are set) from the journal alone: a message that came back into INBOX is
// recognized by the UID the journal last gave it there, not by reading
// every message of INBOX. Costs one read of the user's journal (bounded by
// journal.max_events_per_user).
void BuildInboxGone(storage::ReadView& view, const config::Config& config, InboxView* out);

}  // namespace pillarbox::services
