// Password hashing and verification with libxcrypt, plus the {SCHEME}
// prefixes of Dovecot passwd-files.
#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <memory>
#include <optional>

#include "common/strings.h"
#include "storage/store.h"

namespace pillarbox::storage {
namespace {

// Hashing cost for new yescrypt hashes: 0 lets libxcrypt pick its default.
constexpr unsigned long kYescryptCost = 0;

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

bool IsBcrypt(std::string_view h) {
  return StartsWith(h, "$2b$") || StartsWith(h, "$2a$") || StartsWith(h, "$2y$");
}
bool IsSha512(std::string_view h) { return StartsWith(h, "$6$"); }
bool IsSha256(std::string_view h) { return StartsWith(h, "$5$"); }
bool IsYescrypt(std::string_view h) {
  return StartsWith(h, "$y$") || StartsWith(h, "$gy$") || StartsWith(h, "$7$");
}
bool IsAcceptedCrypt(std::string_view h) {
  return IsYescrypt(h) || IsBcrypt(h) || IsSha512(h) || IsSha256(h);
}

// What the stored hash asks for: a crypt(3) string or a plain password.
struct ParsedHash {
  bool plain = false;
  std::string_view value;
};

std::optional<ParsedHash> Parse(std::string_view stored) {
  if (stored.empty()) return std::nullopt;
  if (stored.front() != '{') {
    if (!IsAcceptedCrypt(stored)) return std::nullopt;
    return ParsedHash{false, stored};
  }
  auto close = stored.find('}');
  if (close == std::string_view::npos) return std::nullopt;
  std::string scheme = AsciiFold(stored.substr(1, close - 1));
  std::string_view rest = stored.substr(close + 1);
  if (scheme == "plain" || scheme == "cleartext") return ParsedHash{true, rest};
  if (rest.empty()) return std::nullopt;
  if (scheme == "crypt") {
    if (!IsAcceptedCrypt(rest)) return std::nullopt;
  } else if (scheme == "sha512-crypt") {
    if (!IsSha512(rest)) return std::nullopt;
  } else if (scheme == "sha256-crypt") {
    if (!IsSha256(rest)) return std::nullopt;
  } else if (scheme == "blf-crypt" || scheme == "bcrypt") {
    if (!IsBcrypt(rest)) return std::nullopt;
  } else {
    return std::nullopt;
  }
  return ParsedHash{false, rest};
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

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
  auto parsed = Parse(stored_hash);
  if (!parsed) return false;
  if (password.find('\0') != std::string_view::npos) return false;
  if (parsed->plain) return ConstantTimeEquals(password, parsed->value);
  auto data = std::make_unique<crypt_data>();
  std::string pw(password);
  std::string setting(parsed->value);
  const char* out = crypt_rn(pw.c_str(), setting.c_str(), data.get(), sizeof(crypt_data));
  if (out == nullptr || out[0] == '*') return false;
  return ConstantTimeEquals(out, parsed->value);
}

bool IsSupportedHash(std::string_view hash) { return Parse(hash).has_value(); }

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
