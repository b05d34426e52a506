#include "config/config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "config/capabilities.h"

namespace pillarbox::config {
namespace {

// EnvLookup is a plain function pointer, so the fake environment is global.
std::map<std::string, std::string>& FakeEnvVars() {
  static std::map<std::string, std::string> vars;
  return vars;
}

std::optional<std::string> FakeEnv(const char* name) {
  auto it = FakeEnvVars().find(name);
  if (it == FakeEnvVars().end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> NoEnv(const char*) { return std::nullopt; }

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override { FakeEnvVars().clear(); }
  void TearDown() override { FakeEnvVars().clear(); }

  static Result<Config> Parse(std::string_view text) {
    return ParseConfig(text, "test.toml", FakeEnv);
  }
  // The error message of parsing `text`, "" when it parsed.
  static std::string Error(std::string_view text) {
    auto r = Parse(text);
    return r.ok() ? std::string() : r.status().message();
  }
};

std::string ReadSourceFile(const std::string& rel) {
  std::ifstream in(std::string(PILLARBOX_SOURCE_DIR) + "/" + rel, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST_F(ConfigTest, DefaultsWithoutFile) {
  auto c = LoadConfig("", NoEnv);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server.data_dir, "./data");
  EXPECT_EQ(c->imap.listen, std::vector<std::string>{"127.0.0.1:1143"});
  EXPECT_EQ(c->imap.tls_listen, std::vector<std::string>{"127.0.0.1:1993"});
  EXPECT_EQ(c->pop3.listen, std::vector<std::string>{"127.0.0.1:1110"});
  EXPECT_EQ(c->pop3.tls_listen, std::vector<std::string>{"127.0.0.1:1995"});
  EXPECT_EQ(c->lmtp.listen, std::vector<std::string>{"127.0.0.1:2424"});
  EXPECT_EQ(c->smtp.listen, std::vector<std::string>{"127.0.0.1:2525"});
  EXPECT_TRUE(c->smtp.tls_listen.empty());
  EXPECT_EQ(c->pop3.delete_mode.mode, Pop3DeleteMode::kExpunge);
  EXPECT_TRUE(c->pop3.mark_seen_on_retr);
  EXPECT_EQ(c->auth.plaintext, Plaintext::kTlsOrLoopback);
  EXPECT_EQ(c->tls.min_version, "1.2");
  EXPECT_EQ(c->log.level, "info");
  EXPECT_EQ(c->imap.idle_timeout, Seconds(1800));
  EXPECT_EQ(c->limits.max_message_size, 50u * 1024 * 1024);
}

TEST_F(ConfigTest, EmptyFileIsDefaults) {
  auto c = Parse("");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(DumpConfig(*c), DumpConfig(Config{}));
}

TEST_F(ConfigTest, FileValues) {
  auto c = Parse(R"(
[server]
data_dir = "/var/lib/pillarbox"
shutdown_grace = 10

[imap]
listen = ["0.0.0.0:143", "[::1]:143"]
tls_listen = []
idle_timeout = "2h"

[pop3]
delete_mode = "move:Archive/POP3"
mark_seen_on_retr = false
login_delay = "1m"

[lmtp]
listen = ["unix:/run/pillarbox/lmtp"]

[tls]
cert = "/etc/ssl/a.pem"
key = "/etc/ssl/a.key"
min_version = "1.3"

[auth]
plaintext = "always"
failure_delay = "500ms"
max_failure_delay = "3s"

[delivery]
domains = ["example.org", "example.net"]

[limits]
max_connections = 5
max_connections_per_ip = 2
max_message_size = "1G"
max_line_length = 100000
output_high_water = "1M"
output_low_water = "512K"

[retention]
expire_after = ["\\Trash=30", "Old=7"]

[log]
level = "debug"
transcripts = true
)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server.data_dir, "/var/lib/pillarbox");
  EXPECT_EQ(c->server.shutdown_grace, Seconds(10));
  EXPECT_EQ(c->imap.listen, (std::vector<std::string>{"0.0.0.0:143", "[::1]:143"}));
  EXPECT_TRUE(c->imap.tls_listen.empty());
  EXPECT_EQ(c->imap.idle_timeout, Seconds(7200));
  EXPECT_EQ(c->pop3.delete_mode.mode, Pop3DeleteMode::kMove);
  EXPECT_EQ(c->pop3.delete_mode.move_target, "Archive/POP3");
  EXPECT_FALSE(c->pop3.mark_seen_on_retr);
  EXPECT_EQ(c->pop3.login_delay, Seconds(60));
  EXPECT_EQ(c->lmtp.listen, std::vector<std::string>{"unix:/run/pillarbox/lmtp"});
  EXPECT_EQ(c->tls.min_version, "1.3");
  EXPECT_EQ(c->auth.plaintext, Plaintext::kAlways);
  EXPECT_EQ(c->auth.failure_delay, std::chrono::milliseconds(500));
  EXPECT_EQ(c->auth.max_failure_delay, std::chrono::milliseconds(3000));
  EXPECT_EQ(c->delivery.domains, (std::vector<std::string>{"example.org", "example.net"}));
  EXPECT_EQ(c->limits.max_connections, 5);
  EXPECT_EQ(c->limits.max_message_size, 1024u * 1024 * 1024);
  EXPECT_EQ(c->limits.max_line_length, 100000u);
  EXPECT_EQ(c->retention.expire_after, (std::vector<std::string>{"\\Trash=30", "Old=7"}));
  EXPECT_EQ(c->log.level, "debug");
  EXPECT_TRUE(c->log.transcripts);
}

TEST_F(ConfigTest, DottedKeysAtTopLevel) {
  auto c = Parse("pop3.delete_mode = \"hide\"\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->pop3.delete_mode.mode, Pop3DeleteMode::kHide);
}

TEST_F(ConfigTest, EnvOverridesFileAndDefaults) {
  FakeEnvVars()["PILLARBOX_POP3_DELETE_MODE"] = "deny";
  FakeEnvVars()["PILLARBOX_IMAP_LISTEN"] = "0.0.0.0:143, [::]:143";
  FakeEnvVars()["PILLARBOX_IMAP_TLS_LISTEN"] = "";
  FakeEnvVars()["PILLARBOX_LIMITS_MAX_CONNECTIONS_PER_IP"] = "7";
  FakeEnvVars()["PILLARBOX_LIMITS_MAX_MESSAGE_SIZE"] = "10M";
  FakeEnvVars()["PILLARBOX_POP3_MARK_SEEN_ON_RETR"] = "false";
  FakeEnvVars()["PILLARBOX_SERVER_SHUTDOWN_GRACE"] = "1m";
  FakeEnvVars()["PILLARBOX_DEV_AUTO_CREATE_PASSWORD"] = "s3cret";
  auto c = Parse("[pop3]\ndelete_mode = \"hide\"\n[server]\ndata_dir = \"/file\"\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->pop3.delete_mode.mode, Pop3DeleteMode::kDeny);
  EXPECT_EQ(c->server.data_dir, "/file");  // not overridden
  EXPECT_EQ(c->imap.listen, (std::vector<std::string>{"0.0.0.0:143", "[::]:143"}));
  EXPECT_TRUE(c->imap.tls_listen.empty());
  EXPECT_EQ(c->limits.max_connections_per_ip, 7);
  EXPECT_EQ(c->limits.max_message_size, 10u * 1024 * 1024);
  EXPECT_FALSE(c->pop3.mark_seen_on_retr);
  EXPECT_EQ(c->server.shutdown_grace, Seconds(60));
  EXPECT_EQ(c->dev.auto_create_password, "s3cret");
}

// Regression: the image's PILLARBOX_*_LISTEN variables silently won over a
// mounted file; now the server and check-config say which source set a key.
TEST_F(ConfigTest, SourcesSayFileEnvironmentOrOverride) {
  std::string dir = ::testing::TempDir() + "pillarbox-config-sources";
  std::filesystem::create_directories(dir);
  std::string path = dir + "/p.toml";
  {
    std::ofstream f(path);
    f << "[imap]\nlisten = [\"0.0.0.0:143\"]\n[pop3]\ndelete_mode = \"hide\"\n";
  }
  FakeEnvVars()["PILLARBOX_IMAP_LISTEN"] = "127.0.0.1:1143";
  FakeEnvVars()["PILLARBOX_DEV_AUTO_CREATE_PASSWORD"] = "s3cret";
  ConfigSources sources;
  auto c = LoadConfig(path, FakeEnv, &sources);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(sources, (ConfigSources{
                         {"imap.listen", "from PILLARBOX_IMAP_LISTEN, overrides the file"},
                         {"pop3.delete_mode", "from " + path},
                         {"dev.auto_create_password", "from PILLARBOX_DEV_AUTO_CREATE_PASSWORD"},
                     }));
  auto lines = DescribeSources(*c, sources);
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "imap.listen = [\"127.0.0.1:1143\"] (from PILLARBOX_IMAP_LISTEN, "
                       "overrides the file)",
                       "pop3.delete_mode = \"hide\" (from " + path + ")",
                       "dev.auto_create_password = \"********\" (from "
                       "PILLARBOX_DEV_AUTO_CREATE_PASSWORD)",
                   }));
  std::string dump = DumpConfig(*c, &sources);
  EXPECT_NE(dump.find("\nlisten = [\"127.0.0.1:1143\"]  # from PILLARBOX_IMAP_LISTEN, overrides "
                      "the file\n"),
            std::string::npos)
      << dump;
  EXPECT_EQ(dump.find("s3cret"), std::string::npos);
  // The annotated dump is still a configuration file.
  auto again = ParseConfig(dump, "dump", NoEnv);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->imap.listen, c->imap.listen);
  EXPECT_EQ(again->pop3.delete_mode.mode, Pop3DeleteMode::kHide);
  // Without a file, environment only; nothing set, nothing listed.
  FakeEnvVars().clear();
  auto none = LoadConfig("", FakeEnv, &sources);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(sources.empty());
}

TEST_F(ConfigTest, PostfixSocketsAndModes) {
  auto c = Parse("");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->auth.postfix_socket, "");  // off
  EXPECT_EQ(c->delivery.socketmap_socket, "");
  EXPECT_EQ(c->lmtp.socket_mode, "0666");
  EXPECT_EQ(c->auth.postfix_socket_mode, "0660");
  EXPECT_EQ(c->delivery.socketmap_socket_mode, "0660");
  FakeEnvVars()["PILLARBOX_AUTH_POSTFIX_SOCKET"] = "/run/pillarbox/auth";
  FakeEnvVars()["PILLARBOX_DELIVERY_SOCKETMAP_SOCKET"] = "unix:/run/pillarbox/map";
  FakeEnvVars()["PILLARBOX_LMTP_SOCKET_MODE"] = "660";
  c = Parse("");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->auth.postfix_socket, "/run/pillarbox/auth");
  EXPECT_EQ(c->delivery.socketmap_socket, "unix:/run/pillarbox/map");
  EXPECT_EQ(c->lmtp.socket_mode, "660");
  FakeEnvVars().clear();
  EXPECT_EQ(Error("[lmtp]\nsocket_mode = \"0888\"\n"),
            "lmtp.socket_mode: expected an octal mode such as \"0660\" (line 2)");
  EXPECT_EQ(Error("[lmtp]\nsocket_mode = \"01777\"\n"),
            "lmtp.socket_mode: expected an octal mode such as \"0660\" (line 2)");
  EXPECT_EQ(Error("[auth]\npostfix_socket_mode = \"0460\"\n"),
            "auth.postfix_socket_mode: the owner must be allowed to write (connect) (line 2)");
  EXPECT_EQ(Error("[auth]\npostfix_socket = \"relative/auth\"\n"),
            "auth.postfix_socket: expected an absolute path (line 2)");
  EXPECT_EQ(Error("[delivery]\nsocketmap_socket = \"/" + std::string(107, 'x') + "\"\n"),
            "delivery.socketmap_socket: unix socket path too long (at most 107 bytes) (line 2)");
  EXPECT_EQ(Error("[lmtp]\nlisten = [\"unix:/run/s\"]\n[auth]\npostfix_socket = \"/run/s\"\n"),
            "auth.postfix_socket: \"unix:/run/s\" is also in lmtp.listen");
  EXPECT_EQ(*ParseSocketMode("0660"), 0660u);
  EXPECT_EQ(*ParseSocketMode("777"), 0777u);
  EXPECT_FALSE(ParseSocketMode("").ok());
  EXPECT_FALSE(ParseSocketMode("-660").ok());
}

TEST_F(ConfigTest, EnvOverridesWithoutFile) {
  FakeEnvVars()["PILLARBOX_SERVER_DATA_DIR"] = "/srv/mail";
  auto c = LoadConfig("", FakeEnv);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server.data_dir, "/srv/mail");
}

TEST_F(ConfigTest, EnvErrorNamesKeyAndVariable) {
  FakeEnvVars()["PILLARBOX_POP3_DELETE_MODE"] = "shred";
  EXPECT_EQ(Error(""),
            "pop3.delete_mode (from PILLARBOX_POP3_DELETE_MODE): expected expunge, hide, "
            "move:MAILBOX or deny");
  FakeEnvVars().clear();
  FakeEnvVars()["PILLARBOX_LIMITS_MAX_CONNECTIONS"] = "many";
  EXPECT_EQ(Error(""),
            "limits.max_connections (from PILLARBOX_LIMITS_MAX_CONNECTIONS): "
            "expected an integer");
  FakeEnvVars().clear();
  FakeEnvVars()["PILLARBOX_IMAP_LISTEN"] = "127.0.0.1:1,";
  EXPECT_EQ(Error(""),
            "imap.listen (from PILLARBOX_IMAP_LISTEN): empty item in "
            "comma-separated list");
  FakeEnvVars().clear();
  FakeEnvVars()["PILLARBOX_LOG_TRANSCRIPTS"] = "maybe";
  EXPECT_EQ(Error(""), "log.transcripts (from PILLARBOX_LOG_TRANSCRIPTS): expected true or false");
}

TEST_F(ConfigTest, EnvBooleans) {
  for (const char* t : {"true", "1", "yes", "on", "TRUE"}) {
    FakeEnvVars()["PILLARBOX_LOG_TRANSCRIPTS"] = t;
    auto c = Parse("");
    ASSERT_TRUE(c.ok()) << t;
    EXPECT_TRUE(c->log.transcripts) << t;
  }
  for (const char* f : {"false", "0", "no", "off"}) {
    FakeEnvVars()["PILLARBOX_LOG_TRANSCRIPTS"] = f;
    auto c = Parse("[log]\ntranscripts = true\n");
    ASSERT_TRUE(c.ok()) << f;
    EXPECT_FALSE(c->log.transcripts) << f;
  }
}

TEST_F(ConfigTest, SyntaxErrorHasLineNumber) {
  std::string e = Error("[server]\ndata_dir = \"/x\"\nbroken = = 3\n");
  EXPECT_EQ(e.rfind("test.toml:3:", 0), 0u) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
}

TEST_F(ConfigTest, UnknownSectionAndKey) {
  EXPECT_EQ(Error("[imap4]\nlisten = []\n"),
            "imap4: unknown section (line 1); did you mean [imap]?");
  EXPECT_EQ(Error("[pop3]\ndelete = \"hide\"\n"), "pop3.delete: unknown key (line 2)");
  EXPECT_EQ(Error("pop3 = 3\n"), "pop3: expected a table ([pop3])");
  EXPECT_EQ(Error("[pop3.extra]\nx = 1\n"), "pop3.extra: unknown key (line 1)");
  EXPECT_EQ(Error("[zzzzzz]\n"), "zzzzzz: unknown section (line 1)");
}

// Regression: a typo in a key got neither a line number nor a suggestion.
TEST_F(ConfigTest, UnknownKeySuggestsTheNearest) {
  EXPECT_EQ(Error("[imap]\n\nidle_timout = 5\n"),
            "imap.idle_timout: unknown key (line 3); did you mean imap.idle_timeout?");
  EXPECT_EQ(Error("[pop3]\nDelete_Mode = \"hide\"\n"),
            "pop3.Delete_Mode: unknown key (line 2); did you mean pop3.delete_mode?");
  // Under the wrong section: the key where it belongs.
  EXPECT_EQ(Error("[imap]\ndelete_mode = \"hide\"\n"),
            "imap.delete_mode: unknown key (line 2); did you mean pop3.delete_mode?");
  EXPECT_EQ(Error("[delivery]\nsubaddress_seperator = \"-\"\n"),
            "delivery.subaddress_seperator: unknown key (line 2); did you mean "
            "delivery.subaddress_separator?");
  // Nothing close: no guess.
  EXPECT_EQ(Error("[tls]\nwhatever = 1\n"), "tls.whatever: unknown key (line 2)");
}

// Regression: an unknown PILLARBOX_* variable was ignored silently.
TEST_F(ConfigTest, UnknownEnvironmentVariablesAreWarned) {
  auto w = UnknownEnvWarnings({"PATH", "PILLARBOX_IMAP_LISTEN", "PILLARBOX_IMAP_LISTN",
                               "PILLARBOX_USERS", "PILLARBOX_SEED_DIR", "PILLARBOX_TLS_DIR",
                               "PILLARBOX_POP3_DELETEMODE", "PILLARBOX_NOTHING_LIKE_IT_AT_ALL"});
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[0],
            "environment variable PILLARBOX_IMAP_LISTN is not a setting and is ignored; did you "
            "mean PILLARBOX_IMAP_LISTEN?");
  EXPECT_EQ(w[1],
            "environment variable PILLARBOX_POP3_DELETEMODE is not a setting and is ignored; did "
            "you mean PILLARBOX_POP3_DELETE_MODE?");
  EXPECT_EQ(w[2],
            "environment variable PILLARBOX_NOTHING_LIKE_IT_AT_ALL is not a setting and is "
            "ignored");
  // Every setting's own variable is known.
  std::vector<std::string> all;
  for (const auto& k : AllKeys()) {
    std::string v = "PILLARBOX_" + k;
    for (char& c : v) c = c == '.' ? '_' : static_cast<char>(std::toupper(c));
    all.push_back(v);
  }
  EXPECT_TRUE(UnknownEnvWarnings(all).empty());
}

TEST_F(ConfigTest, WrongTypes) {
  EXPECT_EQ(Error("[pop3]\nmark_seen_on_retr = \"yes\"\n"),
            "pop3.mark_seen_on_retr: expected a boolean (true or false), got a string (line 2)");
  EXPECT_EQ(Error("[limits]\nmax_connections = \"10\"\n"),
            "limits.max_connections: expected an integer, got a string (line 2)");
  EXPECT_EQ(Error("[limits]\nmax_connections = 1.5\n"),
            "limits.max_connections: expected an integer, got a float (line 2)");
  EXPECT_EQ(Error("[imap]\nlisten = \"127.0.0.1:143\"\n"),
            "imap.listen: expected an array of strings (write [\"127.0.0.1:143\"]), got a string "
            "(line 2)");
  EXPECT_EQ(Error("[imap]\nlisten = [143]\n"),
            "imap.listen: expected an array of strings, got an element that is an integer "
            "(line 2)");
  EXPECT_EQ(Error("[server]\ndata_dir = 5\n"),
            "server.data_dir: expected a string, got an integer (line 2)");
  EXPECT_EQ(Error("[imap]\nidle_timeout = true\n"),
            "imap.idle_timeout: expected a duration (seconds, or a string such as \"30s\", "
            "\"10m\"), got a boolean (line 2)");
}

TEST_F(ConfigTest, BadEnums) {
  EXPECT_EQ(Error("[pop3]\ndelete_mode = \"shred\"\n"),
            "pop3.delete_mode: expected expunge, hide, move:MAILBOX or deny (line 2)");
  EXPECT_EQ(Error("[pop3]\ndelete_mode = \"move:\"\n"),
            "pop3.delete_mode: expected expunge, hide, move:MAILBOX or deny (line 2)");
  EXPECT_EQ(Error("[pop3]\ndelete_mode = \"move:inbox\"\n"),
            "pop3.delete_mode: move:MAILBOX: the target must not be INBOX (line 2)");
  EXPECT_EQ(Error("[auth]\nplaintext = \"sometimes\"\n"),
            "auth.plaintext: expected never, tls, tls_or_loopback or always (line 2)");
  EXPECT_EQ(Error("[tls]\nmin_version = \"1.1\"\n"),
            "tls.min_version: expected \"1.2\" or \"1.3\" (line 2)");
  EXPECT_EQ(Error("[log]\nlevel = \"verbose\"\n"),
            "log.level: expected trace, debug, info, warn or error (line 2)");
}

TEST_F(ConfigTest, PortZeroAsksTheSystemForAFreePort) {
  // Several port-0 listeners on one host are not the same address.
  auto c = Parse("[imap]\nlisten = [\"127.0.0.1:0\"]\ntls_listen = [\"127.0.0.1:0\"]\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->imap.listen, std::vector<std::string>{"127.0.0.1:0"});
  EXPECT_EQ(c->imap.tls_listen, std::vector<std::string>{"127.0.0.1:0"});
}

TEST_F(ConfigTest, BadAddresses) {
  EXPECT_EQ(Error("[imap]\nlisten = [\"localhost:143\"]\n"),
            "imap.listen: \"localhost:143\": \"localhost\" is not an IPv4 address (use 0.0.0.0 "
            "for all, [::] for all IPv6) (line 2)");
  EXPECT_EQ(Error("[imap]\nlisten = [\"127.0.0.1:65536\"]\n"),
            "imap.listen: \"127.0.0.1:65536\": port must be a number from 0 to 65535 (line 2)");
  EXPECT_EQ(Error("[imap]\nlisten = [\"127.0.0.1:x\"]\n"),
            "imap.listen: \"127.0.0.1:x\": port must be a number from 0 to 65535 (line 2)");
  EXPECT_EQ(Error("[imap]\nlisten = [\"127.0.0.1\"]\n"),
            "imap.listen: \"127.0.0.1\": expected host:port or [IPv6]:port (line 2)");
  EXPECT_EQ(Error("[imap]\nlisten = [\"::1:143\"]\n"),
            "imap.listen: \"::1:143\": IPv6 addresses must be in brackets: [IPv6]:port (line 2)");
  EXPECT_EQ(Error("[imap]\nlisten = [\"[::1]143\"]\n"),
            "imap.listen: \"[::1]143\": expected [IPv6]:port (line 2)");
  EXPECT_EQ(Error("[imap]\nlisten = [\"[1.2.3.4]:143\"]\n"),
            "imap.listen: \"[1.2.3.4]:143\": \"1.2.3.4\" is not an IPv6 address (line 2)");
  EXPECT_EQ(Error("[pop3]\nlisten = [\"unix:/tmp/pop3\"]\n"),
            "pop3.listen: \"unix:/tmp/pop3\": unix sockets are only supported for lmtp.listen "
            "(line 2)");
  EXPECT_EQ(Error("[lmtp]\nlisten = [\"unix:relative\"]\n"),
            "lmtp.listen: \"unix:relative\": expected unix:/absolute/path (line 2)");
  EXPECT_EQ(Error("[imap]\nlisten = [\"127.0.0.1:1110\"]\n"),
            "pop3.listen: \"127.0.0.1:1110\" is also in imap.listen");
}

TEST_F(ConfigTest, ListenAddressParse) {
  auto a = ParseListenAddress("[::]:993", false);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->ipv6);
  EXPECT_EQ(a->host, "::");
  EXPECT_EQ(a->port, 993);
  auto b = ParseListenAddress("0.0.0.0:1", false);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "0.0.0.0");
  EXPECT_EQ(b->port, 1);
  auto u = ParseListenAddress("unix:/run/lmtp", true);
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->is_unix);
  EXPECT_EQ(u->path, "/run/lmtp");
  EXPECT_FALSE(ParseListenAddress("unix:/" + std::string(107, 'a'), true).ok());
  EXPECT_TRUE(ParseListenAddress("unix:/" + std::string(106, 'a'), true).ok());
  EXPECT_FALSE(ParseListenAddress("1.2.3.4:+80", false).ok());
  EXPECT_FALSE(ParseListenAddress("1.2.3.4:", false).ok());
  EXPECT_FALSE(ParseListenAddress(":80", false).ok());
}

TEST_F(ConfigTest, BadDurationsAndSizes) {
  EXPECT_EQ(Error("[imap]\nidle_timeout = \"10 minutes\"\n"),
            "imap.idle_timeout: expected a duration such as \"30s\", \"10m\", \"2h\", \"7d\", "
            "\"500ms\" or a number of seconds (line 2)");
  EXPECT_EQ(Error("[imap]\nidle_timeout = \"1500ms\"\n"),
            "imap.idle_timeout: expected a whole number of seconds (line 2)");
  EXPECT_EQ(Error("[imap]\nidle_timeout = 0\n"),
            "imap.idle_timeout: expected a duration of at least 1s (line 2)");
  EXPECT_EQ(Error("[imap]\nidle_timeout = -5\n"),
            "imap.idle_timeout: expected a duration, got a negative number (line 2)");
  EXPECT_EQ(Error("[limits]\nmax_message_size = \"50 megs\"\n"),
            "limits.max_message_size: expected a size such as \"512K\", \"50M\", \"1G\" or a "
            "number of bytes (line 2)");
  EXPECT_EQ(Error("[limits]\nmax_message_size = -1\n"),
            "limits.max_message_size: expected a size, got a negative number (line 2)");
  EXPECT_EQ(Error("[limits]\nsmtp_max_line_length = 999\n"),
            "limits.smtp_max_line_length: expected a size from 1000 to 1073741824 bytes, got 999 "
            "(line 2)");
  EXPECT_EQ(Error("[limits]\nmax_connections = 0\n"),
            "limits.max_connections: expected an integer from 1 to 2147483647, got 0 (line 2)");
  EXPECT_EQ(Error("[limits]\nmax_connections = 99999999999\n"),
            "limits.max_connections: expected an integer from 1 to 2147483647, got 99999999999 "
            "(line 2)");
}

TEST_F(ConfigTest, CrossKeyChecks) {
  EXPECT_EQ(Error("[limits]\noutput_low_water = \"256K\"\n"),
            "limits.output_low_water: must be below limits.output_high_water (262144)");
  EXPECT_EQ(Error("[limits]\nmax_line_length_preauth = \"128K\"\n"),
            "limits.max_line_length_preauth: must not exceed limits.max_line_length (65536)");
  EXPECT_EQ(Error("[auth]\nfailure_delay = \"20s\"\n"),
            "auth.failure_delay: must not exceed auth.max_failure_delay (15s)");
  EXPECT_EQ(Error("[tls]\ncert = \"/a.pem\"\n"), "tls.key: must be set when tls.cert is set");
  EXPECT_EQ(Error("[tls]\nkey = \"/a.key\"\n"), "tls.cert: must be set when tls.key is set");
  EXPECT_EQ(Error("[server]\ngroup = \"mail\"\n"), "server.group: requires server.user");
}

TEST_F(ConfigTest, OtherValueChecks) {
  EXPECT_EQ(Error("[server]\ndata_dir = \"\"\n"), "server.data_dir: must not be empty (line 2)");
  EXPECT_EQ(Error("[retention]\nexpire_after = [\"Trash\"]\n"),
            "retention.expire_after: \"Trash\": expected MAILBOX=DAYS or \\SpecialUse=DAYS, e.g. "
            "\\Trash=30 (line 2)");
  EXPECT_EQ(Error("[retention]\nexpire_after = [\"\\\\Bin=3\"]\n"),
            "retention.expire_after: \"\\\\Bin=3\": unknown special use (expected \\Sent, "
            "\\Drafts, \\Trash, \\Junk or \\Archive) (line 2)");
  EXPECT_EQ(Error("[retention]\nexpire_after = [\"Trash=0\"]\n"),
            "retention.expire_after: \"Trash=0\": DAYS must be a number from 1 to 36500 (line 2)");
  EXPECT_EQ(Error("[delivery]\ndomains = [\"a b\"]\n"),
            "delivery.domains: \"a b\": expected a domain name (line 2)");
}

TEST_F(ConfigTest, ParseDurationForms) {
  EXPECT_EQ(*ParseDuration("30s"), Seconds(30));
  EXPECT_EQ(*ParseDuration("10m"), Seconds(600));
  EXPECT_EQ(*ParseDuration("2h"), Seconds(7200));
  EXPECT_EQ(*ParseDuration("7d"), Seconds(7 * 86400));
  EXPECT_EQ(*ParseDuration("45"), Seconds(45));
  EXPECT_EQ(*ParseDuration("2000ms"), Seconds(2));
  EXPECT_FALSE(ParseDuration("500ms").ok());
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_FALSE(ParseDuration("s").ok());
  EXPECT_FALSE(ParseDuration("1w").ok());
  EXPECT_FALSE(ParseDuration("-1s").ok());
  EXPECT_FALSE(ParseDuration("99999999999999999999").ok());
  EXPECT_FALSE(ParseDuration("999999d").ok());
  EXPECT_EQ(*ParseDurationMs("500ms"), std::chrono::milliseconds(500));
  EXPECT_EQ(*ParseDurationMs("2"), std::chrono::milliseconds(2000));
}

TEST_F(ConfigTest, ParseSizeForms) {
  EXPECT_EQ(*ParseSize("512K"), 512u * 1024);
  EXPECT_EQ(*ParseSize("50M"), 50u * 1024 * 1024);
  EXPECT_EQ(*ParseSize("1G"), 1024u * 1024 * 1024);
  EXPECT_EQ(*ParseSize("2T"), 2ull << 40);
  EXPECT_EQ(*ParseSize("10mb"), 10u * 1024 * 1024);
  EXPECT_EQ(*ParseSize("10MiB"), 10u * 1024 * 1024);
  EXPECT_EQ(*ParseSize("123"), 123u);
  EXPECT_EQ(*ParseSize("123B"), 123u);
  EXPECT_FALSE(ParseSize("").ok());
  EXPECT_FALSE(ParseSize("M").ok());
  EXPECT_FALSE(ParseSize("1.5G").ok());
  EXPECT_FALSE(ParseSize("1X").ok());
  EXPECT_FALSE(ParseSize("99999999999T").ok());
}

TEST_F(ConfigTest, DumpMasksSecretsAndRoundTrips) {
  Config c;
  c.dev.auto_create_password = "hunter2";
  c.tls.cert = "/etc/ssl/cert.pem";
  c.tls.key = "/etc/ssl/private/key.pem";
  c.pop3.delete_mode = {Pop3DeleteMode::kMove, "Archive"};
  std::string dump = DumpConfig(c);
  EXPECT_EQ(dump.find("hunter2"), std::string::npos);
  EXPECT_NE(dump.find("auto_create_password = \"********\""), std::string::npos) << dump;
  EXPECT_NE(dump.find("key = \"/etc/ssl/private/key.pem\""), std::string::npos) << dump;
  EXPECT_NE(dump.find("[pop3]\n"), std::string::npos);
  EXPECT_NE(dump.find("delete_mode = \"move:Archive\""), std::string::npos);
  // The dump is valid TOML that loads to the same configuration.
  auto back = Parse(dump);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  c.dev.auto_create_password = "********";
  EXPECT_EQ(DumpConfig(*back), DumpConfig(c));
  // An empty secret is shown as empty (nothing to hide).
  EXPECT_NE(DumpConfig(Config{}).find("auto_create_password = \"\""), std::string::npos);
}

TEST_F(ConfigTest, DumpQuotesSpecialCharacters) {
  Config c;
  c.server.data_dir = "/tmp/a \"b\" \\c";
  auto back = Parse(DumpConfig(c));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->server.data_dir, c.server.data_dir);
}

TEST_F(ConfigTest, AllKeysNamesEveryContractKey) {
  auto keys = AllKeys();
  std::set<std::string> set(keys.begin(), keys.end());
  EXPECT_EQ(set.size(), keys.size()) << "duplicate key";
  for (const char* k : {"server.data_dir",
                        "imap.listen",
                        "imap.tls_listen",
                        "pop3.listen",
                        "pop3.tls_listen",
                        "pop3.delete_mode",
                        "pop3.mark_seen_on_retr",
                        "lmtp.listen",
                        "lmtp.socket_mode",
                        "auth.postfix_socket",
                        "delivery.socketmap_socket",
                        "smtp.listen",
                        "smtp.tls_listen",
                        "tls.cert",
                        "tls.key",
                        "tls.min_version",
                        "auth.plaintext",
                        "delivery.domains",
                        "limits.max_connections",
                        "limits.max_connections_per_ip",
                        "log.level",
                        "log.transcripts",
                        "dev.auto_create_password"}) {
    EXPECT_TRUE(set.count(k)) << k;
  }
}

// config/pillarbox.toml is the documented sample: it must parse, set every
// key, and set each to its default.
TEST_F(ConfigTest, SampleFileNamesEveryKeyWithItsDefault) {
  std::string text = ReadSourceFile("config/pillarbox.toml");
  ASSERT_FALSE(text.empty());
  auto c = ParseConfig(text, "pillarbox.toml", NoEnv);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(DumpConfig(*c), DumpConfig(Config{}));
  // Every key appears uncommented in its section.
  std::string section;
  std::set<std::string> seen;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '[') {
      section = line.substr(1, line.find(']') - 1);
      continue;
    }
    auto eq = line.find(" = ");
    if (eq != std::string::npos) seen.insert(section + "." + line.substr(0, eq));
  }
  for (const auto& k : AllKeys()) EXPECT_TRUE(seen.count(k)) << k << " missing from the sample";
  EXPECT_EQ(seen.size(), AllKeys().size());
}

TEST_F(ConfigTest, LoadConfigFromFileAndMissingFile) {
  auto missing = LoadConfig("/nonexistent/pillarbox.toml", NoEnv);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message().rfind("/nonexistent/pillarbox.toml: cannot open", 0), 0u);
  auto sample = LoadConfig(std::string(PILLARBOX_SOURCE_DIR) + "/config/pillarbox.toml", NoEnv);
  EXPECT_TRUE(sample.ok()) << sample.status().ToString();
  // Regression: --config naming a directory (Docker's stand-in for a missing
  // bind-mounted file) ran on the defaults.
  auto dir = LoadConfig(std::string(PILLARBOX_SOURCE_DIR) + "/config", NoEnv);
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.status().message().find("/config: is a directory"), std::string::npos)
      << dir.status().message();
}

// Regression: a relative data_dir in a file was relative to the working
// directory, so the CLI run elsewhere opened (and made) another store.
TEST_F(ConfigTest, RelativeDataDirIsRelativeToTheFile) {
  std::string dir = ::testing::TempDir() + "pillarbox-config-test";
  std::filesystem::create_directories(dir + "/etc");
  {
    std::ofstream f(dir + "/etc/p.toml");
    f << "[server]\ndata_dir = \"./mail//\"\n";
  }
  auto c = LoadConfig(dir + "/etc/p.toml", NoEnv);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server.data_dir,
            std::filesystem::absolute(dir).lexically_normal().string() + "/etc/mail");
  {
    std::ofstream f(dir + "/etc/p.toml");
    f << "[server]\ndata_dir = \"/srv/mail\"\n";
  }
  EXPECT_EQ(LoadConfig(dir + "/etc/p.toml", NoEnv)->server.data_dir, "/srv/mail");
  {
    std::ofstream f(dir + "/etc/p.toml");
    f << "[imap]\n";
  }
  // Not in the file: the default, relative to the working directory.
  EXPECT_EQ(LoadConfig(dir + "/etc/p.toml", NoEnv)->server.data_dir, "./data");
  std::filesystem::remove_all(dir);
}

TEST_F(ConfigTest, UserSettings) {
  auto keys = UserSettingKeys();
  EXPECT_NE(std::find(keys.begin(), keys.end(), "pop3.delete_mode"), keys.end());
  EXPECT_TRUE(ValidateUserSetting("pop3.delete_mode", "hide").ok());
  EXPECT_TRUE(ValidateUserSetting("pop3.mark_seen_on_retr", "false").ok());
  EXPECT_EQ(ValidateUserSetting("pop3.delete_mode", "nope").message(),
            "pop3.delete_mode: expected expunge, hide, move:MAILBOX or deny");
  EXPECT_EQ(ValidateUserSetting("server.data_dir", "/x").message(),
            "server.data_dir: cannot be set per user");
  EXPECT_EQ(ValidateUserSetting("pop3.nope", "1").message(), "pop3.nope: unknown key");
  Config base;
  base.pop3.lock_session = false;
  Config c = UserConfig(base, {{"pop3.delete_mode", "move:Old"}, {"pop3.mark_seen_on_retr", "no"}});
  EXPECT_EQ(c.pop3.delete_mode.mode, Pop3DeleteMode::kMove);
  EXPECT_EQ(c.pop3.delete_mode.move_target, "Old");
  EXPECT_FALSE(c.pop3.mark_seen_on_retr);
  EXPECT_FALSE(c.pop3.lock_session);  // the rest is the base configuration
  // A bad stored value is reported and skipped; the others still apply.
  std::vector<std::string> problems;
  Config d = UserConfig(base, {{"pop3.delete_mode", "bogus"}, {"pop3.mark_seen_on_retr", "false"}},
                        &problems);
  EXPECT_EQ(
      problems,
      (std::vector<std::string>{"pop3.delete_mode: expected expunge, hide, move:MAILBOX or deny"}));
  EXPECT_EQ(d.pop3.delete_mode.mode, Pop3DeleteMode::kExpunge);
  EXPECT_FALSE(d.pop3.mark_seen_on_retr);
  EXPECT_EQ(*CanonicalUserSetting("pop3.mark_seen_on_retr", " Yes"), "true");
  EXPECT_EQ(*CanonicalUserSetting("pop3.delete_mode", "move:Old"), "move:Old");
  EXPECT_FALSE(CanonicalUserSetting("pop3.delete_mode", "x").ok());
}

TEST_F(ConfigTest, DeleteModeRoundTrip) {
  for (const char* m : {"expunge", "hide", "deny", "move:Archive", "move:Trash/POP3"}) {
    auto p = ParsePop3DeleteMode(m);
    ASSERT_TRUE(p.ok()) << m;
    EXPECT_EQ(FormatPop3DeleteMode(*p), m);
  }
}

TEST_F(ConfigTest, ExpireRule) {
  auto r = ParseExpireRule("\\Trash=30");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->mailbox, "\\Trash");
  EXPECT_EQ(r->days, 30);
  auto n = ParseExpireRule("Lists/old=7");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->mailbox, "Lists/old");
  EXPECT_FALSE(ParseExpireRule("=7").ok());
  EXPECT_FALSE(ParseExpireRule("Trash=x").ok());
}

}  // namespace
}  // namespace pillarbox::config

namespace pillarbox::config {
namespace {

TEST(CapabilityProfiles, ValidatedAndResolved) {
  EXPECT_TRUE(ValidateUserSetting("imap.profile", "rfc3501").ok());
  EXPECT_FALSE(ValidateUserSetting("imap.profile", "bogus").ok());
  EXPECT_TRUE(ValidateUserSetting("imap.capabilities", "-IDLE -move,-LITERAL+").ok());
  EXPECT_FALSE(ValidateUserSetting("imap.capabilities", "IDLE").ok());
  EXPECT_TRUE(ValidateUserSetting("imap.capabilities", "-CONDSTORE").ok());
  EXPECT_FALSE(ValidateUserSetting("imap.capabilities", "-XYZZY").ok());
  EXPECT_TRUE(ValidateUserSetting("pop3.capabilities", "-UIDL -TOP -PIPELINING").ok());
  EXPECT_FALSE(ValidateUserSetting("pop3.capabilities", "-MOVE").ok());
  Config c = UserConfig(Config(), {{"imap.profile", "no-idle"}, {"imap.capabilities", "-MOVE"}});
  EXPECT_EQ(ImapDisabled(c.imap), kImapIdle | kImapMove);
  c.imap.profile = "rfc3501";
  EXPECT_NE(ImapDisabled(c.imap) & kImapLiteralPlus, 0u);
  EXPECT_EQ(ImapDisabled(Config().imap), 0u);
  // Bits above 31 (the mask is 64 bits wide).
  c = UserConfig(Config(), {{"imap.capabilities", "-NOTIFY -CONTEXT=SEARCH"}});
  EXPECT_EQ(ImapDisabled(c.imap), kImapNotify | kImapContext);
  EXPECT_EQ(kImapNotify, std::uint64_t{1} << 32);
  c.imap.profile = "rfc3501";
  EXPECT_NE(ImapDisabled(c.imap) & kImapNotify, 0u);
}

}  // namespace
}  // namespace pillarbox::config

namespace pillarbox::config {
namespace {

TEST_F(ConfigTest, FaultTablesBecomeTheApisJson) {
  auto c = Parse(
      "[[faults]]\nprotocol = \"imap\"\ncommand = \"FETCH\"\naction = \"disconnect\"\n"
      "after_bytes = 100\n\n[[faults]]\nprotocol = \"lmtp\"\naction = \"reply\"\n"
      "reply = \"452 4.2.2 injected\"\nprobability = 0.5\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_NE(c->faults.find("\"after_bytes\""), std::string::npos);
  EXPECT_NE(c->faults.find("\"452 4.2.2 injected\""), std::string::npos);
  EXPECT_NE(DumpConfig(*c).find("# [[faults]] (as JSON):"), std::string::npos);
  EXPECT_NE(Error("faults = 3\n").find("[[faults]]"), std::string::npos);
  EXPECT_TRUE(Parse("").value().faults.empty());
}

TEST_F(ConfigTest, TranscriptKeys) {
  auto c = Parse("[dev]\ntranscripts = true\ntranscript_sessions = 5\ntranscript_dir = \"t\"\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->dev.transcripts);
  EXPECT_EQ(c->dev.transcript_sessions, 5);
  EXPECT_EQ(c->dev.transcript_dir, "t");
  EXPECT_NE(Error("[dev]\ntranscript_sessions = -1\n"), "");
}

}  // namespace
}  // namespace pillarbox::config

namespace pillarbox::config {
namespace {

TEST_F(ConfigTest, ListenerProfiles) {
  auto c = Parse(
      "[imap]\nlisten = [\"127.0.0.1:1143\", \"127.0.0.1:1144\"]\n"
      "listener_profiles = [\"127.0.0.1:1144=rfc3501\", \"127.0.0.1:1993=-IDLE -MOVE\"]\n"
      "[pop3]\nlisten = [\"127.0.0.1:1110\"]\nlistener_capabilities = "
      "[\"127.0.0.1:1110=-UIDL\"]\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(ListenerOverride(c->imap.listener_profiles, "127.0.0.1:1144"), "rfc3501");
  EXPECT_EQ(ListenerOverride(c->imap.listener_profiles, "127.0.0.1:1993"), "-IDLE -MOVE");
  EXPECT_EQ(ListenerOverride(c->imap.listener_profiles, "127.0.0.1:1143"), "");
  ImapConfig imap = c->imap;
  ApplyListenerOverride(&imap, "rfc3501");
  EXPECT_NE(ImapDisabled(imap) & kImapMove, 0u);
  imap = c->imap;
  ApplyListenerOverride(&imap, "-IDLE -MOVE");
  EXPECT_EQ(ImapDisabled(imap), kImapIdle | kImapMove);
  Pop3Config pop3 = c->pop3;
  ApplyListenerOverride(&pop3, "-UIDL");
  EXPECT_EQ(Pop3Disabled(pop3), kPop3Uidl);
  // Not a listener, no '=', an unknown profile or removal.
  EXPECT_NE(Error("[imap]\nlistener_profiles = [\"127.0.0.1:9=rfc3501\"]\n")
                .find("not one of the listen"),
            std::string::npos);
  EXPECT_NE(Error("[imap]\nlistener_profiles = [\"127.0.0.1:1143\"]\n"), "");
  EXPECT_NE(Error("[imap]\nlistener_profiles = [\"127.0.0.1:1143=bogus\"]\n"), "");
  EXPECT_NE(Error("[pop3]\nlistener_capabilities = [\"127.0.0.1:1110=-MOVE\"]\n"), "");
}

}  // namespace
}  // namespace pillarbox::config
