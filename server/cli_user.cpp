// `pillarbox user ...`: add, passwd, del, list, set, quota, unhide.
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "server/cli_internal.h"
#include "services/users.h"

namespace pillarbox::server::cli {
namespace {

// Longest password read from stdin or the terminal (services::HashNewPassword).
constexpr std::size_t kMaxPasswordBytes = services::kMaxPasswordBytes;

// Reads one line from `fd` without the line ending. nullopt on EOF before
// any byte or on a read error.
std::optional<std::string> ReadLine(int fd) {
  std::string line;
  bool any = false;
  char c;
  while (true) {
    ssize_t n = read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    any = true;
    if (c == '\n') break;
    if (line.size() < kMaxPasswordBytes + 1) line += c;
  }
  if (!any) return std::nullopt;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// Restores the terminal's echo setting when it goes out of scope.
class NoEcho {
 public:
  explicit NoEcho(int fd) : fd_(fd) {
    if (tcgetattr(fd_, &saved_) == 0) {
      termios quiet = saved_;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      quiet.c_lflag |= ECHONL;
      active_ = tcsetattr(fd_, TCSAFLUSH, &quiet) == 0;
    }
  }
  ~NoEcho() {
    if (active_) tcsetattr(fd_, TCSAFLUSH, &saved_);
  }
  NoEcho(const NoEcho&) = delete;
  NoEcho& operator=(const NoEcho&) = delete;

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

Result<std::string> PromptPassword() {
  int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return Status::InvalidArgument(
        "no terminal to ask for the password; use --password-stdin or --hash");
  }
  auto ask = [fd](const char* prompt) -> std::optional<std::string> {
    // Echo off before the prompt: anything typed ahead of it is discarded
    // (TCSAFLUSH) rather than taken as the password.
    NoEcho quiet(fd);
    (void)!write(fd, prompt, std::strlen(prompt));
    return ReadLine(fd);
  };
  auto first = ask("New password: ");
  std::optional<std::string> second;
  if (first) second = ask("Retype new password: ");
  close(fd);
  if (!first || !second) return Status::InvalidArgument("no password entered");
  if (*first != *second) return Status::InvalidArgument("the passwords do not match");
  return *first;
}

// The hash to store: an imported one (checked by CheckArgs), or a yescrypt
// hash of the password read from stdin or the terminal.
Result<std::string> HashFromArgs(const UserArgs& args) {
  if (!args.hash.empty()) return args.hash;
  std::string password;
  if (args.password_stdin) {
    auto line = ReadLine(STDIN_FILENO);
    if (!line) return Status::InvalidArgument("no password on stdin");
    password = std::move(*line);
  } else {
    auto typed = PromptPassword();
    if (!typed.ok()) return typed.status();
    password = std::move(*typed);
  }
  std::string hash;
  services::Outcome o = services::HashNewPassword(password, &hash);
  // Best effort: do not leave the password in freed memory.
  std::fill(password.begin(), password.end(), '\0');
  if (!o.ok()) return Status::InvalidArgument(o.message());
  return hash;
}

// The one mapping of service codes to exit statuses for `user ...`.
int ExitFor(services::Code code) {
  switch (code) {
    case services::Code::kOk:
      return kExitOk;
    case services::Code::kBadInput:
      return kExitUsage;
    case services::Code::kNoSuchUser:
      return kExitNoUser;
    case services::Code::kTemporary:
      return kExitTempFail;
    default:
      return kExitFailure;
  }
}

// Prints why `what` failed and returns its exit status. "no such user" and
// "already exists" name the data directory: the usual cause is the wrong one.
int Fail(const config::Config& config, const std::string& what, const services::Outcome& o) {
  switch (o.code()) {
    case services::Code::kNoSuchUser:
      PrintError(what + ": no such user" + InDataDir(config));
      break;
    case services::Code::kExists:
      PrintError(what + ": the user already exists" + InDataDir(config));
      break;
    default:
      PrintError(what + ": " + o.message());
  }
  return ExitFor(o.code());
}

std::string QuotaText(std::uint64_t value, bool is_default, bool bytes) {
  if (value == 0) return "unlimited";
  std::string s = bytes ? FormatBytes(value) : std::to_string(value);
  return is_default ? s + " (default)" : s;
}

// Checks the name (for `user add`) and an imported hash before anything is
// opened or asked for. Prints why and returns false when they are refused.
bool CheckArgs(const char* command, const UserArgs& args, bool check_name) {
  if (check_name) {
    if (auto o = services::CheckNewUserName(args.name); !o.ok()) {
      PrintError(std::string(command) + ": " + o.message());
      return false;
    }
  }
  if (!args.hash.empty()) {
    if (auto o = services::CheckImportedHash(args.hash); !o.ok()) {
      PrintError(std::string(command) + " " + args.name + ": --hash: " + o.message());
      return false;
    }
  }
  return true;
}

}  // namespace

int UserAdd(const config::Config& config, const UserArgs& args) {
  const std::string what = "user add " + args.name;
  if (!CheckArgs("user add", args, /*check_name=*/true)) return kExitUsage;
  int open_rc = kExitTempFail;
  auto admin = OpenStoreOrReport(config, &open_rc);
  if (!admin) return open_rc;
  // Say so before asking for a password that would be of no use.
  storage::UserRecord existing;
  if (services::FindUser(admin->store(), args.name, &existing).ok()) {
    return Fail(config, what, {services::Code::kExists, ""});
  }
  auto hash = HashFromArgs(args);
  if (!hash.ok()) {
    PrintError(what + ": " + hash.status().message());
    return kExitFailure;
  }
  auto [o, user] = admin->Await<storage::UserRecord>(
      [&](auto done) { services::AddUser(admin->store(), args.name, *hash, std::move(done)); });
  if (!o.ok()) return Fail(config, what, o);
  std::printf("user %s added\n", user.name.c_str());
  return kExitOk;
}

int UserPasswd(const config::Config& config, const UserArgs& args) {
  const std::string what = "user passwd " + args.name;
  if (!CheckArgs("user passwd", args, /*check_name=*/false)) return kExitUsage;
  int open_rc = kExitTempFail;
  auto admin = OpenStoreOrReport(config, &open_rc);
  if (!admin) return open_rc;
  storage::UserRecord user;
  if (auto o = services::FindUser(admin->store(), args.name, &user); !o.ok()) {
    return Fail(config, what, o);
  }
  auto hash = HashFromArgs(args);
  if (!hash.ok()) {
    PrintError(what + ": " + hash.status().message());
    return kExitFailure;
  }
  auto o = admin->AwaitOutcome(
      [&](auto done) { services::SetPassword(admin->store(), args.name, *hash, std::move(done)); });
  if (!o.ok()) return Fail(config, what, o);
  std::printf("password of %s changed\n", args.name.c_str());
  return kExitOk;
}

int UserDel(const config::Config& config, const UserArgs& args) {
  const std::string what = "user del " + args.name;
  int open_rc = kExitTempFail;
  auto admin = OpenStoreOrReport(config, &open_rc);
  if (!admin) return open_rc;
  // A person at a terminal confirms by typing the name; scripts (stdin not
  // a terminal) and --yes do not ask.
  if (!args.yes && isatty(STDIN_FILENO)) {
    storage::UserRecord user;
    if (auto o = services::FindUser(admin->store(), args.name, &user); !o.ok()) {
      return Fail(config, what, o);
    }
    std::printf(
        "This deletes user %s and all their mail (%llu messages, %llu bytes), and ends their "
        "open sessions. It cannot be undone.\nType the user name to confirm: ",
        args.name.c_str(), static_cast<unsigned long long>(user.used_messages),
        static_cast<unsigned long long>(user.used_bytes));
    std::fflush(stdout);
    char line[256];
    std::string answer = std::fgets(line, sizeof line, stdin) ? line : "";
    while (!answer.empty() && (answer.back() == '\n' || answer.back() == '\r')) answer.pop_back();
    if (answer != args.name) {
      PrintError(what + ": not confirmed; nothing was deleted");
      return kExitFailure;
    }
  }
  auto o = admin->AwaitOutcome(
      [&](auto done) { services::DeleteUser(admin->store(), args.name, std::move(done)); });
  if (!o.ok()) return Fail(config, what, o);
  std::printf("user %s deleted\n", args.name.c_str());
  return kExitOk;
}

int UserList(const config::Config& config) {
  int open_rc = kExitTempFail;
  auto admin = OpenStoreOrReport(config, &open_rc);
  if (!admin) return open_rc;
  TextTable table({"NAME", "MESSAGES", "SIZE", "QUOTA", "QUOTA MESSAGES", "CREATED", "SETTINGS"});
  for (const auto& s : services::ListUsers(admin->store(), config)) {
    const auto& u = s.record;
    std::string settings;
    for (const auto& [k, v] : u.settings) {
      if (!settings.empty()) settings += ' ';
      settings += k + "=" + v;
    }
    table.AddRow({CellText(u.name, 64), std::to_string(u.used_messages), FormatBytes(u.used_bytes),
                  QuotaText(s.quota.bytes, s.default_quota_bytes, true),
                  QuotaText(s.quota.messages, s.default_quota_messages, false), IsoTime(u.created),
                  CellText(settings, 200)});
  }
  std::fputs(table.Render().c_str(), stdout);
  return kExitOk;
}

int UserSet(const config::Config& config, const UserArgs& args) {
  services::SettingChange change;
  if (auto o = services::ParseSetting(args.setting, &change); !o.ok()) {
    PrintError((args.setting.find('=') == std::string::npos ? "user set: "
                                                            : "user set " + args.name + ": ") +
               o.message());
    return kExitUsage;
  }
  int open_rc = kExitTempFail;
  auto admin = OpenStoreOrReport(config, &open_rc);
  if (!admin) return open_rc;
  auto [o, done] = admin->Await<services::SettingChange>([&](auto cb) {
    services::SetUserSetting(admin->store(), args.name, change.key, change.value, std::move(cb));
  });
  if (!o.ok()) return Fail(config, "user set " + args.name, o);
  if (done.removed()) {
    std::printf("%s: %s removed (the configured value applies)\n", args.name.c_str(),
                done.key.c_str());
  } else {
    std::printf("%s: %s = %s\n", args.name.c_str(), done.key.c_str(), done.value.c_str());
  }
  return kExitOk;
}

int UserQuota(const config::Config& config, const UserArgs& args) {
  const std::string what = "user quota " + args.name;
  storage::QuotaLimits quota;
  if (auto o = services::ParseQuota(args.bytes, args.messages, &quota); !o.ok()) {
    PrintError(what + ": " + o.message());
    return kExitUsage;
  }
  int open_rc = kExitTempFail;
  auto admin = OpenStoreOrReport(config, &open_rc);
  if (!admin) return open_rc;
  auto o = admin->AwaitOutcome(
      [&](auto done) { services::SetQuota(admin->store(), args.name, quota, std::move(done)); });
  if (!o.ok()) return Fail(config, what, o);
  storage::UserRecord user;
  user.quota_bytes = quota.bytes;
  user.quota_messages = quota.messages;
  auto shown = storage::EffectiveQuota(user, {config.quota.storage_bytes, config.quota.messages});
  std::printf("quota of %s: %s, %s messages\n", args.name.c_str(),
              QuotaText(shown.bytes, quota.bytes == 0, true).c_str(),
              QuotaText(shown.messages, quota.messages == 0, false).c_str());
  return kExitOk;
}

int UserUnhide(const config::Config& config, const UserUnhideArgs& args) {
  const std::string what = "user unhide " + args.name;
  if (args.all == !args.uids.empty()) {
    PrintError(what + ": give --all or the UIDs of the messages");
    return kExitUsage;
  }
  std::optional<std::vector<storage::Uid>> uids;
  if (!args.all) {
    uids.emplace();
    if (auto o = services::ParseUids(args.uids, &*uids); !o.ok()) {
      PrintError(what + ": " + o.message());
      return kExitUsage;
    }
  }
  int open_rc = kExitTempFail;
  auto admin = OpenStoreOrReport(config, &open_rc);
  if (!admin) return open_rc;
  storage::Origin origin;
  origin.protocol = "cli";
  auto [o, done] = admin->Await<services::UnhideResult>(
      [&](auto cb) { services::Unhide(admin->store(), args.name, uids, origin, std::move(cb)); });
  if (!o.ok()) return Fail(config, what, o);
  std::string list;
  for (storage::Uid uid : done.unhidden) list += (list.empty() ? "" : " ") + std::to_string(uid);
  std::string line = done.user + ": " + std::to_string(done.unhidden.size()) +
                     (done.unhidden.size() == 1 ? " message" : " messages") +
                     " visible to POP3 again";
  if (!list.empty()) line += " (INBOX UIDs " + list + ")";
  std::printf("%s\n", line.c_str());
  for (storage::Uid uid : done.not_found) {
    std::printf("UID %u: not hidden from POP3, or not in INBOX\n", uid);
  }
  return kExitOk;
}

}  // namespace pillarbox::server::cli
