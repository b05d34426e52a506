// Byte-exact POP3 transcripts: every command, every state error, limits,
// authentication paths, pipelining and input split at every byte.
#include <gtest/gtest.h>

#include "common/base64.h"
#include "storage/uidl.h"
#include "tests/unit/pop3/pop3_test_util.h"

namespace pillarbox::pop3::testing {
namespace {

const std::string kM1 = "From: a@example.com\r\nSubject: one\r\n\r\nHello\r\n";
const std::string kM2 = "From: b@example.com\r\nSubject: two\r\n\r\nLine 1\r\nLine 2\r\nLine 3\r\n";

std::string Sz(const std::string& s) { return std::to_string(s.size()); }

std::string Plain(std::string_view authzid, std::string_view user, std::string_view pass) {
  std::string m(authzid);
  m += '\0';
  m += user;
  m += '\0';
  m += pass;
  return Base64Encode(m);
}

const std::string kCapaAuth =
    "+OK Capability list follows\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n"
    "PIPELINING\r\nUSER\r\nSASL PLAIN LOGIN\r\nEXPIRE NEVER\r\nIMPLEMENTATION Pillarbox\r\n.\r\n";
const std::string kCapaTrans =
    "+OK Capability list follows\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n"
    "PIPELINING\r\nEXPIRE NEVER\r\nIMPLEMENTATION Pillarbox\r\n.\r\n";

// --- CAPA --------------------------------------------------------------------

TEST_F(Pop3Test, CapaBeforeAndAfterLogin) {
  auto c = Connect();
  EXPECT_EQ(Send(*c, "CAPA\r\n"), kCapaAuth);
  EXPECT_EQ(Send(*c, "capa\r\n"), kCapaAuth);
  EXPECT_EQ(Send(*c, "USER alice\r\nPASS secret\r\nCAPA\r\n"),
            "+OK\r\n+OK Logged in.\r\n" + kCapaTrans);
}

TEST_F(Pop3Test, CapaListsStlsOnlyWhenAvailableAndNotActive) {
  info_.tls_available = true;
  auto c = Connect();
  std::string capa = Send(*c, "CAPA\r\n");
  EXPECT_NE(capa.find("\r\nSTLS\r\n"), std::string::npos) << capa;
  info_.tls_active = true;
  auto secure = Connect();
  EXPECT_EQ(Send(*secure, "CAPA\r\n").find("STLS"), std::string::npos);
}

TEST_F(Pop3Test, CapaExpireAndLoginDelay) {
  config_.retention.expire_after = {"\\Trash=30", "inbox=14"};
  config_.pop3.login_delay = std::chrono::seconds(300);
  auto c = Connect();
  EXPECT_EQ(Send(*c, "CAPA\r\n"),
            "+OK Capability list follows\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
            "AUTH-RESP-CODE\r\nPIPELINING\r\nUSER\r\nSASL PLAIN LOGIN\r\nEXPIRE 14\r\n"
            "LOGIN-DELAY 300\r\nIMPLEMENTATION Pillarbox\r\n.\r\n");
}

TEST_F(Pop3Test, CapaOmitsPlaintextMechanismsWhenDisallowed) {
  info_.loopback = false;
  info_.peer_ip = "192.0.2.7";
  auto c = Connect();
  EXPECT_EQ(Send(*c, "CAPA\r\n"),
            "+OK Capability list follows\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
            "AUTH-RESP-CODE\r\nPIPELINING\r\nEXPIRE NEVER\r\nIMPLEMENTATION Pillarbox\r\n.\r\n");
}

// --- the whole command set ------------------------------------------------------

TEST_F(Pop3Test, FullTransactionTranscript) {
  auto d1 = Deliver(kM1);
  auto d2 = Deliver(kM2);
  auto c = Login();
  const std::string total = std::to_string(kM1.size() + kM2.size());
  EXPECT_EQ(Send(*c, "STAT\r\n"), "+OK 2 " + total + "\r\n");
  EXPECT_EQ(Send(*c, "LIST\r\n"),
            "+OK 2 messages:\r\n1 " + Sz(kM1) + "\r\n2 " + Sz(kM2) + "\r\n.\r\n");
  EXPECT_EQ(Send(*c, "LIST 2\r\n"), "+OK 2 " + Sz(kM2) + "\r\n");
  EXPECT_EQ(Send(*c, "UIDL\r\n"), "+OK\r\n1 " + storage::FormatUidl(d1.guid) + "\r\n2 " +
                                      storage::FormatUidl(d2.guid) + "\r\n.\r\n");
  EXPECT_EQ(Send(*c, "UIDL 1\r\n"), "+OK 1 " + storage::FormatUidl(d1.guid) + "\r\n");
  EXPECT_EQ(Send(*c, "RETR 1\r\n"), "+OK " + Sz(kM1) + " octets\r\n" + kM1 + ".\r\n");
  EXPECT_EQ(Send(*c, "TOP 2 1\r\n"),
            "+OK\r\nFrom: b@example.com\r\nSubject: two\r\n\r\nLine 1\r\n.\r\n");
  EXPECT_EQ(Send(*c, "TOP 2 0\r\n"), "+OK\r\nFrom: b@example.com\r\nSubject: two\r\n\r\n.\r\n");
  EXPECT_EQ(Send(*c, "TOP 2 99\r\n"), "+OK\r\n" + kM2 + ".\r\n");
  EXPECT_EQ(Send(*c, "NOOP\r\n"), "+OK\r\n");
  EXPECT_EQ(Send(*c, "DELE 1\r\n"), "+OK Marked to be deleted.\r\n");
  EXPECT_EQ(Send(*c, "STAT\r\n"), "+OK 1 " + Sz(kM2) + "\r\n");
  EXPECT_EQ(Send(*c, "LIST\r\n"), "+OK 1 messages:\r\n2 " + Sz(kM2) + "\r\n.\r\n");
  EXPECT_EQ(Send(*c, "UIDL\r\n"), "+OK\r\n2 " + storage::FormatUidl(d2.guid) + "\r\n.\r\n");
  EXPECT_EQ(Send(*c, "LIST 1\r\n"), "-ERR Message 1 is deleted.\r\n");
  EXPECT_EQ(Send(*c, "UIDL 1\r\n"), "-ERR Message 1 is deleted.\r\n");
  EXPECT_EQ(Send(*c, "RETR 1\r\n"), "-ERR Message 1 is deleted.\r\n");
  EXPECT_EQ(Send(*c, "TOP 1 0\r\n"), "-ERR Message 1 is deleted.\r\n");
  EXPECT_EQ(Send(*c, "DELE 1\r\n"), "-ERR Message 1 is already deleted.\r\n");
  EXPECT_EQ(Send(*c, "RSET\r\n"), "+OK\r\n");
  EXPECT_EQ(Send(*c, "STAT\r\n"), "+OK 2 " + total + "\r\n");
  EXPECT_EQ(Send(*c, "DELE 2\r\n"), "+OK Marked to be deleted.\r\n");
  EXPECT_EQ(Send(*c, "QUIT\r\n"), "+OK Logging out, messages deleted.\r\n");
  EXPECT_TRUE(c->out.closed());
  // Durable when acknowledged: visible without waiting for anything else.
  auto left = Messages();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].guid, d1.guid);
}

TEST_F(Pop3Test, QuitWithoutDeletes) {
  Deliver(kM1);
  auto c = Login();
  EXPECT_EQ(Send(*c, "QUIT\r\n"), "+OK Logging out.\r\n");
  EXPECT_TRUE(c->out.closed());
  EXPECT_EQ(Messages().size(), 1u);
}

TEST_F(Pop3Test, DeletedUserSessionEndsWithAClearError) {
  Deliver(kM1);
  auto c = Login();
  auto waiting = Connect();  // not logged in: not concerned
  EXPECT_EQ(Send(*c, "DELE 1\r\n"), "+OK Marked to be deleted.\r\n");
  ASSERT_TRUE(
      fx_.WaitStatus([&](storage::StatusCallback cb) { fx_.store().DeleteUser("alice", cb); })
          .ok());
  Flush();
  EXPECT_EQ(c->out.Take(), "-ERR [SYS/PERM] Account deleted.\r\n");
  EXPECT_TRUE(c->out.closed());
  EXPECT_FALSE(c->session->HasPendingWork());
  EXPECT_EQ(Send(*c, "QUIT\r\n"), "");
  EXPECT_EQ(waiting->out.Take(), "");
  EXPECT_FALSE(waiting->out.closed());
  Drop(c);
}

TEST_F(Pop3Test, LoginTimeoutSaysSo) {
  auto c = Connect();
  EXPECT_FALSE(c->session->Authenticated());
  c->session->OnLoginTimeout();
  EXPECT_EQ(c->out.Take(), "-ERR Disconnected: no login in time.\r\n");
  EXPECT_TRUE(c->out.closed());
  EXPECT_TRUE(Login()->session->Authenticated());
}

TEST_F(Pop3Test, QuitBeforeLogin) {
  auto c = Connect();
  EXPECT_EQ(Send(*c, "QUIT\r\n"), "+OK Logging out.\r\n");
  EXPECT_TRUE(c->out.closed());
  // Nothing after QUIT is processed.
  EXPECT_EQ(Send(*c, "CAPA\r\n"), "");
}

TEST_F(Pop3Test, EmptyMaildrop) {
  auto c = Login();
  EXPECT_EQ(Send(*c, "STAT\r\nLIST\r\nUIDL\r\nLIST 1\r\n"),
            "+OK 0 0\r\n+OK 0 messages:\r\n.\r\n+OK\r\n.\r\n-ERR There's no message 1.\r\n");
}

TEST_F(Pop3Test, MessageNumberErrors) {
  Deliver(kM1);
  auto c = Login();
  EXPECT_EQ(Send(*c, "LIST 0\r\n"), "-ERR There's no message 0.\r\n");
  EXPECT_EQ(Send(*c, "LIST 2\r\n"), "-ERR There's no message 2.\r\n");
  EXPECT_EQ(Send(*c, "RETR 4294967295\r\n"), "-ERR There's no message 4294967295.\r\n");
  EXPECT_EQ(Send(*c, "RETR x\r\n"), "-ERR Invalid message number: x\r\n");
  EXPECT_EQ(Send(*c, "DELE -1\r\n"), "-ERR Invalid message number: -1\r\n");
  EXPECT_EQ(Send(*c, "UIDL 99999999999\r\n"), "-ERR Invalid message number: 99999999999\r\n");
  EXPECT_EQ(Send(*c, "TOP 1 x\r\n"), "-ERR Invalid number of lines.\r\n");
  EXPECT_EQ(Send(*c, "TOP 9 1\r\n"), "-ERR There's no message 9.\r\n");
  // A leading zero names the same message; the reply uses its number.
  EXPECT_EQ(Send(*c, "LIST 01\r\n"), "+OK 1 " + Sz(kM1) + "\r\n");
  // Not counted as bad commands: the session is still open.
  EXPECT_FALSE(c->out.closed());
}

TEST_F(Pop3Test, UsageErrors) {
  config_.limits.max_bad_commands = 100;
  Deliver(kM1);
  auto c = Login();
  EXPECT_EQ(Send(*c, "RETR\r\n"), "-ERR Usage: RETR <message>\r\n");
  EXPECT_EQ(Send(*c, "RETR 1 2\r\n"), "-ERR Usage: RETR <message>\r\n");
  EXPECT_EQ(Send(*c, "DELE\r\n"), "-ERR Usage: DELE <message>\r\n");
  EXPECT_EQ(Send(*c, "TOP 1\r\n"), "-ERR Usage: TOP <message> <lines>\r\n");
  EXPECT_EQ(Send(*c, "LIST 1 2\r\n"), "-ERR Usage: LIST [message]\r\n");
  EXPECT_EQ(Send(*c, "UIDL 1 2\r\n"), "-ERR Usage: UIDL [message]\r\n");
  EXPECT_EQ(Send(*c, "STAT 1\r\n"), "-ERR Usage: STAT\r\n");
  EXPECT_EQ(Send(*c, "NOOP x\r\n"), "-ERR Usage: NOOP\r\n");
  EXPECT_EQ(Send(*c, "RSET x\r\n"), "-ERR Usage: RSET\r\n");
  EXPECT_EQ(Send(*c, "APOP alice 0123456789abcdef0123456789abcdef\r\n"),
            "-ERR Unknown command: APOP\r\n");
  EXPECT_EQ(Send(*c, "\r\n"), "-ERR Unknown command.\r\n");
}

TEST_F(Pop3Test, StateErrorsBeforeLogin) {
  for (const char* cmd : {"STAT", "LIST", "LIST 1", "RETR 1", "TOP 1 1", "DELE 1", "NOOP", "RSET",
                          "UIDL", "UIDL 1"}) {
    auto c = Connect();
    EXPECT_EQ(Send(*c, std::string(cmd) + "\r\n"), "-ERR Not logged in.\r\n") << cmd;
  }
}

TEST_F(Pop3Test, StateErrorsAfterLogin) {
  config_.limits.max_bad_commands = 100;
  info_.tls_available = true;
  auto c = Login();
  for (const char* cmd : {"USER alice", "PASS secret", "AUTH PLAIN", "AUTH", "STLS"}) {
    EXPECT_EQ(Send(*c, std::string(cmd) + "\r\n"), "-ERR Already logged in.\r\n") << cmd;
  }
}

TEST_F(Pop3Test, TooManyBadCommandsBeforeLogin) {
  auto c = Connect();
  EXPECT_EQ(Send(*c, "FOO\r\nSTAT\r\n"), "-ERR Unknown command: FOO\r\n-ERR Not logged in.\r\n");
  EXPECT_FALSE(c->out.closed());
  EXPECT_EQ(Send(*c, "BAR\r\nCAPA\r\n"), "-ERR Too many bad commands, closing connection.\r\n");
  EXPECT_TRUE(c->out.closed());
}

TEST_F(Pop3Test, TooManyBadCommandsAfterLogin) {
  config_.limits.max_bad_commands = 5;
  auto c = Login();
  EXPECT_EQ(Send(*c, "X1\r\nX2\r\nX3\r\nX4\r\n"),
            "-ERR Unknown command: X1\r\n-ERR Unknown command: X2\r\n"
            "-ERR Unknown command: X3\r\n-ERR Unknown command: X4\r\n");
  EXPECT_FALSE(c->out.closed());
  EXPECT_EQ(Send(*c, "X5\r\nNOOP\r\n"), "-ERR Too many bad commands, closing connection.\r\n");
  EXPECT_TRUE(c->out.closed());
}

TEST_F(Pop3Test, UnknownCommandEchoIsBoundedAndPrintable) {
  auto c = Connect();
  EXPECT_EQ(Send(*c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n"),
            "-ERR Unknown command: ABCDEFGHIJKLMNOP\r\n");
  EXPECT_EQ(Send(*c, std::string("X\x01Y\r\n")), "-ERR Unknown command: X?Y\r\n");
}

// --- line limits ---------------------------------------------------------------

TEST_F(Pop3Test, LineLengthLimit) {
  auto c = Connect();
  // kMaxCommandLine octets are accepted...
  std::string longest = "NOOP" + std::string(kMaxCommandLine - 4, ' ');
  EXPECT_EQ(Send(*c, longest + "\r\n"), "-ERR Not logged in.\r\n");
  // ...one more is refused, whether it arrives whole or in pieces.
  std::string too_long = "NOOP" + std::string(kMaxCommandLine - 3, ' ');
  EXPECT_EQ(Send(*c, too_long + "\r\n"), "-ERR Line too long.\r\n");
  auto d = Connect();
  std::string out;
  for (std::size_t i = 0; i < too_long.size(); i += 100) {
    out += Send(*d, std::string_view(too_long).substr(i, 100));
  }
  out += Send(*d, "\r\nCAPA\r\n");
  EXPECT_EQ(out, "-ERR Line too long.\r\n" + kCapaAuth);
  // A huge line without end is refused once and then dropped to its end.
  auto e = Connect();
  EXPECT_EQ(Send(*e, std::string(10000, 'x')), "-ERR Line too long.\r\n");
  EXPECT_EQ(Send(*e, std::string(10000, 'x')), "");
  EXPECT_EQ(Send(*e, "x\r\nCAPA\r\n"), kCapaAuth);
}

TEST_F(Pop3Test, BareLfLineEndingsAreAccepted) {
  auto c = Connect();
  EXPECT_EQ(Send(*c, "USER alice\nPASS secret\nSTAT\n"), "+OK\r\n+OK Logged in.\r\n+OK 0 0\r\n");
}

// --- USER / PASS -----------------------------------------------------------------

TEST_F(Pop3Test, UserPassErrors) {
  auto c = Connect();
  EXPECT_EQ(Send(*c, "PASS secret\r\n"), "-ERR No username given.\r\n");
  EXPECT_EQ(Send(*c, "USER\r\n"), "-ERR No username given.\r\n");
  auto d = Connect();
  EXPECT_EQ(Send(*d, "USER alice\r\nPASS\r\n"), "+OK\r\n-ERR No password given.\r\n");
  EXPECT_EQ(Send(*d, "USER a b\r\n"), "-ERR Usage: USER <name>\r\n");
}

TEST_F(Pop3Test, PasswordMayContainSpaces) {
  AddUser("bob", "two words ");
  auto c = Connect();
  EXPECT_EQ(Send(*c, "USER bob\r\nPASS two words \r\n"), "+OK\r\n+OK Logged in.\r\n");
}

TEST_F(Pop3Test, UserNameIsCaseInsensitive) {
  auto c = Connect();
  EXPECT_EQ(Send(*c, "user ALICE\r\npass secret\r\n"), "+OK\r\n+OK Logged in.\r\n");
}

TEST_F(Pop3Test, FailedLoginIsDelayedAndUserMustBeRepeated) {
  auto c = Connect();
  // The answer, and the pipelined command behind it, wait for the delay.
  EXPECT_EQ(Send(*c, "USER alice\r\nPASS wrong\r\nCAPA\r\n", /*fire_timers=*/false), "+OK\r\n");
  EXPECT_EQ(timers_.pending(), 1u);
  timers_.Advance(config_.auth.failure_delay - std::chrono::milliseconds(1));
  EXPECT_EQ(c->out.Take(), "");
  timers_.Advance(std::chrono::milliseconds(1));
  Settle(*c, false);
  EXPECT_EQ(c->out.Take(), "-ERR [AUTH] Authentication failed.\r\n" + kCapaAuth);
  // The second failure waits twice as long.
  EXPECT_EQ(Send(*c, "USER alice\r\nPASS wrong\r\n", false), "+OK\r\n");
  timers_.Advance(config_.auth.failure_delay * 2 - std::chrono::milliseconds(1));
  EXPECT_EQ(c->out.Take(), "");
  timers_.Advance(std::chrono::milliseconds(1));
  EXPECT_EQ(c->out.Take(), "-ERR [AUTH] Authentication failed.\r\n");
  // After a failure the user name is forgotten.
  EXPECT_EQ(Send(*c, "PASS secret\r\n"), "-ERR No username given.\r\n");
  EXPECT_EQ(Send(*c, "USER alice\r\nPASS secret\r\n"), "+OK\r\n+OK Logged in.\r\n");
}

TEST_F(Pop3Test, UnknownUserFailsLikeAWrongPassword) {
  auto c = Connect();
  EXPECT_EQ(Send(*c, "USER nobody\r\nPASS secret\r\n"),
            "+OK\r\n-ERR [AUTH] Authentication failed.\r\n");
}

TEST_F(Pop3Test, LockoutAfterTooManyFailures) {
  config_.auth.lockout_failures = 2;
  auto c = Connect();
  EXPECT_EQ(Send(*c, "USER alice\r\nPASS x\r\nUSER alice\r\nPASS y\r\n"),
            "+OK\r\n-ERR [AUTH] Authentication failed.\r\n+OK\r\n"
            "-ERR [AUTH] Authentication failed.\r\n");
  // Even the right password is refused while locked out.
  EXPECT_EQ(Send(*c, "USER alice\r\nPASS secret\r\n"),
            "+OK\r\n-ERR [AUTH] Too many failed logins, try again later.\r\n");
  // Other users from the same address are not affected.
  AddUser("bob", "pw");
  EXPECT_EQ(Send(*c, "USER bob\r\nPASS pw\r\n"), "+OK\r\n+OK Logged in.\r\n");
}

TEST_F(Pop3Test, IdleTimeout) {
  auto c = Login();
  EXPECT_EQ(c->session->IdleTimeout(), std::chrono::minutes(10));
  c->session->OnIdleTimeout();
  EXPECT_EQ(c->out.Take(), "-ERR Disconnected for inactivity.\r\n");
  EXPECT_TRUE(c->out.closed());
  // The lock went with it.
  auto d = Login();
}

TEST_F(Pop3Test, Shutdown) {
  auto c = Login();
  c->session->OnShutdown();
  EXPECT_EQ(c->out.Take(), "-ERR [SYS/TEMP] Server shutting down.\r\n");
  EXPECT_TRUE(c->out.closed());
}

TEST_F(Pop3Test, LoginDelay) {
  config_.pop3.login_delay = std::chrono::seconds(3600);
  auto c = Login();
  EXPECT_EQ(Send(*c, "QUIT\r\n"), "+OK Logging out.\r\n");
  auto d = Connect();
  EXPECT_EQ(Send(*d, "USER alice\r\nPASS secret\r\n"),
            "+OK\r\n-ERR [LOGIN-DELAY] Minimum time between logins has not passed yet.\r\n");
  // A wrong password still says [AUTH]: the delay is told only to the owner.
  EXPECT_EQ(Send(*d, "USER alice\r\nPASS bad\r\n"),
            "+OK\r\n-ERR [AUTH] Authentication failed.\r\n");
}

// --- maildrop lock ---------------------------------------------------------------

TEST_F(Pop3Test, SecondLoginIsInUse) {
  auto c = Login();
  auto d = Connect();
  EXPECT_EQ(Send(*d, "USER alice\r\nPASS secret\r\n"),
            "+OK\r\n-ERR [IN-USE] Mailbox is locked by another POP3 session.\r\n");
  EXPECT_FALSE(d->out.closed());
  // The lock dies with its connection.
  Drop(c);
  EXPECT_EQ(Send(*d, "USER alice\r\nPASS secret\r\n"), "+OK\r\n+OK Logged in.\r\n");
}

TEST_F(Pop3Test, LockReleasedAtQuit) {
  auto c = Login();
  EXPECT_EQ(Send(*c, "QUIT\r\n"), "+OK Logging out.\r\n");
  auto d = Login();  // before OnClosed of the first connection
}

TEST_F(Pop3Test, NoLockWhenDisabled) {
  config_.pop3.lock_session = false;
  auto c = Login();
  auto d = Login();
}

// --- plaintext policy -------------------------------------------------------------

TEST_F(Pop3Test, PlaintextNeverRefusesUserPassAndAuth) {
  config_.auth.plaintext = config::Plaintext::kNever;
  auto c = Connect();
  const std::string refusal = "-ERR [AUTH] Plaintext authentication is disabled.\r\n";
  EXPECT_EQ(Send(*c, "USER alice\r\n"), refusal);
  EXPECT_EQ(Send(*c, "PASS secret\r\n"), refusal);
  EXPECT_EQ(Send(*c, "AUTH PLAIN " + Plain("", "alice", "secret") + "\r\n"), refusal);
  EXPECT_EQ(Send(*c, "AUTH LOGIN\r\n"), refusal);
  EXPECT_EQ(Send(*c, "AUTH\r\n"), "+OK\r\n.\r\n");
  EXPECT_FALSE(c->out.closed());
}

TEST_F(Pop3Test, PlaintextTlsOrLoopback) {
  const std::string refusal =
      "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\r\n";
  info_.loopback = false;
  info_.peer_ip = "192.0.2.7";
  auto c = Connect();
  EXPECT_EQ(Send(*c, "USER alice\r\n"), refusal);
  EXPECT_EQ(Send(*c, "AUTH PLAIN\r\n"), refusal);
  info_.tls_active = true;
  auto d = Connect();
  EXPECT_EQ(Send(*d, "USER alice\r\nPASS secret\r\n"), "+OK\r\n+OK Logged in.\r\n");
}

TEST_F(Pop3Test, PlaintextTlsOnlyRefusesLoopback) {
  config_.auth.plaintext = config::Plaintext::kTls;
  auto c = Connect();
  EXPECT_EQ(Send(*c, "USER alice\r\n"),
            "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) "
            "connections.\r\n");
}

TEST_F(Pop3Test, PlaintextAlways) {
  config_.auth.plaintext = config::Plaintext::kAlways;
  info_.loopback = false;
  info_.peer_ip = "192.0.2.7";
  auto c = Connect();
  EXPECT_EQ(Send(*c, "USER alice\r\nPASS secret\r\n"), "+OK\r\n+OK Logged in.\r\n");
}

// --- SASL ------------------------------------------------------------------------

TEST_F(Pop3Test, AuthPlainWithInitialResponse) {
  auto c = Connect();
  EXPECT_EQ(Send(*c, "AUTH PLAIN " + Plain("", "alice", "secret") + "\r\n"), "+OK Logged in.\r\n");
}

TEST_F(Pop3Test, AuthPlainWithoutInitialResponse) {
  auto c = Connect();
  EXPECT_EQ(Send(*c, "AUTH PLAIN\r\n"), "+ \r\n");
  EXPECT_EQ(Send(*c, Plain("alice", "alice", "secret") + "\r\nSTAT\r\n"),
            "+OK Logged in.\r\n+OK 0 0\r\n");
}

TEST_F(Pop3Test, AuthPlainFailures) {
  auto c = Connect();
  EXPECT_EQ(Send(*c, "AUTH PLAIN " + Plain("", "alice", "wrong") + "\r\n"),
            "-ERR [AUTH] Authentication failed.\r\n");
  // Acting as another user is refused.
  AddUser("bob", "pw");
  EXPECT_EQ(Send(*c, "AUTH PLAIN " + Plain("bob", "alice", "secret") + "\r\n"),
            "-ERR [AUTH] Authentication failed.\r\n");
  EXPECT_EQ(Send(*c, "AUTH PLAIN =\r\n"), "-ERR Invalid PLAIN message.\r\n");
  EXPECT_EQ(Send(*c, "AUTH PLAIN !!!!\r\n"), "-ERR Invalid base64 data in initial response.\r\n");
  EXPECT_EQ(Send(*c, "AUTH PLAIN\r\n!!!!\r\n"), "+ \r\n-ERR Invalid base64 data in response.\r\n");
  EXPECT_EQ(Send(*c, "AUTH CRAM-MD5\r\n"), "-ERR Unsupported authentication mechanism.\r\n");
  EXPECT_EQ(Send(*c, "AUTH PLAIN a b\r\n"), "-ERR Usage: AUTH <mechanism> [initial-response]\r\n");
  EXPECT_FALSE(c->out.closed());
  EXPECT_EQ(Send(*c, "AUTH plain " + Plain("", "alice", "secret") + "\r\n"), "+OK Logged in.\r\n");
}

TEST_F(Pop3Test, AuthCancel) {
  auto c = Connect();
  EXPECT_EQ(Send(*c, "AUTH PLAIN\r\n*\r\n"), "+ \r\n-ERR Authentication cancelled.\r\n");
  EXPECT_EQ(Send(*c, "AUTH LOGIN\r\n" + Base64Encode("alice") + "\r\n*\r\n"),
            "+ VXNlcm5hbWU6\r\n+ UGFzc3dvcmQ6\r\n-ERR Authentication cancelled.\r\n");
  // The session goes on as before.
  EXPECT_EQ(Send(*c, "CAPA\r\n"), kCapaAuth);
}

TEST_F(Pop3Test, AuthLogin) {
  auto c = Connect();
  EXPECT_EQ(Send(*c, "AUTH LOGIN\r\n"), "+ VXNlcm5hbWU6\r\n");
  EXPECT_EQ(Send(*c, Base64Encode("alice") + "\r\n"), "+ UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(Send(*c, Base64Encode("secret") + "\r\n"), "+OK Logged in.\r\n");
}

TEST_F(Pop3Test, AuthLoginWithInitialResponse) {
  auto c = Connect();
  EXPECT_EQ(
      Send(*c, "AUTH LOGIN " + Base64Encode("alice") + "\r\n" + Base64Encode("secret") + "\r\n"),
      "+ UGFzc3dvcmQ6\r\n+OK Logged in.\r\n");
}

TEST_F(Pop3Test, AuthWithoutArgumentsListsMechanisms) {
  auto c = Connect();
  EXPECT_EQ(Send(*c, "AUTH\r\n"), "+OK\r\nPLAIN\r\nLOGIN\r\n.\r\n");
}

TEST_F(Pop3Test, SaslResponseLineLimit) {
  auto c = Connect();
  EXPECT_EQ(Send(*c, "AUTH PLAIN\r\n"), "+ \r\n");
  EXPECT_EQ(Send(*c, std::string(kMaxSaslLine + 1, 'A') + "\r\nCAPA\r\n"),
            "-ERR Authentication response too long.\r\n" + kCapaAuth);
}

// --- STLS ------------------------------------------------------------------------

TEST_F(Pop3Test, Stls) {
  info_.tls_available = true;
  info_.loopback = false;
  info_.peer_ip = "192.0.2.7";
  auto c = Connect();
  // Commands pipelined after STLS were sent in plaintext: dropped.
  EXPECT_EQ(Send(*c, "USER alice\r\n"),
            "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) "
            "connections.\r\n");
  EXPECT_EQ(Send(*c, "STLS\r\nUSER mallory\r\n"), "+OK Begin TLS negotiation now.\r\n");
  EXPECT_TRUE(c->out.tls_started());
  EXPECT_TRUE(c->session->HasPendingWork());
  EXPECT_EQ(Send(*c, "CAPA\r\n"), "");  // still handshaking: waits
  c->info.tls_active = true;
  c->session->OnTlsEstablished();
  Settle(*c);
  EXPECT_EQ(c->out.Take(), "");  // the CAPA was plaintext too
  std::string capa = Send(*c, "CAPA\r\n");
  EXPECT_EQ(capa.find("STLS"), std::string::npos);
  EXPECT_NE(capa.find("USER\r\n"), std::string::npos);
  EXPECT_EQ(Send(*c, "STLS\r\n"), "-ERR TLS is already active.\r\n");
  EXPECT_EQ(Send(*c, "PASS secret\r\n"), "-ERR No username given.\r\n");
  EXPECT_EQ(Send(*c, "USER alice\r\nPASS secret\r\n"), "+OK\r\n+OK Logged in.\r\n");
}

TEST_F(Pop3Test, StlsWithoutCertificate) {
  auto c = Connect();
  EXPECT_EQ(Send(*c, "STLS\r\n"), "-ERR TLS support isn't enabled.\r\n");
  EXPECT_FALSE(c->out.tls_started());
}

TEST_F(Pop3Test, StlsForgetsUserName) {
  info_.tls_available = true;
  auto c = Connect();
  EXPECT_EQ(Send(*c, "USER alice\r\nSTLS\r\n"), "+OK\r\n+OK Begin TLS negotiation now.\r\n");
  c->info.tls_active = true;
  c->session->OnTlsEstablished();
  EXPECT_EQ(Send(*c, "PASS secret\r\n"), "-ERR No username given.\r\n");
}

// --- pipelining and splits ----------------------------------------------------------

const char kScript[] =
    "CAPA\r\nUSER alice\r\nPASS secret\r\nSTAT\r\nLIST\r\nUIDL\r\nRETR 1\r\nTOP 2 1\r\n"
    "DELE 1\r\nLIST 1\r\nRSET\r\nNOOP\r\nXYZ\r\nQUIT\r\n";

TEST_F(Pop3Test, PipelinedScriptSameAtEverySplit) {
  Deliver(kM1);
  Deliver(".dot first\r\n\r\n..\r\n.\r\nend");
  auto whole = Connect();
  const std::string expected = Send(*whole, kScript);
  EXPECT_NE(expected.find("+OK Logged in.\r\n"), std::string::npos);
  EXPECT_TRUE(expected.ends_with("+OK Logging out.\r\n")) << expected;
  Flush();

  const std::string script = kScript;
  // One byte at a time.
  {
    auto c = Connect();
    std::string out;
    for (char ch : script) out += Send(*c, std::string_view(&ch, 1));
    EXPECT_EQ(out, expected);
    Flush();
  }
  // Split in two at every point.
  for (std::size_t i = 1; i < script.size(); ++i) {
    auto c = Connect();
    std::string out = Send(*c, std::string_view(script).substr(0, i));
    out += Send(*c, std::string_view(script).substr(i));
    ASSERT_EQ(out, expected) << "split at " << i;
    Flush();
  }
}

TEST_F(Pop3Test, CommandsAfterAPendingLoginWaitTheirTurn) {
  Deliver(kM1);
  auto c = Connect();
  c->session->OnInput("USER alice\r\nPASS secret\r\nSTAT\r\nNOOP\r\n");
  // Authenticate is still running: nothing after USER's +OK yet.
  EXPECT_EQ(c->out.Take(), "+OK\r\n");
  Settle(*c);
  EXPECT_EQ(c->out.Take(), "+OK Logged in.\r\n+OK 1 " + Sz(kM1) + "\r\n+OK\r\n");
}

TEST_F(Pop3Test, InputIsPausedWhenTooMuchIsBufferedWhileWaiting) {
  auto c = Connect();
  c->session->OnInput("USER alice\r\nPASS secret\r\n");
  std::string noops;
  while (noops.size() <= kMaxBufferedInput) noops += "NOOP\r\n";
  c->session->OnInput(noops);
  EXPECT_TRUE(c->out.paused());
  Settle(*c);
  EXPECT_FALSE(c->out.paused());
  std::string out = c->out.Take();
  EXPECT_TRUE(out.ends_with("+OK\r\n+OK\r\n"));
}

}  // namespace
}  // namespace pillarbox::pop3::testing

// --- pop3.capabilities removals ---------------------------------------------

namespace pillarbox::pop3::testing {
namespace {

TEST_F(Pop3Test, CapabilityRemovalsAreReallyOff) {
  config_.pop3.capabilities = "-UIDL -TOP -PIPELINING";
  Deliver("Subject: a\r\n\r\nbody\r\n");
  auto c = Connect();
  EXPECT_EQ(Send(*c, "CAPA\r\n"),
            "+OK Capability list follows\r\nCAPA\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nUSER\r\n"
            "SASL PLAIN LOGIN\r\nEXPIRE NEVER\r\nIMPLEMENTATION Pillarbox\r\n.\r\n");
  EXPECT_EQ(Send(*c, "USER alice\r\nPASS secret\r\n"), "+OK\r\n+OK Logged in.\r\n");
  EXPECT_EQ(Send(*c, "UIDL\r\n"), "-ERR Unknown command: UIDL\r\n");
  EXPECT_EQ(Send(*c, "TOP 1 0\r\n"), "-ERR Unknown command: TOP\r\n");
  EXPECT_EQ(Send(*c, "STAT\r\n").substr(0, 6), "+OK 1 ");
}

TEST_F(Pop3Test, UserCapabilityRemovalsApplyAtLogin) {
  SetSetting("alice", "pop3.capabilities", "-uidl");
  auto c = Connect();
  EXPECT_EQ(Send(*c, "CAPA\r\n"), kCapaAuth);
  EXPECT_EQ(Send(*c, "USER alice\r\nPASS secret\r\nUIDL\r\n"),
            "+OK\r\n+OK Logged in.\r\n-ERR Unknown command: UIDL\r\n");
}

}  // namespace
}  // namespace pillarbox::pop3::testing
