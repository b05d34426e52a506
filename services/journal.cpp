#include "services/journal.h"

#include <algorithm>
#include <charconv>
#include <functional>
#include <set>

namespace pillarbox::services {

namespace {

bool IsDeleEvent(storage::JournalKind kind) {
  using K = storage::JournalKind;
  return kind == K::kPop3DeletePending || kind == K::kPop3DeleteAborted || kind == K::kPop3Deleted;
}

// `dele_state`: the last DELE-related event per message. A pending DELE is
// still pending when neither QUIT (deleted) nor RSET/disconnect (aborted)
// followed it and its session is alive (a killed server journals no abort).
// Returns that session, or 0.
std::uint64_t PendingSession(
    const std::map<std::uint64_t, const storage::JournalEvent*>& dele_state,
    const std::set<std::uint64_t>& live_pop3, std::uint64_t guid) {
  auto it = dele_state.find(guid);
  if (it == dele_state.end() || it->second->kind != storage::JournalKind::kPop3DeletePending ||
      !live_pop3.count(it->second->origin.session)) {
    return 0;
  }
  return it->second->origin.session;
}

// Fills out->gone (oldest first) and out->gone_inbox_uids from `journal`
// (oldest first): per message, the last event that took it out of INBOX,
// unless `in_inbox(guid, uid)` says it is back (uid: the last UID the
// journal gave it in INBOX, 0 when none).
void CollectGone(const std::vector<storage::JournalEvent>& journal,
                 const std::function<bool(std::uint64_t, storage::Uid)>& in_inbox, InboxView* out) {
  std::map<std::uint64_t, const storage::JournalEvent*> removed;  // left INBOX
  std::map<std::uint64_t, storage::Uid> inbox_uids;               // last UID in INBOX
  for (const auto& ev : journal) {
    if (ev.guid && ev.uid && ev.mailbox == "INBOX") inbox_uids[ev.guid] = ev.uid;
    using K = storage::JournalKind;
    // Hiding and unhiding keep the message in INBOX: not "gone".
    if ((ev.kind == K::kPop3Deleted && ev.detail == "hide") || ev.kind == K::kPop3Unhidden) {
      continue;
    }
    // A MOVE journals the destination; the source is in the detail.
    bool moved_out = ev.kind == K::kMoved && (ev.detail == "moved from INBOX" ||
                                              ev.detail.starts_with("INBOX renamed to "));
    bool leaves = (ev.mailbox == "INBOX" && (ev.kind == K::kPop3Deleted ||
                                             ev.kind == K::kExpunged || ev.kind == K::kExpired)) ||
                  moved_out;
    if (leaves && ev.guid) removed[ev.guid] = &ev;
  }
  for (const auto& [guid, ev] : removed) {
    auto uid = inbox_uids.find(guid);
    if (in_inbox(guid, uid == inbox_uids.end() ? 0 : uid->second)) continue;  // moved back since
    out->gone.push_back(*ev);
    if (uid != inbox_uids.end()) out->gone_inbox_uids[guid] = uid->second;
  }
  std::sort(out->gone.begin(), out->gone.end(), [](const auto& a, const auto& b) {
    return std::tie(a.time, a.seq) < std::tie(b.time, b.seq);
  });
}

}  // namespace

std::vector<storage::JournalEvent> JournalReader::Next(storage::ReadView& view) {
  std::vector<storage::JournalEvent> out;
  for (auto& ev : view.Journal(user_, std::get<0>(last_), max_events_)) {
    std::tuple<storage::UnixTime, std::uint64_t> key{ev.time, ev.seq};
    if (any_ && key <= last_) continue;
    if (ev.guid && !ev.subject.empty()) subjects_[ev.guid] = ev.subject;
    if (ev.guid && ev.subject.empty()) {
      if (auto it = subjects_.find(ev.guid); it != subjects_.end()) ev.subject = it->second;
    }
    last_ = key;
    any_ = true;
    out.push_back(std::move(ev));
  }
  return out;
}

Departure DepartureOf(const storage::JournalEvent& ev) {
  using K = storage::JournalKind;
  Departure d;
  if (ev.kind == K::kMoved) {  // journaled at the destination
    d.moved = true;
    d.mailbox = ev.mailbox;
    d.uid = ev.uid;
  } else if (ev.kind == K::kPop3Deleted && ev.detail.starts_with("move:")) {
    // Pop3Commit's detail: "move:Archive, now Archive UID 7".
    d.moved = true;
    std::string_view rest = std::string_view(ev.detail).substr(5);
    std::size_t now = rest.find(", now ");
    d.mailbox = std::string(rest.substr(0, now));
    if (now != std::string_view::npos) {
      std::string_view where = rest.substr(now + 6);
      std::size_t at = where.rfind(" UID ");
      if (at != std::string_view::npos) {
        std::string_view digits = where.substr(at + 5);
        storage::Uid uid = 0;
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), uid);
        if (ec == std::errc() && end == digits.data() + digits.size()) d.uid = uid;
      }
    }
  }
  return d;
}

Outcome BuildInboxView(storage::Store& store, const config::Config& config, std::string_view name,
                       InboxView* out) {
  auto view = store.Read();
  auto user = view->FindUser(name);
  if (!user.ok()) {
    if (user.status().code() == pillarbox::Code::kNotFound) {
      return {Code::kNoSuchUser, "no such user: " + std::string(name)};
    }
    return Outcome::FromStore(user.status());
  }
  auto inbox = view->FindMailbox(user->id, "INBOX");
  if (!inbox.ok()) {
    return {Code::kTemporary, std::string(name) + " has no INBOX: " + inbox.status().message()};
  }
  auto messages = view->ListMessages(inbox->id);
  auto journal =
      view->Journal(user->id, 0, std::max<std::uint64_t>(config.journal.max_events_per_user, 1));
  out->sessions = view->LiveSessions(user->id);
  out->delete_mode = DeleteModeOf(config, *user);

  std::set<std::uint64_t> live_pop3;
  for (const auto& s : out->sessions) {
    if (s.protocol == "pop3") live_pop3.insert(s.id);
    if (s.holds_pop3_lock) out->pop3_lock_holder = s;
  }

  // What the journal knows per message (by GUID, which survives MOVE).
  std::map<std::uint64_t, std::string> subjects;
  std::map<std::uint64_t, const storage::JournalEvent*> dele_state;
  for (const auto& ev : journal) {
    if (ev.guid && !ev.subject.empty()) subjects.emplace(ev.guid, ev.subject);
    if (IsDeleEvent(ev.kind)) dele_state[ev.guid] = &ev;
  }
  std::set<std::uint64_t> in_inbox;
  for (const auto& m : messages) in_inbox.insert(m.guid);
  CollectGone(
      journal, [&](std::uint64_t guid, storage::Uid) { return in_inbox.count(guid) > 0; }, out);

  // POP3 would number the messages that are not hidden 1..n, in UID order
  // (its snapshot at login; a session open now may hold an older one).
  std::size_t number = 0;
  for (auto& m : messages) {
    InboxRow r;
    r.pop3_number = m.pop3.hidden ? 0 : ++number;
    r.pending_session = PendingSession(dele_state, live_pop3, m.guid);
    if (auto it = subjects.find(m.guid); it != subjects.end()) r.subject = it->second;
    r.message = std::move(m);
    out->rows.push_back(std::move(r));
  }
  out->pop3_visible = number;
  out->user = std::move(*user);
  out->inbox = std::move(*inbox);
  return Outcome::Ok();
}

// How long before a POP3 session's recorded start its DELE events may be
// stamped: both are whole seconds of the wall clock, read on different
// threads; a margin keeps a clock step from hiding a pending DELE.
constexpr storage::UnixTime kPendingWindowSlackSeconds = 60;

std::vector<InboxRow> InboxRowsOf(storage::ReadView& view, const config::Config& config,
                                  storage::UserId user, std::vector<storage::MessageRecord> page) {
  std::set<std::uint64_t> live_pop3;
  std::optional<storage::UnixTime> oldest;
  for (const auto& s : view.LiveSessions(user)) {
    if (s.protocol != "pop3") continue;
    live_pop3.insert(s.id);
    oldest = std::min(oldest.value_or(s.since), s.since);
  }
  std::vector<storage::JournalEvent> journal;
  std::map<std::uint64_t, const storage::JournalEvent*> dele_state;
  if (oldest && !page.empty()) {
    journal = view.Journal(user, *oldest - kPendingWindowSlackSeconds,
                           std::max<std::uint64_t>(config.journal.max_events_per_user, 1));
    std::set<std::uint64_t> wanted;
    for (const auto& m : page) wanted.insert(m.guid);
    for (const auto& ev : journal) {
      if (IsDeleEvent(ev.kind) && wanted.count(ev.guid)) dele_state[ev.guid] = &ev;
    }
  }
  std::vector<InboxRow> rows;
  rows.reserve(page.size());
  for (auto& m : page) {
    InboxRow r;
    r.pending_session = PendingSession(dele_state, live_pop3, m.guid);
    r.message = std::move(m);
    rows.push_back(std::move(r));
  }
  return rows;
}

void BuildInboxGone(storage::ReadView& view, const config::Config& config, InboxView* out) {
  auto journal =
      view.Journal(out->user.id, 0, std::max<std::uint64_t>(config.journal.max_events_per_user, 1));
  const storage::MailboxId inbox = out->inbox.id;
  CollectGone(
      journal,
      [&](std::uint64_t guid, storage::Uid uid) {
        if (uid == 0) return false;
        auto m = view.GetMessage(inbox, uid);
        return m.ok() && m->guid == guid;
      },
      out);
}

}  // namespace pillarbox::services
