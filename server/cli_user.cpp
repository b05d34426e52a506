// `pillarbox user ...`: add, passwd, del, list, set, quota, unhide.
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>

#include "server/cli_internal.h"

namespace pillarbox::server::cli {
namespace {

// Longest password accepted from stdin or the terminal; yescrypt takes any
// length, this only bounds what we read.
constexpr std::size_t kMaxPasswordBytes = 4096;

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

// The hash to store: an imported one (validated), or a yescrypt hash of the
// password read from stdin or the terminal.
Result<std::string> HashFromArgs(const UserArgs& args) {
  if (!args.hash.empty()) return args.hash;  // checked by CheckArgs
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
  if (password.empty()) return Status::InvalidArgument("empty password");
  if (password.size() > kMaxPasswordBytes) return Status::InvalidArgument("password too long");
  auto hash = storage::HashPassword(password);
  // Best effort: do not leave the password in freed memory.
  std::fill(password.begin(), password.end(), '\0');
  return hash;
}

int Fail(const std::string& what, const Status& s) {
  PrintError(what + ": " + s.message());
  return s.code() == Code::kNotFound ? kExitNoUser : kExitFailure;
}

std::string QuotaText(std::uint64_t own, std::uint64_t dflt, bool bytes) {
  std::uint64_t v = own ? own : dflt;
  if (v == 0) return "unlimited";
  std::string s = bytes ? FormatBytes(v) : std::to_string(v);
  return own ? s : s + " (default)";
}

// Checks the name (for `user add`) and an imported hash before anything is
// opened or asked for. Prints why and returns false when they are refused.
bool CheckArgs(const char* command, const UserArgs& args, bool check_name) {
  if (check_name) {
    if (Status s = storage::ValidateUserName(args.name); !s.ok()) {
      PrintError(std::string(command) + ": " + s.message());
      return false;
    }
  }
  if (!args.hash.empty()) {
    if (Status s = storage::ValidatePasswordHash(args.hash); !s.ok()) {
      PrintError(std::string(command) + " " + args.name + ": --hash: " + s.message());
      return false;
    }
  }
  return true;
}

}  // namespace

int UserAdd(const config::Config& config, const UserArgs& args) {
  if (!CheckArgs("user add", args, /*check_name=*/true)) return kExitUsage;
  int open_rc = kExitTempFail;
  auto admin = OpenStoreOrReport(config, &open_rc);
  if (!admin) return open_rc;
  // Say so before asking for a password that would be of no use.
  if (admin->Read()->FindUser(args.name).ok()) {
    PrintError("user add " + args.name + ": the user already exists" + InDataDir(config));
    return kExitFailure;
  }
  auto hash = HashFromArgs(args);
  if (!hash.ok()) return Fail("user add " + args.name, hash.status());
  auto user = admin->Wait<storage::UserRecord>([&](storage::Callback<storage::UserRecord> done) {
    admin->store().CreateUser(args.name, *hash, std::move(done));
  });
  if (!user.ok()) {
    if (user.status().code() == Code::kExists) {
      PrintError("user add " + args.name + ": the user already exists" + InDataDir(config));
      return kExitFailure;
    }
    return Fail("user add " + args.name, user.status());
  }
  std::printf("user %s added\n", user->name.c_str());
  return kExitOk;
}

int UserPasswd(const config::Config& config, const UserArgs& args) {
  if (!CheckArgs("user passwd", args, /*check_name=*/false)) return kExitUsage;
  int open_rc = kExitTempFail;
  auto admin = OpenStoreOrReport(config, &open_rc);
  if (!admin) return open_rc;
  {
    auto view = admin->Read();
    auto found = view->FindUser(args.name);
    if (!found.ok()) {
      PrintError("user passwd " + args.name + ": no such user" + InDataDir(config));
      return kExitNoUser;
    }
  }
  auto hash = HashFromArgs(args);
  if (!hash.ok()) return Fail("user passwd " + args.name, hash.status());
  Status s = admin->WaitStatus([&](storage::StatusCallback done) {
    admin->store().SetPassword(args.name, *hash, std::move(done));
  });
  if (!s.ok()) return Fail("user passwd " + args.name, s);
  std::printf("password of %s changed\n", args.name.c_str());
  return kExitOk;
}

int UserDel(const config::Config& config, const UserArgs& args) {
  int open_rc = kExitTempFail;
  auto admin = OpenStoreOrReport(config, &open_rc);
  if (!admin) return open_rc;
  // A person at a terminal confirms by typing the name; scripts (stdin not
  // a terminal) and --yes do not ask.
  if (!args.yes && isatty(STDIN_FILENO)) {
    std::uint64_t messages = 0, bytes = 0;
    {
      auto user = admin->Read()->FindUser(args.name);
      if (!user.ok()) {
        PrintError("user del " + args.name + ": no such user" + InDataDir(config));
        return kExitNoUser;
      }
      messages = user->used_messages;
      bytes = user->used_bytes;
    }
    std::printf(
        "This deletes user %s and all their mail (%llu messages, %llu bytes), and ends their "
        "open sessions. It cannot be undone.\nType the user name to confirm: ",
        args.name.c_str(), static_cast<unsigned long long>(messages),
        static_cast<unsigned long long>(bytes));
    std::fflush(stdout);
    char line[256];
    std::string answer = std::fgets(line, sizeof line, stdin) ? line : "";
    while (!answer.empty() && (answer.back() == '\n' || answer.back() == '\r')) answer.pop_back();
    if (answer != args.name) {
      PrintError("user del " + args.name + ": not confirmed; nothing was deleted");
      return kExitFailure;
    }
  }
  Status s = admin->WaitStatus(
      [&](storage::StatusCallback done) { admin->store().DeleteUser(args.name, std::move(done)); });
  if (!s.ok()) {
    if (s.code() == Code::kNotFound) {
      PrintError("user del " + args.name + ": no such user" + InDataDir(config));
      return kExitNoUser;
    }
    return Fail("user del " + args.name, s);
  }
  std::printf("user %s deleted\n", args.name.c_str());
  return kExitOk;
}

int UserList(const config::Config& config) {
  int open_rc = kExitTempFail;
  auto admin = OpenStoreOrReport(config, &open_rc);
  if (!admin) return open_rc;
  auto view = admin->Read();
  TextTable table({"NAME", "MESSAGES", "SIZE", "QUOTA", "QUOTA MESSAGES", "CREATED", "SETTINGS"});
  for (const auto& u : view->ListUsers()) {
    std::string settings;
    for (const auto& [k, v] : u.settings) {
      if (!settings.empty()) settings += ' ';
      settings += k + "=" + v;
    }
    table.AddRow({CellText(u.name, 64), std::to_string(u.used_messages), FormatBytes(u.used_bytes),
                  QuotaText(u.quota_bytes, config.quota.storage_bytes, true),
                  QuotaText(u.quota_messages, config.quota.messages, false), FormatTime(u.created),
                  CellText(settings, 200)});
  }
  std::fputs(table.Render().c_str(), stdout);
  return kExitOk;
}

int UserSet(const config::Config& config, const UserArgs& args) {
  std::size_t eq = args.setting.find('=');
  if (eq == std::string::npos || eq == 0) {
    PrintError("user set: expected KEY=VALUE, e.g. pop3.delete_mode=hide (keys: " + [] {
      std::string keys;
      for (const auto& k : config::UserSettingKeys()) keys += (keys.empty() ? "" : ", ") + k;
      return keys;
    }() + ")");
    return kExitUsage;
  }
  std::string key = args.setting.substr(0, eq);
  std::string value = args.setting.substr(eq + 1);
  // An empty value removes the override; the key must still be one that can
  // be set per user.
  Status valid;
  if (!value.empty()) {
    valid = config::ValidateUserSetting(key, value);
  } else {
    auto keys = config::UserSettingKeys();
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      // Not a per-user key: let the validator say why (unknown, or global).
      valid = config::ValidateUserSetting(key, "-");
    }
  }
  if (!valid.ok()) {
    PrintError("user set " + args.name + ": " + valid.message());
    return kExitUsage;
  }
  if (!value.empty()) value = *config::CanonicalUserSetting(key, value);
  int open_rc = kExitTempFail;
  auto admin = OpenStoreOrReport(config, &open_rc);
  if (!admin) return open_rc;
  Status s = admin->WaitStatus([&](storage::StatusCallback done) {
    admin->store().SetUserSetting(args.name, key, value, std::move(done));
  });
  if (!s.ok()) {
    if (s.code() == Code::kNotFound) {
      PrintError("user set " + args.name + ": no such user" + InDataDir(config));
      return kExitNoUser;
    }
    return Fail("user set " + args.name, s);
  }
  if (value.empty()) {
    std::printf("%s: %s removed (the configured value applies)\n", args.name.c_str(), key.c_str());
  } else {
    std::printf("%s: %s = %s\n", args.name.c_str(), key.c_str(), value.c_str());
  }
  return kExitOk;
}

int UserQuota(const config::Config& config, const UserArgs& args) {
  auto bytes = config::ParseSize(args.bytes);
  if (!bytes.ok()) {
    PrintError("user quota " + args.name + ": BYTES: " + bytes.status().message());
    return kExitUsage;
  }
  std::uint64_t messages = 0;
  {
    const std::string& m = args.messages;
    auto [p, ec] = std::from_chars(m.data(), m.data() + m.size(), messages);
    if (m.empty() || ec != std::errc() || p != m.data() + m.size()) {
      PrintError("user quota " + args.name + ": MESSAGES: expected a number");
      return kExitUsage;
    }
  }
  int open_rc = kExitTempFail;
  auto admin = OpenStoreOrReport(config, &open_rc);
  if (!admin) return open_rc;
  Status s = admin->WaitStatus([&](storage::StatusCallback done) {
    admin->store().SetQuota(args.name, *bytes, messages, std::move(done));
  });
  if (!s.ok()) {
    if (s.code() == Code::kNotFound) {
      PrintError("user quota " + args.name + ": no such user" + InDataDir(config));
      return kExitNoUser;
    }
    return Fail("user quota " + args.name, s);
  }
  std::printf("quota of %s: %s, %s messages\n", args.name.c_str(),
              QuotaText(*bytes, config.quota.storage_bytes, true).c_str(),
              QuotaText(messages, config.quota.messages, false).c_str());
  return kExitOk;
}

int UserUnhide(const config::Config& config, const UserUnhideArgs& args) {
  if (args.all == !args.uids.empty()) {
    PrintError("user unhide " + args.name + ": give --all or the UIDs of the messages");
    return kExitUsage;
  }
  std::optional<std::vector<storage::Uid>> uids;
  if (!args.all) {
    uids.emplace();
    for (const std::string& text : args.uids) {
      storage::Uid uid = 0;
      auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), uid);
      if (text.empty() || ec != std::errc() || p != text.data() + text.size() || uid == 0) {
        PrintError("user unhide " + args.name + ": not a UID: " + text);
        return kExitUsage;
      }
      uids->push_back(uid);
    }
  }
  int open_rc = kExitTempFail;
  auto admin = OpenStoreOrReport(config, &open_rc);
  if (!admin) return open_rc;
  storage::UserId user;
  std::string name;
  {
    auto view = admin->Read();
    auto u = view->FindUser(args.name);
    if (!u.ok()) {
      PrintError("user unhide " + args.name + ": no such user");
      return kExitNoUser;
    }
    user = u->id;
    name = u->name;
  }
  storage::Origin origin;
  origin.protocol = "cli";
  auto done =
      admin->Wait<std::vector<storage::Uid>>([&](storage::Callback<std::vector<storage::Uid>> cb) {
        admin->store().UnhidePop3(user, uids, origin, std::move(cb));
      });
  if (!done.ok()) return Fail("user unhide " + args.name, done.status());
  std::string list;
  for (storage::Uid uid : *done) list += (list.empty() ? "" : " ") + std::to_string(uid);
  std::string line = name + ": " + std::to_string(done->size()) +
                     (done->size() == 1 ? " message" : " messages") + " visible to POP3 again";
  if (!list.empty()) line += " (INBOX UIDs " + list + ")";
  std::printf("%s\n", line.c_str());
  if (uids) {
    for (storage::Uid uid : *uids) {
      if (!std::binary_search(done->begin(), done->end(), uid)) {
        std::printf("UID %u: not hidden from POP3, or not in INBOX\n", uid);
      }
    }
  }
  return kExitOk;
}

}  // namespace pillarbox::server::cli
