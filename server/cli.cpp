// The command line: argument parsing (CLI11), the shared helpers of
// cli_internal.h, and the small subcommands (serve, check-config, version,
// healthcheck). User, deliver, journal, views and backup/restore/verify
// live in their own files.
#include "server/cli.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>

#include "common/log.h"
#include "server/cli_internal.h"
#include "server/dev_mode.h"
#include "server/healthcheck.h"
#include "server/paths.h"
#include "server/server.h"
#include "server/store_options.h"

namespace pillarbox::server {
namespace cli {

void PrintError(std::string_view message) {
  std::fprintf(stderr, "pillarbox: %.*s\n", static_cast<int>(message.size()), message.data());
}

namespace {
bool g_verbose = false;
std::string g_config_path;
}  // namespace

void SetGlobalOptions(const std::string& config_path, bool verbose) {
  g_config_path = config_path;
  g_verbose = verbose;
}

std::optional<config::Config> LoadConfigOrReport(const std::string& path, bool warn_env,
                                                 config::ConfigSources* sources) {
  auto c = config::LoadConfig(path, config::RealEnv, sources);
  if (!c.ok()) {
    PrintError("config error: " + c.status().message());
    return std::nullopt;
  }
  if (warn_env) {
    for (const auto& w : config::UnknownEnvWarnings(config::EnvironmentNames())) {
      PrintError("warning: " + w);
    }
  }
  return std::move(*c);
}

// Where server.data_dir came from, as "(...)" text after the directory.
std::string DataDirOrigin(const config::Config& config) {
  if (std::getenv("PILLARBOX_SERVER_DATA_DIR")) return "from PILLARBOX_SERVER_DATA_DIR";
  if (config.server.data_dir_in_file) return "from " + g_config_path;
  std::string origin = "the built-in default ./data, relative to the working directory";
  if (!g_config_path.empty()) origin += "; " + g_config_path + " does not set server.data_dir";
  return origin;
}

std::string InDataDir(const config::Config& config) {
  return " (data directory " + AbsoluteDataDir(config) + ")";
}

void NoteDataDir(const config::Config& config) {
  if (!g_verbose) return;
  std::fprintf(stderr, "pillarbox: data directory %s (%s)\n", AbsoluteDataDir(config).c_str(),
               DataDirOrigin(config).c_str());
}

Result<std::unique_ptr<AdminStore>> AdminStore::Open(const config::Config& config, bool create) {
  std::unique_ptr<AdminStore> admin(new AdminStore());
  NoteDataDir(config);
  // Only `serve` and `init` create a store: a command run from the wrong
  // directory, or with the wrong --config, must not make a stray one.
  std::error_code ec;
  if (!create && !std::filesystem::exists(StoreDir(config) + "/data.mdb", ec)) {
    std::string hint = g_config_path.empty()
                           ? "pass --config with the server's configuration file, run the command "
                             "where the server runs, or create the store with `pillarbox init`"
                           : "check server.data_dir in " + g_config_path +
                                 ", or create the store with `pillarbox init`";
    return Status::NotFound("no store in the data directory " + AbsoluteDataDir(config) + " (" +
                            DataDirOrigin(config) + "): " + hint);
  }
  // The same options as the server's store (MakeStoreOptions); the CLI
  // verifies no passwords, so one hashing thread is enough.
  storage::StoreOptions options = MakeStoreOptions(config, admin->executor_.Poster());
  options.auth_threads = 1;
  if (create) std::filesystem::create_directories(config.server.data_dir, ec);
  auto store = storage::Store::Open(std::move(options));
  if (!store.ok()) {
    return Status(store.status().code(), "cannot open the store in " + AbsoluteDataDir(config) +
                                             "/store: " + store.status().message());
  }
  admin->store_ = std::move(*store);
  return admin;
}

AdminStore::~AdminStore() {
  if (store_) {
    store_->Flush();
    executor_.RunPending();
    store_.reset();
  }
}

std::unique_ptr<AdminStore> OpenStoreOrReport(const config::Config& config, int* exit_status) {
  auto admin = AdminStore::Open(config);
  if (!admin.ok()) {
    PrintError(admin.status().message());
    if (exit_status) {
      *exit_status = admin.status().code() == Code::kNotFound ? kExitNoStore : kExitTempFail;
    }
    return nullptr;
  }
  return std::move(*admin);
}

Result<storage::UnixTime> ParseSince(std::string_view text, storage::UnixTime now) {
  if (text.empty()) return Status::InvalidArgument("empty time");
  if (text.size() >= 10 && text[4] == '-') {
    std::string s(text);
    std::tm tm{};
    const char* end = strptime(s.c_str(), "%Y-%m-%d", &tm);
    if (end && *end == 'T') {
      end = strptime(end + 1, "%H:%M", &tm);
      if (end && *end == ':') end = strptime(end + 1, "%S", &tm);
      if (end && *end == 'Z') ++end;
    }
    if (!end || *end != '\0') {
      return Status::InvalidArgument("expected 2026-11-26, 2026-11-26T10:00:00Z or 2h, 3d");
    }
    return static_cast<storage::UnixTime>(timegm(&tm));
  }
  auto d = config::ParseDuration(text);
  if (!d.ok()) {
    return Status::InvalidArgument("expected 2026-11-26, 2026-11-26T10:00:00Z or 2h, 3d");
  }
  return now - static_cast<storage::UnixTime>(d->count());
}

std::string FormatFlags(const storage::Flags& flags) {
  std::string out;
  auto add = [&out](std::string_view f) {
    if (!out.empty()) out += ' ';
    out += f;
  };
  if (flags.system & storage::kFlagSeen) add("\\Seen");
  if (flags.system & storage::kFlagAnswered) add("\\Answered");
  if (flags.system & storage::kFlagFlagged) add("\\Flagged");
  if (flags.system & storage::kFlagDeleted) add("\\Deleted");
  if (flags.system & storage::kFlagDraft) add("\\Draft");
  for (const auto& k : flags.keywords) add(k);
  return out;
}

std::string FormatBytes(std::uint64_t n) {
  static const char* const kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  if (n < 1024) return std::to_string(n) + " B";
  double v = static_cast<double>(n);
  int unit = -1;
  while (v >= 1024 && unit < 3) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, v < 10 ? "%.1f %s" : "%.0f %s", v, kUnits[unit]);
  return buf;
}

namespace {

// Display width of UTF-8 text, counted in code points (good enough for
// aligning names and subjects; wide CJK characters may shift a column).
std::size_t Width(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

std::string CellText(std::string_view s, std::size_t max_chars) {
  std::string out;
  std::size_t chars = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    bool starts = (c & 0xC0) != 0x80;
    if (starts) {
      if (chars == max_chars) {
        // Cut: replace the last code point by an ellipsis.
        while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) {
          out.pop_back();
        }
        if (!out.empty()) out.pop_back();
        out += "\u2026";
        return out;
      }
      ++chars;
    }
    out += (c < 0x20 || c == 0x7f) ? ' ' : static_cast<char>(c);
  }
  return out;
}

std::string TextTable::Render() const {
  std::vector<std::size_t> widths(header_.size(), 0);
  auto measure = [&widths](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], Width(row[i]));
    }
  };
  measure(header_);
  for (const auto& r : rows_) measure(r);
  std::string out;
  auto emit = [&](const std::vector<std::string>& row) {
    std::string line;
    for (std::size_t i = 0; i < widths.size(); ++i) {
      std::string_view cell = i < row.size() ? std::string_view(row[i]) : std::string_view();
      line += cell;
      if (i + 1 < widths.size()) line.append(widths[i] - Width(cell) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  };
  emit(header_);
  for (const auto& r : rows_) emit(r);
  return out;
}

int Init(const config::Config& config) {
  bool existed = std::filesystem::exists(StoreDir(config) + "/data.mdb");
  auto admin = AdminStore::Open(config, /*create=*/true);
  if (!admin.ok()) {
    PrintError(admin.status().message());
    return kExitTempFail;
  }
  std::printf("%s %s/store\n", existed ? "store already in" : "created an empty store in",
              AbsoluteDataDir(config).c_str());
  return kExitOk;
}

}  // namespace cli

namespace {

// Administrative commands log only warnings and errors: their output is
// for the person at the terminal or the MTA, not a server log.
void InitCliLog(const config::Config& config) {
  std::string level = config.log.level == "error" ? "error" : "warn";
  (void)log::Init(level);
}

int Serve(const std::string& config_path, const ServeOptions& options, bool ephemeral) {
  // The server logs the environment warnings itself, in its log.
  config::ConfigSources sources;
  auto config = cli::LoadConfigOrReport(config_path, /*warn_env=*/false, &sources);
  if (!config) return cli::kExitConfig;
  Status s = log::Init(config->log.level);
  if (!s.ok()) {
    cli::PrintError("config error: log.level: " + s.message());
    return cli::kExitConfig;
  }
  // Which keys the file and the environment set (every other key is at
  // its built-in default).
  LOG_INFO("configuration: {}", config_path.empty() ? "no file" : "file " + config_path);
  for (const auto& line : config::DescribeSources(*config, sources)) LOG_INFO("config: {}", line);
  if (!ephemeral) return RunServer(*config, options);
  // A throw-away server: removed however RunServer ends (SIGTERM and
  // SIGINT make it return).
  auto dir = MakeEphemeralDataDir();
  if (!dir.ok()) {
    LOG_ERROR("cannot start: --ephemeral: {}", dir.status().message());
    return kExitStartFailed;
  }
  MakeEphemeral(&*config, *dir);
  LOG_INFO("ephemeral server: data in {} (removed on exit)", *dir);
  ServeOptions ready = options;
  ready.ready_stdout = true;
  int rc = RunServer(*config, ready);
  std::error_code ec;
  std::filesystem::remove_all(*dir, ec);
  if (ec) LOG_WARN("cannot remove {}: {}", *dir, ec.message());
  return rc;
}

// The same checks as `serve` makes before it starts (CheckServeConfig), so
// that what passes here starts.
int CheckConfig(const std::string& config_path) {
  config::ConfigSources sources;
  auto config = cli::LoadConfigOrReport(config_path, /*warn_env=*/true, &sources);
  if (!config) return cli::kExitConfig;
  cli::NoteDataDir(*config);
  if (Status s = CheckServeConfig(*config); !s.ok()) {
    cli::PrintError("config error: " + s.message());
    return cli::kExitConfig;
  }
  std::fputs(config::DumpConfig(*config, &sources).c_str(), stdout);
  return cli::kExitOk;
}

}  // namespace

int RunCli(int argc, char** argv) {
  CLI::App app("Pillarbox: a POP3/IMAP mail server with LMTP/SMTP intake.", "pillarbox");
  app.require_subcommand(0, 1);
  app.set_version_flag("--version", std::string("pillarbox ") + PILLARBOX_VERSION);

  std::string config_path;
  bool verbose = false;
  // --config and --verbose are accepted by every (sub)command, before or
  // after the others.
  auto add_config = [&config_path, &verbose](CLI::App* a) {
    a->add_option("-c,--config", config_path,
                  "configuration file (TOML); default: $PILLARBOX_CONFIG, else built-in "
                  "defaults; PILLARBOX_* environment variables override either")
        ->type_name("FILE");
    a->add_flag("-v,--verbose", verbose, "say which data directory is used, and from where");
  };
  add_config(&app);

  CLI::App* serve = app.add_subcommand("serve", "run the server (the default subcommand)");
  add_config(serve);
  ServeOptions serve_options;
  serve->add_option("--ports-file", serve_options.ports_file,
                    "once listening, write the TCP ports as JSON ({\"imap\":1143,...}) to this "
                    "file (for port 0)");
  serve
      ->add_option("--ready-file", serve_options.ready_file,
                   "once listening, write {\"ports\": {...}, \"token\": ..., \"data_dir\": "
                   "...} to this file")
      ->type_name("FILE");
  bool ephemeral = false;
  serve->add_flag("--ephemeral", ephemeral,
                  "a throw-away test server: data in a new temporary directory removed on exit, "
                  "every listener on 127.0.0.1 port 0; prints the ready JSON line on stdout");

  CLI::App* init = app.add_subcommand(
      "init", "create the data directory and an empty store (serve also does on its first start)");
  add_config(init);

  cli::UserArgs user_args;
  CLI::App* user = app.add_subcommand("user", "manage users");
  user->require_subcommand(1);
  add_config(user);
  CLI::App* user_add = user->add_subcommand("add", "create a user (prompts for the password)");
  add_config(user_add);
  user_add->add_option("name", user_args.name, "user name")->required();
  CLI::Option* add_stdin = user_add->add_flag("--password-stdin", user_args.password_stdin,
                                              "read the password from the first line of stdin");
  user_add
      ->add_option("--hash", user_args.hash,
                   "import an existing crypt(3) or {SCHEME} hash instead of a password")
      ->excludes(add_stdin);
  CLI::App* user_passwd = user->add_subcommand("passwd", "change a user's password");
  add_config(user_passwd);
  user_passwd->add_option("name", user_args.name, "user name")->required();
  CLI::Option* passwd_stdin =
      user_passwd->add_flag("--password-stdin", user_args.password_stdin,
                            "read the password from the first line of stdin");
  user_passwd->add_option("--hash", user_args.hash, "set an existing crypt(3) or {SCHEME} hash")
      ->excludes(passwd_stdin);
  CLI::App* user_del = user->add_subcommand("del", "delete a user and all their mail");
  add_config(user_del);
  user_del->add_option("name", user_args.name, "user name")->required();
  user_del->add_flag("-y,--yes", user_args.yes,
                     "do not ask for confirmation (asked only when stdin is a terminal)");
  CLI::App* user_list = user->add_subcommand("list", "list users");
  add_config(user_list);
  CLI::App* user_set = user->add_subcommand(
      "set", "set a per-user override, e.g. pop3.delete_mode=hide (empty value removes it)");
  add_config(user_set);
  user_set->add_option("name", user_args.name, "user name")->required();
  user_set->add_option("setting", user_args.setting, "KEY=VALUE")->required();
  CLI::App* user_quota =
      user->add_subcommand("quota", "set a user's quota (0: the configured default)");
  add_config(user_quota);
  user_quota->add_option("name", user_args.name, "user name")->required();
  user_quota->add_option("bytes", user_args.bytes, "storage, e.g. 1G or 500M")->required();
  user_quota->add_option("messages", user_args.messages, "number of messages")->required();

  bool reset_keep_users = false;
  bool reset_yes = false;
  CLI::App* reset = app.add_subcommand(
      "reset", "delete every user and all mail: back to an empty server (for test servers)");
  add_config(reset);
  reset->add_flag("--keep-users", reset_keep_users,
                  "keep the accounts (password, quota, settings) and empty their mailboxes");
  reset->add_flag("-y,--yes", reset_yes,
                  "do not ask for confirmation (asked only when stdin is a terminal)");

  cli::FaultsArgs faults_args;
  CLI::App* faults = app.add_subcommand(
      "faults", "show or change a running server's fault rules: list, set FILE|-, add RULE, clear");
  add_config(faults);
  faults->add_option("action", faults_args.action, "list (default), set, add or clear");
  faults->add_option("value", faults_args.value,
                     "set: a file of JSON rules (- for stdin); add: one rule as a JSON object");
  faults->add_option("--url", faults_args.url,
                     "the server's HTTP API, e.g. http://127.0.0.1:8025 (default: [http] listen)");
  faults->add_option("--token", faults_args.token,
                     "the API token (default: read from [http] token_file)");

  cli::UserUnhideArgs unhide_args;
  CLI::App* user_unhide = user->add_subcommand(
      "unhide", "make messages that POP3 hid (delete mode hide) visible to POP3 again");
  add_config(user_unhide);
  user_unhide->add_option("name", unhide_args.name, "user name")->required();
  CLI::Option* unhide_all =
      user_unhide->add_flag("--all", unhide_args.all, "every hidden message of the INBOX");
  user_unhide->add_option("uids", unhide_args.uids, "INBOX UIDs (see pillarbox views)")
      ->excludes(unhide_all);

  cli::DeliverArgs deliver_args;
  CLI::App* deliver = app.add_subcommand(
      "deliver", "store one RFC 5322 message read on stdin (local delivery agent)");
  add_config(deliver);
  deliver->add_option("-d,--user", deliver_args.user, "recipient user")->required();
  deliver->add_option("-m,--mailbox", deliver_args.mailbox,
                      "target mailbox (created when missing); default INBOX");
  deliver->add_option("-f,--from", deliver_args.from, "envelope sender, for the journal");

  cli::ImportArgs import_args;
  CLI::App* import = app.add_subcommand(
      "import",
      "import mail from a Maildir (Dovecot's too), an mbox file or folder, or .eml files");
  add_config(import);
  import->add_option("name", import_args.user, "user name")->required();
  import->add_option("path", import_args.path, "Maildir, mbox file, folder of mbox or .eml files")
      ->required();
  import->add_option("-m,--mailbox", import_args.mailbox,
                     "target of a single mbox or .eml folder (default INBOX); in a tree: only "
                     "this mailbox");
  import->add_flag("--dry-run", import_args.dry_run, "read and check everything, store nothing");
  import->add_flag("--create-user", import_args.create_user,
                   "create the user when missing (set a password with `user passwd`)");
  import->add_option("--pop3-uidl-format", import_args.pop3_uidl_format,
                     "Dovecot's pop3_uidl_format of the source (default %08Xu%08Xv)");

  cli::ExportArgs export_args;
  CLI::App* export_cmd =
      app.add_subcommand("export", "write a user's mail as a Maildir, mbox files or .eml files");
  add_config(export_cmd);
  export_cmd->add_option("name", export_args.user, "user name")->required();
  export_cmd->add_option("dir", export_args.dir, "target directory (created when missing)")
      ->required();
  export_cmd->add_option("--format", export_args.format, "maildir (default), mbox or eml");
  export_cmd->add_option("-m,--mailbox", export_args.mailbox, "only this mailbox");

  CLI::App* check = app.add_subcommand(
      "check-config", "print the effective configuration (secrets masked) or the error");
  add_config(check);

  CLI::App* version = app.add_subcommand("version", "print the version");
  add_config(version);

  cli::JournalArgs journal_args;
  CLI::App* journal =
      app.add_subcommand("journal", "the lifecycle of a user's messages, one line per event");
  add_config(journal);
  journal->add_option("name", journal_args.user, "user name")->required();
  journal->add_option("--since", journal_args.since,
                      "from this time: 2026-11-26, 2026-11-26T10:00:00Z, or back 1h, 2d");
  journal->add_flag("--follow", journal_args.follow, "keep printing new events until interrupted");
  journal->add_flag("--json", journal_args.json, "one JSON object per event and line");

  cli::ViewsArgs views_args;
  CLI::App* views = app.add_subcommand(
      "views", "what POP3 and IMAP see of a user's INBOX now, and the live sessions");
  add_config(views);
  views->add_option("name", views_args.user, "user name")->required();
  views->add_flag("--json", views_args.json, "one JSON object instead of tables");

  CLI::App* health =
      app.add_subcommand("healthcheck", "exit 0 when every configured listener answers");
  add_config(health);

  cli::BackupArgs backup_args;
  CLI::App* backup = app.add_subcommand(
      "backup", "write a consistent, compacted copy of the store to FILE (while the server runs)");
  add_config(backup);
  backup->add_option("file", backup_args.file, "backup file")->required();
  backup->add_flag("--force", backup_args.force, "replace FILE when it exists");
  cli::RestoreArgs restore_args;
  CLI::App* restore = app.add_subcommand(
      "restore", "put the store of backup FILE into the data directory (server stopped)");
  add_config(restore);
  restore->add_option("file", restore_args.file, "backup file")->required();
  restore->add_flag("--force", restore_args.force,
                    "replace the store the data directory already holds");
  CLI::App* verify = app.add_subcommand(
      "verify", "check the store's invariants and list every problem (exit 1 when there are)");
  add_config(verify);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    cli::PrintError(std::string(e.what()) + " (see pillarbox --help)");
    return cli::kExitUsage;
  }

  // The container image names its file this way, so that `docker exec ...
  // pillarbox user add` finds the server's configuration.
  if (const char* env = std::getenv("PILLARBOX_CONFIG"); config_path.empty() && env && *env) {
    config_path = env;
  }
  cli::SetGlobalOptions(config_path, verbose);
  if (*version) {
    std::printf("pillarbox %s\n", PILLARBOX_VERSION);
    return cli::kExitOk;
  }
  if (*check) return CheckConfig(config_path);
  if (app.get_subcommands().empty() || *serve) return Serve(config_path, serve_options, ephemeral);

  if (*deliver) {
    // An MTA defers (rather than bounces) on 75: a broken configuration must
    // not turn into bounced mail.
    auto config = cli::LoadConfigOrReport(config_path);
    if (!config) return cli::kExitTempFail;
    // A delivery agent logs like the server (log.level): one line per
    // delivery or rejection on stderr, where the MTA keeps it.
    if (!log::Init(config->log.level).ok()) InitCliLog(*config);
    return cli::Deliver(*config, deliver_args, stdin);
  }

  auto config = cli::LoadConfigOrReport(config_path);
  if (!config) return cli::kExitConfig;
  InitCliLog(*config);
  if (*health) return RunHealthcheck(*config);
  if (*backup) return cli::Backup(*config, backup_args);
  if (*restore) return cli::Restore(*config, restore_args);
  if (*verify) return cli::Verify(*config);
  if (*init) return cli::Init(*config);
  if (*journal) return cli::Journal(*config, journal_args);
  if (*views) return cli::Views(*config, views_args);
  if (*import) return cli::Import(*config, import_args);
  if (*export_cmd) return cli::Export(*config, export_args);
  if (*user_add) return cli::UserAdd(*config, user_args);
  if (*user_passwd) return cli::UserPasswd(*config, user_args);
  if (*user_del) return cli::UserDel(*config, user_args);
  if (*reset) return cli::Reset(*config, reset_keep_users, reset_yes);
  if (*faults) return cli::Faults(*config, faults_args);
  if (*user_list) return cli::UserList(*config);
  if (*user_set) return cli::UserSet(*config, user_args);
  if (*user_quota) return cli::UserQuota(*config, user_args);
  if (*user_unhide) return cli::UserUnhide(*config, unhide_args);
  cli::PrintError("no command (see pillarbox --help)");
  return cli::kExitUsage;
}

}  // namespace pillarbox::server
