// IMAP NOTIFY (RFC 5465): what a session asked to be told about, and the
// untagged responses that tell it.
//
// NOTIFY SET keeps a NotifyState in the session. Changes to the selected
// mailbox go through the session's usual path (SyncMailbox): with SELECTED
// they are pushed as soon as they are committed, between commands too;
// with SELECTED-DELAYED expunges still wait for a command that allows them
// (RFC 3501 7.4.1). Other mailboxes are watched through the store's
// per-user change bus (Store::SubscribeUser): a change marks the mailbox
// (or, with 0, the whole mailbox list) dirty, and NotifyFlush() compares
// the store with the snapshot taken at the last look and writes STATUS
// (message counts, UIDNEXT, UNSEEN, HIGHESTMODSEQ) and LIST (created,
// deleted, renamed with OLDNAME, subscribed or not) responses.
//
// Supported events: MessageNew (with fetch attributes for the selected
// mailbox), MessageExpunge, FlagChange, MailboxName, SubscriptionChange.
// AnnotationChange, MailboxMetadataChange and ServerMetadataChange are
// refused with NO [BADEVENT ...] (no ANNOTATE or METADATA here).
//
// Threads: the session's (owner) thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/imap/fetch.h"
#include "protocols/imap/value.h"
#include "storage/types.h"

namespace pillarbox::imap {

class ImapSession;

// Event bits.
inline constexpr unsigned kNotifyMessageNew = 1u << 0;
inline constexpr unsigned kNotifyMessageExpunge = 1u << 1;
inline constexpr unsigned kNotifyFlagChange = 1u << 2;
inline constexpr unsigned kNotifyMailboxName = 1u << 3;
inline constexpr unsigned kNotifySubscriptionChange = 1u << 4;
inline constexpr unsigned kNotifyMessageEvents =
    kNotifyMessageNew | kNotifyMessageExpunge | kNotifyFlagChange;

// The events this server supports, as NO [BADEVENT (...)] lists them.
inline constexpr char kNotifySupportedEvents[] =
    "MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange";

// Notifications wait while the client leaves more than
// limits.output_high_water unread (changes coalesce meanwhile: one STATUS
// per mailbox). After this many changes waited so, the client gets
// "* OK [NOTIFICATIONOVERFLOW]" and is treated as after NOTIFY NONE
// (RFC 5465 5.8).
inline constexpr int kNotifyMaxDeferred = 64;

// One <event-group> about other mailboxes than the selected one.
struct NotifyGroup {
  enum class Filter { kPersonal, kInboxes, kSubscribed, kSubtree, kMailboxes };
  Filter filter = Filter::kPersonal;
  std::vector<std::string> names;  // kSubtree, kMailboxes: UTF-8
  unsigned events = 0;
};

// A parsed NOTIFY SET.
struct NotifySpec {
  bool status = false;  // the STATUS indicator
  // SELECTED / SELECTED-DELAYED: message events for the selected mailbox.
  bool selected = false;
  bool selected_delayed = false;
  unsigned selected_events = 0;
  std::optional<FetchSpec> fetch;  // MessageNew (fetch-att ...) for the selected mailbox
  std::vector<NotifyGroup> groups;
};

// Parses the arguments after "NOTIFY SET" (args[1..]). On failure returns
// nullopt and sets `*response` to the tagged answer without the tag
// ("BAD ..." or "NO [BADEVENT (...)] ..."). `decode` turns a mailbox
// argument into UTF-8 (nullopt: invalid).
using NotifyDecodeName = std::function<std::optional<std::string>(const Value&)>;
std::optional<NotifySpec> ParseNotifySet(const std::vector<Value>& args,
                                         const NotifyDecodeName& decode, std::string* response);

// What a mailbox looked like at the last look.
struct NotifyMailbox {
  std::string name;
  std::uint32_t uidvalidity = 0;
  storage::Uid uidnext = 0;
  std::uint32_t messages = 0;
  std::uint32_t unseen = 0;
  storage::ModSeq highest_modseq = 0;
};

// The session's NOTIFY state (ImapSession::notify()).
struct NotifyState {
  NotifySpec spec;
  std::uint64_t subscription = 0;  // Store::SubscribeUser id
  std::map<storage::MailboxId, NotifyMailbox> known;
  std::set<std::string> subscribed;  // the subscription list at the last look
  std::set<storage::MailboxId> dirty;
  bool dirty_all = false;
  int deferred = 0;  // changes that waited for the client to read (kNotifyMaxDeferred)
  // Mailboxes this session itself appended or copied to (RFC 5465 5: such
  // events should not be told): their next change is taken silently.
  std::set<storage::MailboxId> own_changes;
  // Messages this session created in the selected mailbox: no MessageNew
  // FETCH for them (RFC 5465 5.2).
  std::set<std::pair<storage::MailboxId, storage::Uid>> own_new;

  // The events that apply to a non-selected mailbox `name`.
  unsigned EventsFor(const std::string& name, bool subscribed) const;
  // Some group asks for `event` on some mailbox.
  bool Wants(unsigned event) const;
  // The selected mailbox's message events are pushed between commands.
  bool PushSelected() const {
    return (spec.selected || spec.selected_delayed) && spec.selected_events != 0;
  }
};

// NOTIFY SET succeeded: replaces the session's state, subscribes to the
// user's changes and writes the initial STATUS responses when asked.
void NotifyStart(ImapSession& s, NotifySpec spec);
// NOTIFY NONE, overflow, logout: stops watching.
void NotifyStop(ImapSession& s);
// Writes what changed in other mailboxes (and the mailbox list) since the
// last look, when anything is marked dirty.
void NotifyFlush(ImapSession& s);
// The store's per-user change bus fired (mailbox 0: the list). Flushes at
// once when no command runs.
void NotifyOnUserChange(ImapSession& s, storage::MailboxId mailbox);
// After EXISTS for `uids` in the selected mailbox: the MessageNew FETCH
// responses with the attributes NOTIFY asked for.
void NotifyNewMessages(ImapSession& s, const std::vector<storage::Uid>& uids);
// A FETCH FLAGS line for the selected mailbox: with FlagChange asked for
// it, UID goes with FLAGS (RFC 5465 5.1) even without CONDSTORE.
void NotifyFlagsLine(ImapSession& s, storage::Uid uid, std::string* line);
// This session appended or copied `uids` into `mailbox`.
void NotifyOwnMessages(ImapSession& s, const std::string& mailbox,
                       const std::vector<storage::Uid>& uids);
// A command ends with `response` (before its tagged line): writes what is
// due and, after this session's own CREATE, DELETE, RENAME, SUBSCRIBE or
// UNSUBSCRIBE, takes the new names silently (RFC 5465 5: the client's own
// changes are not told back).
void NotifyOnFinish(ImapSession& s, const Command& cmd, std::string_view response);
// A change must wait for the client to read: counts it; after
// kNotifyMaxDeferred writes [NOTIFICATIONOVERFLOW] and drops NOTIFY.
void NotifyDefer(ImapSession& s);

}  // namespace pillarbox::imap
