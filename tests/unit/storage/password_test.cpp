// Password hashes (libxcrypt, Dovecot {SCHEME} prefixes), line-ending
// normalization and the ManualExecutor.
#include <crypt.h>
#include <gtest/gtest.h>

#include <thread>

#include "storage/store.h"

namespace pillarbox::storage {
namespace {

// openssl passwd -6 -salt pillarbox secret / openssl passwd -5 ...
constexpr char kSha512[] =
    "$6$pillarbox$b3T3bR92PFp/9/08UKN/55sYEzrDZfqYDXLS6/zTXNr/"
    "Wyl9h5TlnKLopHmHc2Mhh2ImjJndxDf8K5WMfHYVH.";
constexpr char kSha256[] = "$5$pillarbox$uAXamBuO9.WEoOudYkLcWENTcbn1Cw068DhEY/ywlS/";
// The classic crypt_blowfish test vector for the password "U*U".
constexpr char kBcrypt2a[] = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";

std::string Bcrypt2b(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  EXPECT_NE(crypt_gensalt_rn("$2b$", 4, nullptr, 0, salt, sizeof salt), nullptr);
  crypt_data data{};
  const char* out = crypt_rn(password.c_str(), salt, &data, sizeof data);
  EXPECT_NE(out, nullptr);
  return out ? out : "";
}

TEST(PasswordTest, HashPasswordMakesYescryptThatVerifies) {
  auto h = HashPassword("correct horse");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->rfind("$y$", 0), 0u) << *h;
  EXPECT_TRUE(VerifyPassword("correct horse", *h));
  EXPECT_FALSE(VerifyPassword("correct horse ", *h));
  EXPECT_FALSE(VerifyPassword("", *h));
  EXPECT_TRUE(IsSupportedHash(*h));
  // Salted: two hashes of one password differ.
  EXPECT_NE(*h, *HashPassword("correct horse"));
  EXPECT_EQ(HashPassword(std::string("a\0b", 3)).status().code(), Code::kInvalidArgument);
}

TEST(PasswordTest, AcceptsSha512Sha256AndBcrypt) {
  EXPECT_TRUE(VerifyPassword("secret", kSha512));
  EXPECT_FALSE(VerifyPassword("Secret", kSha512));
  EXPECT_TRUE(VerifyPassword("secret", kSha256));
  EXPECT_FALSE(VerifyPassword("secret2", kSha256));
  EXPECT_TRUE(VerifyPassword("U*U", kBcrypt2a));
  EXPECT_FALSE(VerifyPassword("U*V", kBcrypt2a));
  std::string b = Bcrypt2b("hunter2");
  EXPECT_EQ(b.rfind("$2b$04$", 0), 0u);
  EXPECT_TRUE(VerifyPassword("hunter2", b));
  EXPECT_FALSE(VerifyPassword("hunter3", b));
}

TEST(PasswordTest, DovecotSchemePrefixes) {
  EXPECT_TRUE(VerifyPassword("pw", "{PLAIN}pw"));
  EXPECT_TRUE(VerifyPassword("pw", "{plain}pw"));
  EXPECT_FALSE(VerifyPassword("pW", "{PLAIN}pw"));
  EXPECT_FALSE(VerifyPassword("pw2", "{PLAIN}pw"));
  EXPECT_TRUE(VerifyPassword("", "{PLAIN}"));
  EXPECT_TRUE(VerifyPassword("pw", "{CLEARTEXT}pw"));
  EXPECT_TRUE(VerifyPassword("secret", std::string("{SHA512-CRYPT}") + kSha512));
  EXPECT_TRUE(VerifyPassword("secret", std::string("{SHA256-CRYPT}") + kSha256));
  EXPECT_TRUE(VerifyPassword("secret", std::string("{CRYPT}") + kSha512));
  EXPECT_TRUE(VerifyPassword("U*U", std::string("{BLF-CRYPT}") + kBcrypt2a));
  EXPECT_TRUE(VerifyPassword("U*U", std::string("{BCRYPT}") + kBcrypt2a));
  auto y = HashPassword("yes");
  EXPECT_TRUE(VerifyPassword("yes", "{CRYPT}" + *y));
  // A scheme that does not match its hash is refused.
  EXPECT_FALSE(VerifyPassword("secret", std::string("{SHA256-CRYPT}") + kSha512));
  EXPECT_FALSE(IsSupportedHash(std::string("{BLF-CRYPT}") + kSha512));
}

TEST(PasswordTest, UnsupportedAndLockedHashesNeverVerify) {
  for (const char* h : {"", "!", "*", "!$6$x$y", "{MD5}abc", "{SHA512-CRYPT}", "{PLAIN",
                        "$1$salt$qJH7.N4xYta3aEG/dfqo/0", "plaintext", "{SSHA}abc"}) {
    EXPECT_FALSE(IsSupportedHash(h)) << h;
    EXPECT_FALSE(VerifyPassword("salt", h)) << h;
    EXPECT_FALSE(VerifyPassword("", h)) << h;
  }
  EXPECT_TRUE(IsSupportedHash("{PLAIN}x"));
  EXPECT_TRUE(IsSupportedHash(kSha512));
  EXPECT_TRUE(IsSupportedHash(kBcrypt2a));
  // NUL in a password never matches.
  EXPECT_FALSE(VerifyPassword(std::string("pw\0", 3), "{PLAIN}pw"));
}

TEST(NormalizeLineEndingsTest, MakesEveryLineEndCrlf) {
  EXPECT_EQ(NormalizeLineEndings(""), "");
  EXPECT_EQ(NormalizeLineEndings("a\r\nb\r\n"), "a\r\nb\r\n");
  EXPECT_EQ(NormalizeLineEndings("a\nb\n"), "a\r\nb\r\n");
  EXPECT_EQ(NormalizeLineEndings("a\rb\r"), "a\r\nb\r\n");
  EXPECT_EQ(NormalizeLineEndings("a\r\n\nb"), "a\r\n\r\nb");
  EXPECT_EQ(NormalizeLineEndings("\n\r\r\n"), "\r\n\r\n\r\n");
  EXPECT_EQ(NormalizeLineEndings("no newline"), "no newline");
  EXPECT_EQ(NormalizeLineEndings(std::string("x\0\ny", 4)), std::string("x\0\r\ny", 5));
}

TEST(ManualExecutorTest, RunsPostedClosuresOnTheCallingThread) {
  ManualExecutor ex;
  auto post = ex.Poster();
  int ran = 0;
  std::thread::id where;
  std::thread t([&] {
    post([&] {
      ++ran;
      where = std::this_thread::get_id();
    });
  });
  t.join();
  EXPECT_EQ(ran, 0);
  EXPECT_EQ(ex.RunPending(), 1u);
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(where, std::this_thread::get_id());
  EXPECT_EQ(ex.RunPending(), 0u);
  EXPECT_EQ(ex.WaitAndRun(1), 0u);
  std::thread t2([&] { post([&] { ++ran; }); });
  EXPECT_EQ(ex.WaitAndRun(5000), 1u);
  t2.join();
  EXPECT_EQ(ran, 2);
}

TEST(BlobIdTest, HexAndJournalKindNames) {
  BlobId id;
  id.bytes[0] = 0xab;
  id.bytes[31] = 0x01;
  EXPECT_EQ(id.Hex(), "ab" + std::string(60, '0') + "01");
  EXPECT_EQ(JournalKindName(JournalKind::kPop3Deleted), "pop3-deleted");
  EXPECT_EQ(JournalKindName(JournalKind::kImapRead), "imap-read");
  EXPECT_EQ(JournalKindName(JournalKind::kExpired), "expired");
}

}  // namespace
}  // namespace pillarbox::storage
