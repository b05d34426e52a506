// The operations the HTTP API shares with the command line: the JSON of
// `journal --json` and `views --json`, the delete mode in effect, and the
// checks of `user add` and `user set`. They follow server/cli_journal.cpp
// and server/cli_user.cpp field for field; once those rules live in one
// shared layer, this file calls it instead.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <tuple>

#include "server/http_api_internal.h"
#include "storage/uidl.h"

namespace pillarbox::server::api {
namespace {

// Longest password the API hashes (as `user add`).
constexpr std::size_t kMaxPasswordBytes = 4096;

}  // namespace

Json JournalEventJson(const storage::JournalEvent& ev) {
  Json o;
  o["time"] = IsoTime(ev.time);
  o["seq"] = ev.seq;
  o["kind"] = std::string(storage::JournalKindName(ev.kind));
  o["protocol"] = ev.origin.protocol;
  o["session"] = ev.origin.session;
  o["peer"] = ev.origin.peer;
  o["mailbox"] = ev.mailbox;
  o["uid"] = ev.uid;
  o["uidl"] = ev.guid ? Json(storage::FormatUidl(ev.guid)) : Json(nullptr);
  o["subject"] = ev.subject;
  o["detail"] = ev.detail;
  return o;
}

Json DeleteModeJson(const config::Config& config, const storage::UserRecord& user) {
  Json o;
  if (auto it = user.settings.find("pop3.delete_mode"); it != user.settings.end()) {
    if (auto parsed = config::ParsePop3DeleteMode(it->second); parsed.ok()) {
      o["mode"] = config::FormatPop3DeleteMode(*parsed);
      o["source"] = "user";
      return o;
    }
  }
  std::string mode = config::FormatPop3DeleteMode(config.pop3.delete_mode);
  o["mode"] = mode;
  if (std::getenv("PILLARBOX_POP3_DELETE_MODE") != nullptr) {
    o["source"] = "env";
  } else if (mode != config::FormatPop3DeleteMode(config::Config().pop3.delete_mode)) {
    o["source"] = "config";
  } else {
    o["source"] = "default";
  }
  return o;
}

std::string DeleteModeSentence(const config::Config& config, const storage::UserRecord& user) {
  Json d = DeleteModeJson(config, user);
  std::string mode = d["mode"];
  if (mode == "expunge") {
    return "When a POP3 client deletes a message and QUITs, it leaves the server: IMAP sees it "
           "expunged too.";
  }
  if (mode == "hide") {
    return "When a POP3 client deletes a message and QUITs, POP3 never lists it again, but it "
           "stays in the INBOX for IMAP.";
  }
  if (mode == "deny") {
    return "POP3 clients cannot delete: DELE is refused and every message stays.";
  }
  if (mode.starts_with("move:")) {
    return "When a POP3 client deletes a message and QUITs, it moves to " + mode.substr(5) +
           ", where IMAP still sees it.";
  }
  return "POP3 delete mode " + mode + ".";
}

std::map<std::uint64_t, Pop3Facts> Pop3StatesOf(
    const std::vector<storage::MessageRecord>& inbox,
    const std::vector<storage::JournalEvent>& journal,
    const std::vector<storage::ReadView::LiveSession>& sessions) {
  using K = storage::JournalKind;
  std::set<std::uint64_t> live_pop3;
  for (const auto& s : sessions) {
    if (s.protocol == "pop3") live_pop3.insert(s.id);
  }
  // The last DELE-related event per message: pending while neither QUIT nor
  // RSET/disconnect followed it and its session is alive.
  std::map<std::uint64_t, const storage::JournalEvent*> dele;
  for (const auto& ev : journal) {
    if (ev.kind == K::kPop3DeletePending || ev.kind == K::kPop3DeleteAborted ||
        ev.kind == K::kPop3Deleted) {
      dele[ev.guid] = &ev;
    }
  }
  std::map<std::uint64_t, Pop3Facts> out;
  for (const auto& m : inbox) {
    Pop3Facts f;
    auto it = dele.find(m.guid);
    if (it != dele.end() && it->second->kind == K::kPop3DeletePending &&
        live_pop3.count(it->second->origin.session)) {
      f.state = "delete_pending";
      f.pending_session = it->second->origin.session;
    } else if (m.pop3.hidden) {
      f.state = "hidden";
    } else if (m.pop3.retrieved) {
      f.state = "retrieved";
    } else {
      f.state = "visible";
    }
    out[m.guid] = f;
  }
  return out;
}

Result<Json> ViewsJson(storage::ReadView& view, const config::Config& config,
                       const storage::UserRecord& user) {
  auto inbox = view.FindMailbox(user.id, "INBOX");
  if (!inbox.ok()) return inbox.status();
  auto messages = view.ListMessages(inbox->id);
  auto journal =
      view.Journal(user.id, 0, std::max<std::uint64_t>(config.journal.max_events_per_user, 1));
  auto sessions = view.LiveSessions(user.id);
  auto pop3 = Pop3StatesOf(messages, journal, sessions);

  std::map<std::uint64_t, std::string> subjects;
  std::map<std::uint64_t, const storage::JournalEvent*> removed;
  using K = storage::JournalKind;
  for (const auto& ev : journal) {
    if (ev.guid && !ev.subject.empty()) subjects.emplace(ev.guid, ev.subject);
    if ((ev.kind == K::kPop3Deleted && ev.detail == "hide") || ev.kind == K::kPop3Unhidden) {
      continue;
    }
    bool moved_out = ev.kind == K::kMoved && (ev.detail == "moved from INBOX" ||
                                              ev.detail.starts_with("INBOX renamed to "));
    bool leaves = (ev.mailbox == "INBOX" && (ev.kind == K::kPop3Deleted ||
                                             ev.kind == K::kExpunged || ev.kind == K::kExpired)) ||
                  moved_out;
    if (leaves && ev.guid) removed[ev.guid] = &ev;
  }
  std::set<std::uint64_t> in_inbox;
  for (const auto& m : messages) in_inbox.insert(m.guid);

  Json msgs = Json::array();
  std::size_t number = 0;
  for (const auto& m : messages) {
    Json o;
    o["uid"] = m.uid;
    o["uidl"] = storage::FormatUidl(m.guid);
    o["pop3_number"] = m.pop3.hidden ? Json(nullptr) : Json(++number);
    o["size"] = m.size;
    o["flags"] = FlagNames(m.flags);
    o["hidden_from_pop3"] = m.pop3.hidden;
    o["downloaded"] = m.pop3.retrieved ? Json(IsoTime(m.pop3.retrieved)) : Json(nullptr);
    const Pop3Facts& f = pop3[m.guid];
    o["delete_pending_session"] = f.pending_session ? Json(f.pending_session) : Json(nullptr);
    o["pop3_state"] = f.state;
    auto s = subjects.find(m.guid);
    o["subject"] = s == subjects.end() ? "" : s->second;
    msgs.push_back(std::move(o));
  }
  std::vector<const storage::JournalEvent*> gone;
  for (const auto& [guid, ev] : removed) {
    if (!in_inbox.count(guid)) gone.push_back(ev);
  }
  std::sort(gone.begin(), gone.end(), [](const auto* a, const auto* b) {
    return std::tie(a->time, a->seq) < std::tie(b->time, b->seq);
  });
  Json gone_json = Json::array();
  for (const auto* ev : gone) gone_json.push_back(JournalEventJson(*ev));
  Json live = Json::array();
  Json lock = nullptr;
  for (const auto& s : sessions) {
    live.push_back({{"session", s.id},
                    {"protocol", s.protocol},
                    {"peer", s.peer},
                    {"mailbox", s.mailbox},
                    {"since", IsoTime(s.since)},
                    {"pid", s.pid},
                    {"holds_pop3_lock", s.holds_pop3_lock}});
    if (s.holds_pop3_lock) lock = s.id;
  }
  Json out;
  out["user"] = user.name;
  out["pop3_delete_mode"] = DeleteModeJson(config, user);
  out["pop3_delete_mode_explained"] = DeleteModeSentence(config, user);
  out["inbox"] = {{"messages", messages.size()},
                  {"pop3_visible", number},
                  {"uidvalidity", inbox->uidvalidity},
                  {"uidnext", inbox->uidnext}};
  out["messages"] = std::move(msgs);
  out["gone"] = std::move(gone_json);
  out["live_sessions"] = std::move(live);
  out["pop3_lock_session"] = lock;
  return out;
}

Status CheckNewUserName(std::string_view name) { return storage::ValidateUserName(name); }

Result<std::string> HashNewPassword(std::string_view password) {
  if (password.empty()) return Status::InvalidArgument("empty password");
  if (password.size() > kMaxPasswordBytes) return Status::InvalidArgument("password too long");
  return storage::HashPassword(password);
}

Result<std::string> CheckUserSetting(std::string_view key, const std::string& value) {
  if (value.empty()) {
    auto keys = config::UserSettingKeys();
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      Status s = config::ValidateUserSetting(key, "-");
      if (!s.ok()) return s;
    }
    return std::string();
  }
  if (Status s = config::ValidateUserSetting(key, value); !s.ok()) return s;
  return config::CanonicalUserSetting(key, value);
}

}  // namespace pillarbox::server::api
