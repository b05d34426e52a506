// `pillarbox journal NAME [--since TIME] [--follow] [--json]` and `pillarbox
// views NAME [--json]`: what happened to a user's messages, and what POP3 and
// IMAP see of the INBOX right now. The JSON field names are documented in
// README.md and stay stable; text output is for people and may change.
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <string>
#include <utility>

#include "common/strings.h"
#include "server/cli_internal.h"
#include "server/views_json.h"
#include "services/journal.h"
#include "services/settings.h"
#include "storage/uidl.h"

namespace pillarbox::server::cli {
namespace {

// How often --follow looks for new events.
constexpr int kFollowPollMs = 500;
// Width of the subject column of the journal (code points).
constexpr std::size_t kSubjectChars = 40;
// `views` fits a terminal of this many columns (subjects are cut to fit).
constexpr std::size_t kViewsColumns = 100;

std::atomic<bool> g_interrupted{false};

void OnInterrupt(int) { g_interrupted.store(true); }

storage::UnixTime Now() { return static_cast<storage::UnixTime>(std::time(nullptr)); }

std::string Dash(std::string s) { return s.empty() ? "-" : s; }

std::size_t Width(std::string_view s) {
  std::size_t chars = 0;
  for (unsigned char c : s) chars += (c & 0xC0) != 0x80;
  return chars;
}

std::string PadRight(std::string s, std::size_t width) {
  std::size_t chars = Width(s);
  if (chars < width) s.append(width - chars, ' ');
  return s;
}

// "2026-11-26 10:00", for the narrow columns of `views`.
std::string ShortTime(storage::UnixTime t) {
  std::string full = IsoTime(t);  // 2026-11-26T10:00:00Z
  return full.substr(0, 10) + " " + full.substr(11, 5);
}

// --- the delete mode in effect (services::DeleteModeOf) ----------------------

using services::DeleteModeInEffect;
using services::DeleteModeOf;

// One journal event as a line. Fixed minimum widths keep the columns of a
// --follow stream aligned with the lines printed before it.
constexpr std::pair<const char*, std::size_t> kJournalColumns[] = {
    {"TIME", 20}, {"BY", 9},    {"SESSION", 7},  {"CLIENT", 15}, {"MAILBOX", 8},
    {"UID", 9},   {"UIDL", 21}, {"SUBJECT", 24}, {"EVENT", 19},  {"DETAIL", 0},
};

std::string JoinCells(const std::vector<std::string>& cells) {
  std::string line;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (i) line += "  ";
    line += PadRight(cells[i], kJournalColumns[i].second);
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

std::string JournalHeader() {
  std::vector<std::string> cells;
  for (const auto& [name, width] : kJournalColumns) cells.emplace_back(name);
  return JoinCells(cells);
}

std::string JournalLine(const storage::JournalEvent& ev) {
  return JoinCells({
      IsoTime(ev.time),
      Dash(ev.origin.protocol),
      ev.origin.session ? "#" + std::to_string(ev.origin.session) : "-",
      Dash(CellText(ev.origin.peer, 46)),
      Dash(CellText(ev.mailbox, 40)),
      ev.uid ? "uid=" + std::to_string(ev.uid) : "-",
      ev.guid ? "uidl=" + storage::FormatUidl(ev.guid) : "-",
      "\"" + CellText(ev.subject, kSubjectChars) + "\"",
      std::string(storage::JournalKindName(ev.kind)),
      CellText(ev.detail, 200),
  });
}

// Renders `rows` under `header` so that no line is wider than `columns`:
// the last column gets what the others leave (at least one character).
// REQUIRES: every cell but the last is already cut to a bounded width.
std::string RenderFitted(std::vector<std::string> header,
                         std::vector<std::vector<std::string>> rows, std::size_t columns) {
  const std::size_t n = header.size();
  std::vector<std::size_t> widths(n, 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i + 1 < n && i < row.size(); ++i) {
      widths[i] = std::max(widths[i], Width(row[i]));
    }
  };
  measure(header);
  for (const auto& r : rows) measure(r);
  std::size_t used = 0;
  for (std::size_t i = 0; i + 1 < n; ++i) used += widths[i] + 2;
  std::size_t last = columns > used ? columns - used : 1;
  TextTable table(std::move(header));
  for (auto& r : rows) {
    if (r.size() == n) r[n - 1] = CellText(r[n - 1], last);
    table.AddRow(std::move(r));
  }
  return table.Render();
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
  DeleteModeInEffect mode;
  std::string user_name;
  {
    auto view = admin->Read();
    auto u = view->FindUser(args.user);
    if (!u.ok()) {
      PrintError("journal: no such user: " + args.user + InDataDir(config));
      return kExitNoUser;
    }
    user = u->id;
    user_name = u->name;
    mode = DeleteModeOf(config, *u);
  }
  services::JournalReader reader(user, since, config.journal.max_events_per_user);
  // --json without --follow: one array; with --follow: one object per line
  // (an array cannot be streamed).
  Json json_events = Json::array();
  if (!args.json) {
    std::printf("# %s: POP3 delete mode %s\n", CellText(user_name, 64).c_str(),
                mode.Describe().c_str());
    std::printf("%s\n", JournalHeader().c_str());
  }
  auto print_new = [&]() {
    auto view = admin->Read();
    for (const auto& ev : reader.Next(*view)) {
      if (!args.json) {
        std::printf("%s\n", JournalLine(ev).c_str());
      } else if (args.follow) {
        std::printf("%s\n", Dump(JournalEventJson(ev)).c_str());
      } else {
        json_events.push_back(JournalEventJson(ev));
      }
    }
    std::fflush(stdout);
  };
  print_new();
  if (!args.follow) {
    if (args.json) std::printf("%s\n", Dump(json_events).c_str());
    return kExitOk;
  }

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

int Views(const config::Config& config, const ViewsArgs& args) {
  const std::string& name = args.user;
  int open_rc = kExitTempFail;
  auto admin = OpenStoreOrReport(config, &open_rc);
  if (!admin) return open_rc;
  services::InboxView v;
  if (auto o = services::BuildInboxView(admin->store(), config, name, &v); !o.ok()) {
    if (o.code() == services::Code::kNoSuchUser) {
      PrintError("views: no such user: " + name + InDataDir(config));
      return kExitNoUser;
    }
    PrintError("views: " + o.message());
    return kExitFailure;
  }
  const auto& rows = v.rows;
  const auto& sessions = v.sessions;
  const auto& mode = v.delete_mode;
  const std::size_t pop3_visible = v.pop3_visible;
  const std::size_t message_count = v.rows.size();
  const storage::UserRecord* user = &v.user;
  const storage::MailboxRecord* inbox = &v.inbox;
  const storage::ReadView::LiveSession* lock_holder =
      v.pop3_lock_holder ? &*v.pop3_lock_holder : nullptr;

  if (args.json) {
    std::printf("%s\n", Dump(ViewsJson(v)).c_str());
    return kExitOk;
  }

  auto line = [](const std::string& text) {
    std::printf("%s\n", CellText(text, kViewsColumns).c_str());
  };
  line("User " + CellText(user->name, 32) + ", INBOX: " + std::to_string(message_count) +
       (message_count == 1 ? " message, " : " messages, ") + std::to_string(pop3_visible) +
       " visible to POP3 (UIDVALIDITY " + std::to_string(inbox->uidvalidity) + ", UIDNEXT " +
       std::to_string(inbox->uidnext) + ")");
  line("POP3 delete mode: " + mode.Describe());
  std::printf("\n");

  std::printf("INBOX: POP3 view | IMAP view | what POP3 did\n");
  std::vector<std::vector<std::string>> table;
  for (const auto& r : rows) {
    const auto& m = r.message;
    std::string state;
    if (r.pending_session) {
      state = "delete pending #" + std::to_string(r.pending_session);
    } else if (m.pop3.hidden) {
      state = "hidden from POP3";
    } else if (m.pop3.retrieved) {
      state = "downloaded " + ShortTime(m.pop3.retrieved).substr(0, 10);
    } else {
      state = "not downloaded";
    }
    table.push_back({r.pop3_number ? std::to_string(r.pop3_number) : "-",
                     r.pop3_number ? std::to_string(m.size) : "-", storage::MessageUidl(m),
                     std::to_string(m.uid), Dash(CellText(FormatFlags(m.flags), 16)),
                     CellText(state, 30), r.subject});
  }
  if (table.empty()) {
    std::printf("  (empty)\n");
  } else {
    std::fputs(
        RenderFitted({"POP3 #", "SIZE", "UIDL", "IMAP UID", "FLAGS", "POP3 STATE", "SUBJECT"},
                     std::move(table), kViewsColumns)
            .c_str(),
        stdout);
  }

  std::vector<std::vector<std::string>> gone_rows;
  for (const auto& ev : v.gone) {
    std::string by = Dash(ev.origin.protocol);
    if (ev.origin.session) by += " #" + std::to_string(ev.origin.session);
    gone_rows.push_back({ShortTime(ev.time), std::string(storage::JournalKindName(ev.kind)),
                         CellText(by, 18), storage::FormatUidl(ev.guid),
                         Dash(CellText(ev.detail, 32)), ev.subject});
  }
  std::printf("\nGone from INBOX (from the journal)\n");
  if (gone_rows.empty()) {
    std::printf("  (none recorded)\n");
  } else {
    std::fputs(RenderFitted({"TIME", "EVENT", "BY", "UIDL", "DETAIL", "SUBJECT"},
                            std::move(gone_rows), kViewsColumns)
                   .c_str(),
               stdout);
  }

  std::printf("\nLive sessions\n");
  if (sessions.empty()) {
    std::printf("  (none)\n");
  } else {
    std::vector<std::vector<std::string>> live;
    for (const auto& s : sessions) {
      live.push_back({"#" + std::to_string(s.id), CellText(s.protocol, 8),
                      Dash(CellText(s.peer, 24)), Dash(CellText(s.mailbox, 16)), ShortTime(s.since),
                      std::to_string(s.pid), s.holds_pop3_lock ? "holds" : "-", Dash(s.client_id)});
    }
    std::fputs(RenderFitted({"SESSION", "PROTOCOL", "CLIENT", "MAILBOX", "SINCE", "PID",
                             "POP3 LOCK", "CLIENT ID"},
                            std::move(live), kViewsColumns)
                   .c_str(),
               stdout);
  }
  if (lock_holder) {
    std::printf("\n");
    line("POP3 lock: held by session #" + std::to_string(lock_holder->id) + " (" +
         Dash(CellText(lock_holder->peer, 24)) + ", pid " + std::to_string(lock_holder->pid) +
         ") since " + IsoTime(lock_holder->since));
  } else {
    std::printf("\nPOP3 lock: free\n");
  }
  return kExitOk;
}

}  // namespace pillarbox::server::cli
