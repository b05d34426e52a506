#include "services/journal.h"

#include <algorithm>
#include <charconv>
#include <set>

namespace pillarbox::services {

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
  std::map<std::uint64_t, const storage::JournalEvent*> removed;  // left INBOX
  std::map<std::uint64_t, storage::Uid> inbox_uids;               // last UID in INBOX
  // The last DELE-related event per message: a pending DELE is still pending
  // when neither QUIT (deleted) nor RSET/disconnect (aborted) followed it and
  // its session is alive (a killed server journals no abort).
  std::map<std::uint64_t, const storage::JournalEvent*> dele_state;
  for (const auto& ev : journal) {
    if (ev.guid && !ev.subject.empty()) subjects.emplace(ev.guid, ev.subject);
    if (ev.guid && ev.uid && ev.mailbox == "INBOX") inbox_uids[ev.guid] = ev.uid;
    using K = storage::JournalKind;
    if (ev.kind == K::kPop3DeletePending || ev.kind == K::kPop3DeleteAborted ||
        ev.kind == K::kPop3Deleted) {
      dele_state[ev.guid] = &ev;
    }
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
  std::set<std::uint64_t> in_inbox;
  for (const auto& m : messages) in_inbox.insert(m.guid);

  // POP3 would number the messages that are not hidden 1..n, in UID order
  // (its snapshot at login; a session open now may hold an older one).
  std::size_t number = 0;
  for (auto& m : messages) {
    InboxRow r;
    r.pop3_number = m.pop3.hidden ? 0 : ++number;
    if (auto it = dele_state.find(m.guid);
        it != dele_state.end() && it->second->kind == storage::JournalKind::kPop3DeletePending &&
        live_pop3.count(it->second->origin.session)) {
      r.pending_session = it->second->origin.session;
    }
    if (auto it = subjects.find(m.guid); it != subjects.end()) r.subject = it->second;
    r.message = std::move(m);
    out->rows.push_back(std::move(r));
  }
  out->pop3_visible = number;
  for (const auto& [guid, ev] : removed) {
    if (in_inbox.count(guid)) continue;  // moved back since
    out->gone.push_back(*ev);
    if (auto it = inbox_uids.find(guid); it != inbox_uids.end()) {
      out->gone_inbox_uids[guid] = it->second;
    }
  }
  std::sort(out->gone.begin(), out->gone.end(), [](const auto& a, const auto& b) {
    return std::tie(a.time, a.seq) < std::tie(b.time, b.seq);
  });
  out->user = std::move(*user);
  out->inbox = std::move(*inbox);
  return Outcome::Ok();
}

}  // namespace pillarbox::services
