#include "server/views_json.h"

#include <ctime>

#include "storage/uidl.h"

namespace pillarbox::server {

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string IsoTime(storage::UnixTime t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::vector<std::string> FlagNames(const storage::Flags& flags) {
  std::vector<std::string> out;
  static const std::pair<std::uint32_t, const char*> kNames[] = {
      {storage::kFlagSeen, "\\Seen"},       {storage::kFlagAnswered, "\\Answered"},
      {storage::kFlagFlagged, "\\Flagged"}, {storage::kFlagDeleted, "\\Deleted"},
      {storage::kFlagDraft, "\\Draft"},
  };
  for (const auto& [bit, name] : kNames) {
    if (flags.system & bit) out.emplace_back(name);
  }
  for (const auto& k : flags.keywords) out.push_back(k);
  return out;
}

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

Json DeleteModeJson(const services::DeleteModeInEffect& mode) {
  return {{"mode", mode.mode}, {"source", mode.source}};
}

std::string DeleteModeSentence(const services::DeleteModeInEffect& d) {
  const std::string& mode = d.mode;
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

std::string_view Pop3State(const services::InboxRow& row) {
  if (row.pending_session) return "delete_pending";
  if (row.message.pop3.hidden) return "hidden";
  if (row.message.pop3.retrieved) return "retrieved";
  return "visible";
}

Json ViewsJson(const services::InboxView& v) {
  Json msgs = Json::array();
  for (const auto& r : v.rows) {
    const auto& m = r.message;
    Json o;
    o["uid"] = m.uid;
    o["uidl"] = storage::MessageUidl(m);
    o["pop3_number"] = r.pop3_number ? Json(r.pop3_number) : Json(nullptr);
    o["size"] = m.size;
    o["flags"] = FlagNames(m.flags);
    o["hidden_from_pop3"] = m.pop3.hidden;
    o["downloaded"] = m.pop3.retrieved ? Json(IsoTime(m.pop3.retrieved)) : Json(nullptr);
    o["delete_pending_session"] = r.pending_session ? Json(r.pending_session) : Json(nullptr);
    o["pop3_state"] = Pop3State(r);
    o["subject"] = r.subject;
    msgs.push_back(std::move(o));
  }
  Json gone = Json::array();
  for (const auto& ev : v.gone) gone.push_back(JournalEventJson(ev));
  Json live = Json::array();
  for (const auto& s : v.sessions) {
    live.push_back({{"session", s.id},
                    {"protocol", s.protocol},
                    {"peer", s.peer},
                    {"mailbox", s.mailbox},
                    {"since", IsoTime(s.since)},
                    {"pid", s.pid},
                    {"holds_pop3_lock", s.holds_pop3_lock},
                    {"client_id", s.client_id}});
  }
  Json out;
  out["user"] = v.user.name;
  out["pop3_delete_mode"] = DeleteModeJson(v.delete_mode);
  out["pop3_delete_mode_explained"] = DeleteModeSentence(v.delete_mode);
  out["inbox"] = {{"messages", v.rows.size()},
                  {"pop3_visible", v.pop3_visible},
                  {"uidvalidity", v.inbox.uidvalidity},
                  {"uidnext", v.inbox.uidnext}};
  out["messages"] = std::move(msgs);
  out["gone"] = std::move(gone);
  out["live_sessions"] = std::move(live);
  out["pop3_lock_session"] = v.pop3_lock_holder ? Json(v.pop3_lock_holder->id) : Json(nullptr);
  return out;
}

}  // namespace pillarbox::server
