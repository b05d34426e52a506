// Config: every setting of Pillarbox, with its documented default.
//
// Loaded once at start (LoadConfig) from an optional TOML file, then
// environment variables PILLARBOX_<SECTION>_<KEY> override any key (lists are
// comma-separated). A bad file or value yields a Status naming the key and the
// reason. config/pillarbox.toml is the commented sample; a unit test checks
// that it names every key of the table in config.cpp.
//
// Thread-safety: a loaded Config is immutable and may be read from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace pillarbox::config {

enum class Plaintext { kNever, kTls, kTlsOrLoopback, kAlways };

enum class Pop3DeleteMode { kExpunge, kHide, kMove, kDeny };

struct Pop3DeletePolicy {
  Pop3DeleteMode mode = Pop3DeleteMode::kExpunge;
  std::string move_target;  // for kMove, UTF-8 mailbox name
};
// "expunge" | "hide" | "move:MAILBOX" | "deny".
Result<Pop3DeletePolicy> ParsePop3DeleteMode(std::string_view text);
std::string FormatPop3DeleteMode(const Pop3DeletePolicy& p);

using Seconds = std::chrono::seconds;

struct ServerConfig {
  std::string data_dir = "./data";
  std::string hostname;       // empty: the machine's host name
  std::string user;           // drop privileges to this user after binding (when root)
  std::string group;          // and this group (empty: the user's primary group)
  Seconds shutdown_grace{5};  // how long sessions get to say goodbye on SIGTERM
  // Not a setting: true when data_dir was written in the configuration file
  // (LoadConfig sets it), so that messages can say where it came from.
  bool data_dir_in_file = false;
};

struct ImapConfig {
  std::vector<std::string> listen = {"127.0.0.1:1143"};
  std::vector<std::string> tls_listen = {"127.0.0.1:1993"};
  Seconds idle_timeout{30 * 60};  // RFC 3501 5.4: at least 30 minutes
  std::string profile = "full";   // capability profile (config/capabilities.h)
  std::string capabilities;       // removals: "-IDLE -MOVE -LITERAL+"
  // Per listener: "ADDRESS=PROFILE" or "ADDRESS=-REMOVALS" for an address
  // of listen/tls_listen ("127.0.0.1:1144=rfc3501").
  std::vector<std::string> listener_profiles;
};

struct Pop3Config {
  std::vector<std::string> listen = {"127.0.0.1:1110"};
  std::vector<std::string> tls_listen = {"127.0.0.1:1995"};
  Pop3DeletePolicy delete_mode;
  bool mark_seen_on_retr = true;
  bool lock_session = true;       // one POP3 session per user at a time
  Seconds idle_timeout{10 * 60};  // RFC 1939: at least 10 minutes
  Seconds login_delay{0};         // minimum time between logins (0: none); advertised in CAPA
  std::string capabilities;       // removals: "-UIDL -TOP -PIPELINING" (config/capabilities.h)
  // Per listener: "ADDRESS=-REMOVALS" ("127.0.0.1:1111=-UIDL -TOP").
  std::vector<std::string> listener_capabilities;
};

struct LmtpConfig {
  std::vector<std::string> listen = {"127.0.0.1:2424"};  // "host:port" or "unix:/path"
  std::string socket_mode = "0666";                      // permissions of its unix sockets (octal)
};

struct SmtpConfig {
  std::vector<std::string> listen = {"127.0.0.1:2525"};
  std::vector<std::string> tls_listen = {};
  bool catch_all = false;      // accept every recipient (client development)
  std::string catch_all_user;  // where catch-all mail goes (empty: auto-created users)
  bool auth_required = false;  // require AUTH before MAIL
};

// The HTTP API and web console (README.md "HTTP API and web console").
struct HttpConfig {
  std::vector<std::string> listen = {"127.0.0.1:8025"};
  std::vector<std::string> tls_listen = {};  // HTTPS with the [tls] certificate
  std::string auth = "token";                // "token": Bearer token or cookie; "none"
  std::string token_file;                    // empty: <data_dir>/http-token (generated)
  int max_connections = 64;                  // browsers keep ~6 each
};

struct TlsConfig {
  std::string cert;                 // PEM chain; empty: generated into data_dir
  std::string key;                  // PEM private key
  std::string min_version = "1.2";  // "1.2" or "1.3"
  Seconds handshake_timeout{30};
};

struct AuthConfig {
  Plaintext plaintext = Plaintext::kTlsOrLoopback;
  std::chrono::milliseconds failure_delay{2000};  // first delay; doubles per failure
  std::chrono::milliseconds max_failure_delay{15000};
  int lockout_failures = 10;  // failures per user+IP before a temporary lockout
  Seconds lockout_time{300};
  int hash_threads = 0;  // password-hashing threads; 0: one per core, at least 2
  // Dovecot's auth protocol for Postfix (smtpd_sasl_type = dovecot) on this
  // unix socket path; empty: off.
  std::string postfix_socket;
  std::string postfix_socket_mode = "0660";
};

struct DeliveryConfig {
  std::vector<std::string> domains;  // local domains; empty: any domain is local for LMTP
  std::string subaddress_separator = "+";
  bool over_quota_temporary = false;  // 452 4.2.2 instead of 552 5.2.2
  // Postfix socketmap recipient lookups on this unix socket path; empty: off.
  std::string socketmap_socket;
  std::string socketmap_socket_mode = "0660";
};

struct LimitsConfig {
  // Connection budgets per protocol family, so that one cannot starve another:
  // IMAP and POP3 together, SMTP, LMTP (the MTA's intake).
  int max_connections = 1000;
  int max_smtp_connections = 100;
  int max_lmtp_connections = 100;
  int max_connections_per_ip = 100;  // IMAP, POP3 and SMTP (LMTP is trusted)
  // From the connection to login (IMAP, POP3) or to MAIL FROM or AUTH (SMTP);
  // input does not extend it. LMTP has none.
  Seconds login_timeout{60};
  std::size_t max_line_length = 64 * 1024;  // IMAP command line (after login)
  // Before login. RFC-conforming pre-login commands reach ~32 KB (an ID
  // with 30 fields of the maximum sizes, RFC 2971 3.3); Dovecot allows 64 KB.
  std::size_t max_line_length_preauth = 64 * 1024;
  std::size_t max_message_size = 50u * 1024 * 1024;
  std::size_t smtp_max_line_length = 1000;  // RFC 5321 4.5.3.1.6
  int smtp_max_recipients = 100;
  int max_bad_commands = 10;  // then the connection is closed (3 before login)
  int max_keywords = 256;     // per mailbox
  std::size_t output_high_water = 256 * 1024;
  std::size_t output_low_water = 64 * 1024;
  // Memory clients may make the server hold (buffered input, queued output,
  // literals and messages in flight); above it new work gets a temporary
  // error. 0: automatic (half of physical memory or of the cgroup limit).
  std::size_t max_memory = 0;
  // Work of one IMAP SEARCH (bytes decoded plus bytes scanned per string);
  // past it the command fails with NO [LIMIT].
  std::uint64_t max_search_work = 2ull << 30;
};

struct QuotaConfig {
  std::uint64_t storage_bytes = 0;  // default per-user quota; 0: unlimited
  std::uint64_t messages = 0;
};

struct RetentionConfig {
  // "MAILBOX=DAYS" or "\\SpecialUse=DAYS", e.g. "\\Trash=30".
  std::vector<std::string> expire_after;
  Seconds sweep_interval{3600};
};

struct JournalConfig {
  int max_age_days = 90;
  std::uint64_t max_events_per_user = 100000;
};

struct LogConfig {
  std::string level = "info";  // trace debug info warn error
  bool transcripts = false;    // log every protocol line (passwords redacted)
};

struct DevConfig {
  // SMTP catch-all creates unknown recipients; an IMAP/POP3 login of an
  // unknown user creates it with the password given.
  bool auto_create_users = false;
  std::string auto_create_password;  // SMTP-created users' password (empty: no login)
  // Stable responses across runs: UIDVALIDITY 1 for every mailbox, the
  // INTERNALDATE of a delivered message from its Date header when parsable.
  bool deterministic = false;
  // auto_create_users on a listener that is not loopback (refused otherwise).
  bool allow_remote = false;
  // Record every session's transcript for GET /api/v1/sessions/{id}/transcript
  // (on with --ephemeral); kept for live sessions and the last
  // transcript_sessions closed ones, and appended to files in transcript_dir
  // when set (which turns recording on).
  bool transcripts = false;
  int transcript_sessions = 50;
  std::string transcript_dir;
};

struct Config {
  ServerConfig server;
  ImapConfig imap;
  Pop3Config pop3;
  LmtpConfig lmtp;
  SmtpConfig smtp;
  HttpConfig http;
  TlsConfig tls;
  AuthConfig auth;
  DeliveryConfig delivery;
  LimitsConfig limits;
  QuotaConfig quota;
  RetentionConfig retention;
  JournalConfig journal;
  LogConfig log;
  DevConfig dev;
  // [[faults]] as a JSON array, the form of PUT /api/v1/faults (README.md
  // "Misbehaving on purpose"); empty: none.
  std::string faults;
};

// Environment lookup, injectable for tests. Returns nullopt when unset.
using EnvLookup = std::optional<std::string> (*)(const char* name);
std::optional<std::string> RealEnv(const char* name);

// Loads `path` (empty: embedded defaults only), then applies environment
// overrides. Errors name the key: "pop3.delete_mode: expected expunge, hide,
// move:MAILBOX or deny". A relative server.data_dir written in the file is
// relative to the file's directory; one from PILLARBOX_SERVER_DATA_DIR or the
// embedded default ("./data") is relative to the working directory. A `path`
// that names a directory or does not exist is an error.
// Where the keys that are not at their built-in default got their value,
// by "section.key": "from FILE", "from PILLARBOX_X", or "from PILLARBOX_X,
// overrides the file".
using ConfigSources = std::map<std::string, std::string>;
Result<Config> LoadConfig(const std::string& path, EnvLookup env = RealEnv,
                          ConfigSources* sources = nullptr);

// Parses TOML text (for tests); `origin` names it in error messages.
Result<Config> ParseConfig(std::string_view toml_text, std::string_view origin,
                           EnvLookup env = RealEnv);

// One warning line for each PILLARBOX_* name in `names` that is neither a
// setting's variable nor one of the few documented non-setting variables
// (PILLARBOX_USERS, PILLARBOX_SEED_DIR, PILLARBOX_TLS_DIR of the container),
// with the nearest setting's variable as a suggestion.
std::vector<std::string> UnknownEnvWarnings(const std::vector<std::string>& names);
// The names of the process's environment variables.
std::vector<std::string> EnvironmentNames();

// The effective configuration as TOML, secrets masked. With `sources`, a
// key set by the file or the environment has a comment saying which.
std::string DumpConfig(const Config& config, const ConfigSources* sources = nullptr);

// One line for each key in `sources`, secrets masked: `imap.listen =
// ["0.0.0.0:143"] (from PILLARBOX_IMAP_LISTEN, overrides the file)`.
std::vector<std::string> DescribeSources(const Config& config, const ConfigSources& sources);

// Every key as "section.key" (for the sample-file test and docs).
std::vector<std::string> AllKeys();

// Parses "30s", "10m", "2h", "7d" or a bare number of seconds ("2000ms" is
// accepted when it is a whole number of seconds).
Result<Seconds> ParseDuration(std::string_view text);
// Like ParseDuration, plus "500ms"; a bare number is still seconds.
Result<std::chrono::milliseconds> ParseDurationMs(std::string_view text);
// Parses "50M", "1G", "512K" or a bare number of bytes (binary units:
// K = 1024; "KB", "KiB", "MB", ... are accepted too, case-insensitive).
Result<std::uint64_t> ParseSize(std::string_view text);

// One entry of a `listen` list: "host:port" (IPv4 literal), "[v6]:port", or
// (only where allow_unix) "unix:/path".
struct ListenAddress {
  bool is_unix = false;
  std::string host;  // IP literal without brackets
  std::uint16_t port = 0;
  std::string path;  // for unix sockets
  bool ipv6 = false;
};
Result<ListenAddress> ParseListenAddress(std::string_view text, bool allow_unix);

// A unix socket permission mode as written in the config: octal, "0660" or
// "660" (at most 0777).
Result<unsigned> ParseSocketMode(std::string_view text);
// A socket path key (auth.postfix_socket, delivery.socketmap_socket): an
// absolute path, "unix:" in front allowed; "" stays "" (off).
Result<std::string> ParseSocketPath(std::string_view text);

// One entry of retention.expire_after: "MAILBOX=DAYS" or "\\Trash=DAYS".
struct ExpireRule {
  std::string mailbox;  // name, or special use with its backslash ("\\Trash")
  std::int64_t days = 0;
};
Result<ExpireRule> ParseExpireRule(std::string_view text);
// Every entry of a retention.expire_after list; errors name the key. The one
// parser of that key: the loader, `serve` and POP3's EXPIRE all use it.
Result<std::vector<ExpireRule>> ParseExpireRules(const std::vector<std::string>& entries);

// Per-user overrides (storage::UserSettings: "pop3.delete_mode" -> "hide").
// The keys a user may override, as "section.key".
std::vector<std::string> UserSettingKeys();
// Checks that `key` may be overridden per user and that `value` is valid for
// it. Errors name the key.
Status ValidateUserSetting(std::string_view key, std::string_view value);
// The value in its canonical spelling ("yes" -> "true"), as stored.
Result<std::string> CanonicalUserSetting(std::string_view key, std::string_view value);
// Applies one override onto `config` (the user's effective configuration).
Status ApplyUserSetting(Config& config, std::string_view key, std::string_view value);
// A user's effective configuration: `base` with the user's overrides
// applied. The one place per-user settings are resolved: POP3, IMAP and
// SMTP sessions call it once, at login, and read every key that may be set
// per user from the result, so a key `pillarbox user set` accepts is never
// silently ignored. A stored value that no longer parses is skipped (the
// configured value applies) and described in *problems, for the log.
Config UserConfig(const Config& base, const std::map<std::string, std::string>& settings,
                  std::vector<std::string>* problems = nullptr);

}  // namespace pillarbox::config
