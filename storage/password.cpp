// Password hashing with libxcrypt; the stored forms that verify (crypt(3),
// Argon2, Dovecot {SCHEME} hashes) are in password_schemes.cpp.
#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <memory>

#include "storage/password_schemes.h"
#include "storage/store.h"

namespace pillarbox::storage {
namespace {

// Hashing cost for new yescrypt hashes: 0 lets libxcrypt pick its default.
constexpr unsigned long kYescryptCost = 0;

}  // namespace

Result<std::string> HashPassword(std::string_view password) {
  if (password.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("password contains NUL");
  }
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$y$", kYescryptCost, nullptr, 0, salt, sizeof salt) == nullptr) {
    return Status::Internal("crypt_gensalt_rn failed");
  }
  auto data = std::make_unique<crypt_data>();
  std::string pw(password);
  const char* out = crypt_rn(pw.c_str(), salt, data.get(), sizeof(crypt_data));
  if (out == nullptr || out[0] == '*') return Status::Internal("crypt_rn failed");
  return std::string(out);
}

bool VerifyPassword(std::string_view password, std::string_view stored_hash) {
  return hashes::Verify(password, stored_hash);
}

bool IsSupportedHash(std::string_view hash) { return hashes::CheckShape(hash).ok(); }

Status ValidatePasswordHash(std::string_view hash) { return hashes::Validate(hash); }

const std::string& DummyPasswordHash() {
  static const std::string hash = [] {
    unsigned char random[18];
    std::string password = "pillarbox-dummy-";
    if (RAND_bytes(random, sizeof random) == 1) {
      for (unsigned char c : random) password += static_cast<char>('a' + c % 26);
    }
    auto h = HashPassword(password);
    return h.ok() ? *h : std::string("{PLAIN}") + password;
  }();
  return hash;
}

}  // namespace pillarbox::storage
