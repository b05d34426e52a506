// Password hashes (libxcrypt, Dovecot {SCHEME} prefixes), line-ending
// normalization and the ManualExecutor.
#include <argon2.h>
#include <crypt.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <thread>
#include <vector>

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
                        "$1$salt$qJH7.N4xYta3aEG/dfqo/", "plaintext", "{SSHA}abc"}) {
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

std::string Base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string Sha(const EVP_MD* md, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), out, &n, md, nullptr);
  return std::string(reinterpret_cast<char*>(out), n);
}

std::string Argon2id(const std::string& password) {
  const std::string salt = "pillarbox-salt!!";
  char encoded[256];
  EXPECT_EQ(argon2id_hash_encoded(1, 1024, 1, password.data(), password.size(), salt.data(),
                                  salt.size(), 32, encoded, sizeof encoded),
            ARGON2_OK);
  return encoded;
}

// Regression: hashes were checked by prefix only, so a truncated or garbled
// one was stored and its user could never log in.
TEST(PasswordTest, ValidateRefusesTruncatedAndGarbledHashes) {
  std::string bcrypt = Bcrypt2b("pw");
  auto yescrypt = HashPassword("pw");
  ASSERT_TRUE(yescrypt.ok());
  for (const std::string& h : std::vector<std::string>{
           std::string("$y$j9T$abc$def"), bcrypt.substr(0, 40), bcrypt.substr(0, 59),
           std::string(kSha512).substr(0, 60), std::string(kSha256) + "x",
           yescrypt->substr(0, yescrypt->size() - 1),
           std::string("$6$salt$") + std::string(86, '!'), std::string("$y$"),
           std::string("$2b$99$") + bcrypt.substr(7), std::string("{SSHA512}") + Base64("short"),
           std::string("{SHA256}") + Base64("x"), std::string("{SSHA}not base64!"),
           std::string("{ARGON2ID}$argon2id$v=19$m=1024,t=1,p=1$x"),
           std::string("{ARGON2ID}") + Argon2id("pw").substr(0, 50), std::string("{NOPE}abc"),
           std::string("{ARGON2I}") + Argon2id("pw"), std::string("{MD5-CRYPT}") + kSha512}) {
    EXPECT_FALSE(ValidatePasswordHash(h).ok()) << h;
    EXPECT_FALSE(VerifyPassword("pw", h)) << h;
  }
  EXPECT_EQ(ValidatePasswordHash("$y$j9T$abc$def").message(),
            "not a valid yescrypt hash (truncated or garbled)");
  for (const std::string& h :
       std::vector<std::string>{bcrypt, *yescrypt, std::string(kSha512), std::string(kSha256),
                                std::string(kBcrypt2a), std::string("{PLAIN}pw")}) {
    EXPECT_TRUE(ValidatePasswordHash(h).ok()) << h << ": " << ValidatePasswordHash(h).message();
    EXPECT_TRUE(IsSupportedHash(h)) << h;
  }
}

TEST(PasswordTest, DovecotDigestMd5CryptAndArgon2Schemes) {
  const std::string salt = "NaCl\x01\x02";
  struct Case {
    std::string hash, password;
  } cases[] = {
      {"{SSHA512}" + Base64(Sha(EVP_sha512(), "pw1" + salt) + salt), "pw1"},
      {"{SSHA256}" + Base64(Sha(EVP_sha256(), "pw2" + salt) + salt), "pw2"},
      {"{SSHA}" + Base64(Sha(EVP_sha1(), "pw3" + salt) + salt), "pw3"},
      {"{SHA512}" + Base64(Sha(EVP_sha512(), "pw4")), "pw4"},
      {"{SHA256}" + Base64(Sha(EVP_sha256(), "pw5")), "pw5"},
      {"{SHA}" + Base64(Sha(EVP_sha1(), "pw6")), "pw6"},
      {"{SHA1}" + Base64(Sha(EVP_sha1(), "pw6")), "pw6"},
      // openssl passwd -1 -salt saltsalt secret
      {"{MD5-CRYPT}$1$saltsalt$9xy1btjgzLYfb7hivXtC//", "secret"},
      {"$1$saltsalt$9xy1btjgzLYfb7hivXtC//", "secret"},
      {"{ARGON2ID}" + Argon2id("pw7"), "pw7"},
      {Argon2id("pw8"), "pw8"},
  };
  for (const auto& c : cases) {
    EXPECT_TRUE(ValidatePasswordHash(c.hash).ok())
        << c.hash << ": " << ValidatePasswordHash(c.hash).message();
    EXPECT_TRUE(IsSupportedHash(c.hash)) << c.hash;
    EXPECT_TRUE(VerifyPassword(c.password, c.hash)) << c.hash;
    EXPECT_FALSE(VerifyPassword(c.password + "x", c.hash)) << c.hash;
    EXPECT_FALSE(VerifyPassword("", c.hash)) << c.hash;
  }
}

// Regression: names with spaces, '/', ',' or ':' were accepted; they break
// the container's user list and cannot be mail addresses.
TEST(UserNameTest, LettersDigitsDotsAndOneDomain) {
  for (const char* ok : {"alice", "Alice.Smith", "bob_2", "carol-x", "d", "_svc",
                         "erin@example.org", "frank@mail.example-1.org"}) {
    EXPECT_TRUE(ValidateUserName(ok).ok()) << ok << ": " << ValidateUserName(ok).message();
  }
  for (std::string bad : std::vector<std::string>{"", "a b", "a/b", "a,b", "a:b", "a+b", ".a", "a.",
                                                  "-a", "a..b", "a@", "@b", "a@b@c", "a@-b",
                                                  "a@b..c", "é", "a\tb", std::string(65, 'a')}) {
    EXPECT_FALSE(ValidateUserName(bad).ok()) << bad;
  }
  EXPECT_TRUE(ValidateUserName(std::string(64, 'a')).ok());
  EXPECT_EQ(ValidateUserName("a+b").message(),
            "invalid user name \"a+b\": '+' is the subaddress separator (alice+tag@ reaches "
            "alice)");
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
