// Pieces shared by the subcommands of the command line (server/cli*.cpp).
// Not an API for anything outside server/cli*.cpp.
//
// Thread: the main thread only.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "config/config.h"
#include "server/store_options.h"
#include "server/views_json.h"
#include "services/outcome.h"
#include "storage/store.h"

namespace pillarbox::server::cli {

// Exit statuses (sysexits.h where one fits).
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;      // the command failed (no such user, ...)
constexpr int kExitConfig = 2;       // bad configuration file or value
constexpr int kExitUsage = 64;       // EX_USAGE: bad command line
constexpr int kExitDataErr = 65;     // EX_DATAERR: bad input (empty or oversized message)
constexpr int kExitNoStore = 66;     // EX_NOINPUT: no store in the data directory
constexpr int kExitNoUser = 67;      // EX_NOUSER
constexpr int kExitCantCreate = 73;  // EX_CANTCREAT: the target mailbox cannot be used
constexpr int kExitIoErr = 74;       // EX_IOERR: reading the input failed
constexpr int kExitTempFail = 75;    // EX_TEMPFAIL: try again later
constexpr int kExitNoPerm = 77;      // EX_NOPERM: refused (over quota)

// Prints "pillarbox: <message>" on stderr.
void PrintError(std::string_view message);

// The options every subcommand takes: --config FILE and --verbose.
void SetGlobalOptions(const std::string& config_path, bool verbose);

// Loads the configuration; on failure prints the one-line config error.
// Warns (stderr) about PILLARBOX_* variables that are not settings.
std::optional<config::Config> LoadConfigOrReport(const std::string& path, bool warn_env = true,
                                                 config::ConfigSources* sources = nullptr);

// " (data directory /abs/path)", appended to errors such as "no such user".
std::string InDataDir(const config::Config& config);
// With --verbose: "pillarbox: data directory /abs/path (from FILE)" on stderr.
void NoteDataDir(const config::Config& config);

// The store opened by a command-line process, its completions run on the
// calling thread while Await* and WaitUntil block.
class AdminStore {
 public:
  // NotFound when the data directory holds no store, unless `create`
  // (only `init` creates one; `serve` opens its own).
  static Result<std::unique_ptr<AdminStore>> Open(const config::Config& config,
                                                  bool create = false);
  ~AdminStore();

  storage::Store& store() { return *store_; }
  std::unique_ptr<storage::ReadView> Read() { return store_->Read(); }

  // Runs a service operation (services/) and waits for its outcome and value.
  template <typename T>
  std::pair<services::Outcome, T> Await(const std::function<void(services::Done<T>)>& submit) {
    std::optional<std::pair<services::Outcome, T>> out;
    submit([&out](services::Outcome o, T value) { out.emplace(std::move(o), std::move(value)); });
    while (!out) executor_.WaitAndRun(100);
    return std::move(*out);
  }
  // Runs completions until `done()` holds.
  void WaitUntil(const std::function<bool()>& done) {
    while (!done()) executor_.WaitAndRun(100);
  }
  services::Outcome AwaitOutcome(const std::function<void(services::OutcomeDone)>& submit) {
    std::optional<services::Outcome> out;
    submit([&out](services::Outcome o) { out.emplace(std::move(o)); });
    while (!out) executor_.WaitAndRun(100);
    return std::move(*out);
  }

 private:
  AdminStore() = default;
  // Declared first so that it outlives the store (whose writer posts to it).
  storage::ManualExecutor executor_;
  std::unique_ptr<storage::Store> store_;
};

// Opens the store or prints why not (naming the data directory). nullptr on
// failure, with *exit_status (when given) set to kExitNoStore when there is
// no store there, kExitTempFail when it cannot be opened.
std::unique_ptr<AdminStore> OpenStoreOrReport(const config::Config& config,
                                              int* exit_status = nullptr);

// --since: "2026-11-26", "2026-11-26T10:00:00Z" (or without Z: UTC), or a
// duration back from `now` ("1h", "2d", "30m").
Result<storage::UnixTime> ParseSince(std::string_view text, storage::UnixTime now);
// "\Seen \Flagged $Label".
std::string FormatFlags(const storage::Flags& flags);
// "1.5 MiB", "312 B".
std::string FormatBytes(std::uint64_t n);
// Text for a table cell: control characters become spaces, at most
// `max_chars` code points (an ellipsis marks the cut).
std::string CellText(std::string_view s, std::size_t max_chars);

// Columns aligned for a person to read; the last column is not padded.
class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header) : header_(std::move(header)) {}
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  std::string Render() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// Subcommands. Each returns the process exit status.
struct UserArgs {
  std::string name;
  bool password_stdin = false;
  std::string hash;
  std::string setting;  // KEY=VALUE for `user set`
  std::string bytes;    // for `user quota`
  std::string messages;
  bool yes = false;  // `user del`: no confirmation on a terminal
};
int Init(const config::Config& config);
int UserAdd(const config::Config& config, const UserArgs& args);
int UserPasswd(const config::Config& config, const UserArgs& args);
int UserDel(const config::Config& config, const UserArgs& args);
// `pillarbox reset [--keep-users] [--yes]` (services::Reset).
int Reset(const config::Config& config, bool keep_users, bool yes);
struct FaultsArgs {
  std::string action;  // list (default), set, add, clear
  std::string value;   // set: a file or "-"; add: one rule as JSON
  std::string url;     // the server's HTTP API; default: from [http] listen
  std::string token;   // default: [http] token_file
};
int Faults(const config::Config& config, const FaultsArgs& args);
int UserList(const config::Config& config);
int UserSet(const config::Config& config, const UserArgs& args);
int UserQuota(const config::Config& config, const UserArgs& args);
struct UserUnhideArgs {
  std::string name;
  bool all = false;
  std::vector<std::string> uids;  // INBOX UIDs, as typed
};
int UserUnhide(const config::Config& config, const UserUnhideArgs& args);

struct DeliverArgs {
  std::string user;
  std::string mailbox;
  std::string from;
};
// Reads the message from `in` (stdin in the binary).
int Deliver(const config::Config& config, const DeliverArgs& args, std::FILE* in);

struct ImportArgs {
  std::string user;
  std::string path;
  std::string mailbox;
  bool dry_run = false;
  bool create_user = false;
  std::string pop3_uidl_format;  // empty: Dovecot's default
};
// `pillarbox import` (services::Import).
int Import(const config::Config& config, const ImportArgs& args);
struct ExportArgs {
  std::string user;
  std::string dir;
  std::string format = "maildir";
  std::string mailbox;
};
// `pillarbox export` (services::Export).
int Export(const config::Config& config, const ExportArgs& args);

struct JournalArgs {
  std::string user;
  std::string since;
  bool follow = false;
  bool json = false;  // one JSON object per line (README.md "journal --json")
};
int Journal(const config::Config& config, const JournalArgs& args);
struct ViewsArgs {
  std::string user;
  bool json = false;  // one JSON object (README.md "views --json")
};
int Views(const config::Config& config, const ViewsArgs& args);

// `backup FILE`, `restore FILE`, `verify` (server/cli_backup.cpp).
struct BackupArgs {
  std::string file;
  bool force = false;  // replace an existing FILE
};
int Backup(const config::Config& config, const BackupArgs& args);
struct RestoreArgs {
  std::string file;
  bool force = false;  // replace the stopped server's store
};
int Restore(const config::Config& config, const RestoreArgs& args);
// Exit 0 when the store is consistent, 1 with a list of the problems.
int Verify(const config::Config& config);

}  // namespace pillarbox::server::cli
