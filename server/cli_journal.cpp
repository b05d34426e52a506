// `pillarbox journal NAME [--since TIME] [--follow]` and `pillarbox views
// NAME`: what happened to a user's messages, and what POP3 and IMAP see of
// the INBOX right now.
#include <signal.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>

#include "server/cli_internal.h"
#include "storage/uidl.h"

namespace pillarbox::server::cli {
namespace {

// How often --follow looks for new events.
constexpr int kFollowPollMs = 500;
// Width of the subject column of the journal (code points).
constexpr std::size_t kSubjectChars = 40;

std::atomic<bool> g_interrupted{false};

void OnInterrupt(int) { g_interrupted.store(true); }

storage::UnixTime Now() { return static_cast<storage::UnixTime>(std::time(nullptr)); }

std::string Dash(std::string s) { return s.empty() ? "-" : s; }

std::string PadRight(std::string s, std::size_t width) {
  std::size_t chars = 0;
  for (unsigned char c : s) chars += (c & 0xC0) != 0x80;
  if (chars < width) s.append(width - chars, ' ');
  return s;
}

// One journal event as a line. Fixed minimum widths keep the columns of a
// --follow stream aligned with the lines printed before it.
std::string JournalLine(const storage::JournalEvent& ev) {
  const std::pair<std::string, std::size_t> cells[] = {
      {FormatTime(ev.time), 20},
      {Dash(ev.origin.protocol), 9},
      {ev.origin.session ? "#" + std::to_string(ev.origin.session) : "-", 6},
      {Dash(CellText(ev.origin.peer, 46)), 15},
      {Dash(CellText(ev.mailbox, 40)), 8},
      {ev.uid ? "uid=" + std::to_string(ev.uid) : "-", 9},
      {ev.guid ? "uidl=" + storage::FormatUidl(ev.guid) : "-", 21},
      {"\"" + CellText(ev.subject, kSubjectChars) + "\"", 24},
      {std::string(storage::JournalKindName(ev.kind)), 19},
      {CellText(ev.detail, 200), 0},
  };
  std::string line;
  for (const auto& [text, width] : cells) {
    if (!line.empty()) line += "  ";
    line += PadRight(text, width);
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

}  // namespace

int Journal(const config::Config& config, const JournalArgs& args) {
  storage::UnixTime since = 0;
  if (!args.since.empty()) {
    auto t = ParseSince(args.since, Now());
    if (!t.ok()) {
      PrintError("journal: --since " + args.since + ": " + t.status().message());
      return kExitUsage;
    }
    since = *t;
  }
  int open_rc = kExitTempFail;
  auto admin = OpenStoreOrReport(config, &open_rc);
  if (!admin) return open_rc;
  storage::UserId user;
  {
    auto view = admin->Read();
    auto u = view->FindUser(args.user);
    if (!u.ok()) {
      PrintError("journal: no such user: " + args.user + InDataDir(config));
      return kExitNoUser;
    }
    user = u->id;
  }
  const std::size_t max_events = std::max<std::size_t>(config.journal.max_events_per_user, 1);
  // The last event printed, as (time, seq): --follow prints only later ones.
  std::tuple<storage::UnixTime, std::uint64_t> last{since, 0};
  bool printed_any = false;
  // Some events (a pending DELE, say) carry no subject; show the one an
  // earlier event of the same message had.
  std::map<std::uint64_t, std::string> subjects;
  auto print_new = [&]() {
    auto view = admin->Read();
    for (auto& ev : view->Journal(user, std::get<0>(last), max_events)) {
      std::tuple<storage::UnixTime, std::uint64_t> key{ev.time, ev.seq};
      if (printed_any && key <= last) continue;
      if (ev.guid && !ev.subject.empty()) subjects[ev.guid] = ev.subject;
      if (ev.guid && ev.subject.empty()) {
        if (auto it = subjects.find(ev.guid); it != subjects.end()) ev.subject = it->second;
      }
      std::printf("%s\n", JournalLine(ev).c_str());
      last = key;
      printed_any = true;
    }
    std::fflush(stdout);
  };
  print_new();
  if (!args.follow) return kExitOk;

  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  while (!g_interrupted.load()) {
    timespec ts{kFollowPollMs / 1000, (kFollowPollMs % 1000) * 1000000L};
    nanosleep(&ts, nullptr);  // a signal cuts it short
    if (g_interrupted.load()) break;
    {
      auto view = admin->Read();
      if (!view->GetUser(user).ok()) {
        PrintError("journal: the user " + args.user + " was deleted");
        return kExitNoUser;
      }
    }
    print_new();
  }
  return kExitOk;
}

int Views(const config::Config& config, const std::string& name) {
  int open_rc = kExitTempFail;
  auto admin = OpenStoreOrReport(config, &open_rc);
  if (!admin) return open_rc;
  auto view = admin->Read();
  auto user = view->FindUser(name);
  if (!user.ok()) {
    PrintError("views: no such user: " + name + InDataDir(config));
    return kExitNoUser;
  }
  auto inbox = view->FindMailbox(user->id, "INBOX");
  if (!inbox.ok()) {
    PrintError("views: " + name + " has no INBOX: " + inbox.status().message());
    return kExitFailure;
  }
  auto messages = view->ListMessages(inbox->id);
  auto journal =
      view->Journal(user->id, 0, std::max<std::uint64_t>(config.journal.max_events_per_user, 1));

  // What the journal knows per message (by GUID, which survives MOVE).
  std::map<std::uint64_t, std::string> subjects;
  std::map<std::uint64_t, const storage::JournalEvent*> hidden_by;  // POP3 delete in hide mode
  std::map<std::uint64_t, const storage::JournalEvent*> removed;    // left INBOX
  for (const auto& ev : journal) {
    if (ev.guid && !ev.subject.empty()) subjects.emplace(ev.guid, ev.subject);
    if (ev.kind == storage::JournalKind::kPop3Deleted && ev.detail == "hide") {
      hidden_by[ev.guid] = &ev;
      continue;
    }
    bool leaves =
        ev.kind == storage::JournalKind::kPop3Deleted || ev.kind == storage::JournalKind::kMoved ||
        ev.kind == storage::JournalKind::kExpunged || ev.kind == storage::JournalKind::kExpired;
    if (leaves && ev.mailbox == "INBOX" && ev.guid) removed[ev.guid] = &ev;
  }
  std::set<std::uint64_t> in_inbox;
  for (const auto& m : messages) in_inbox.insert(m.guid);

  // POP3 would number the messages that are not hidden 1..n, in UID order
  // (its snapshot at login; a session open now may hold an older one).
  std::size_t pop3_visible = 0;
  for (const auto& m : messages) pop3_visible += !m.pop3.hidden;
  std::printf("User %s, INBOX: %zu message%s, %zu visible to POP3 (UIDVALIDITY %u, UIDNEXT %u)\n\n",
              user->name.c_str(), messages.size(), messages.size() == 1 ? "" : "s", pop3_visible,
              inbox->uidvalidity, inbox->uidnext);

  std::printf("INBOX: POP3 view | IMAP view | what POP3 did\n");
  TextTable table({"POP3 #", "SIZE", "UIDL", "| IMAP UID", "FLAGS", "| POP3 STATE", "SUBJECT"});
  std::size_t number = 0;
  for (const auto& m : messages) {
    std::string pop3_no = "-", size = "-", uidl = storage::FormatUidl(m.guid);
    if (!m.pop3.hidden) {
      pop3_no = std::to_string(++number);
      size = std::to_string(m.size);
    }
    std::string state;
    if (m.pop3.hidden) {
      auto it = hidden_by.find(m.guid);
      state = "hidden from POP3";
      if (it != hidden_by.end())
        state += " (deleted via POP3 " + FormatTime(it->second->time) + ")";
    } else if (m.pop3.retrieved) {
      state = "downloaded " + FormatTime(m.pop3.retrieved);
    } else {
      state = "not downloaded";
    }
    if (m.pop3.hidden && m.pop3.retrieved) state += ", downloaded " + FormatTime(m.pop3.retrieved);
    auto subject = subjects.find(m.guid);
    table.AddRow({pop3_no, size, uidl, "| " + std::to_string(m.uid), Dash(FormatFlags(m.flags)),
                  "| " + state, CellText(subject == subjects.end() ? "" : subject->second, 50)});
  }
  if (table.empty()) {
    std::printf("  (empty)\n");
  } else {
    std::fputs(table.Render().c_str(), stdout);
  }

  TextTable gone({"TIME", "EVENT", "BY", "SESSION", "UID", "UIDL", "DETAIL", "SUBJECT"});
  for (const auto& [guid, ev] : removed) {
    if (in_inbox.count(guid)) continue;  // moved back since
    gone.AddRow({FormatTime(ev->time), std::string(storage::JournalKindName(ev->kind)),
                 Dash(ev->origin.protocol),
                 ev->origin.session ? "#" + std::to_string(ev->origin.session) : "-",
                 std::to_string(ev->uid), storage::FormatUidl(guid), Dash(CellText(ev->detail, 40)),
                 CellText(ev->subject, 50)});
  }
  std::printf("\nGone from INBOX (from the journal)\n");
  if (gone.empty()) {
    std::printf("  (none recorded)\n");
  } else {
    std::fputs(gone.Render().c_str(), stdout);
  }

  auto sessions = view->LiveSessions(user->id);
  std::printf("\nLive sessions\n");
  const storage::ReadView::LiveSession* lock_holder = nullptr;
  if (sessions.empty()) {
    std::printf("  (none)\n");
  } else {
    TextTable live({"SESSION", "PROTOCOL", "CLIENT", "MAILBOX", "SINCE", "PID", "POP3 LOCK"});
    for (const auto& s : sessions) {
      if (s.holds_pop3_lock) lock_holder = &s;
      live.AddRow({"#" + std::to_string(s.id), s.protocol, Dash(CellText(s.peer, 46)),
                   Dash(CellText(s.mailbox, 40)), FormatTime(s.since), std::to_string(s.pid),
                   s.holds_pop3_lock ? "holds" : "-"});
    }
    std::fputs(live.Render().c_str(), stdout);
  }
  if (lock_holder) {
    std::printf("\nPOP3 lock: held by session #%llu (%s, pid %llu) since %s\n",
                static_cast<unsigned long long>(lock_holder->id), Dash(lock_holder->peer).c_str(),
                static_cast<unsigned long long>(lock_holder->pid),
                FormatTime(lock_holder->since).c_str());
  } else {
    std::printf("\nPOP3 lock: free\n");
  }
  return kExitOk;
}

}  // namespace pillarbox::server::cli
