#include "storage/password_schemes.h"

#include <argon2.h>
#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>
#include <memory>
#include <string>

#include "common/base64.h"
#include "common/strings.h"

namespace pillarbox::storage::hashes {
namespace {

// Argon2 costs above this much memory (KiB) are refused: verifying one
// login must not take a gigabyte.
constexpr unsigned long kMaxArgon2MemoryKib = 1024 * 1024;

// What a probe hashes in Validate; its result is thrown away.
constexpr char kProbePassword[] = "pillarbox probe";

enum class Kind { kCrypt, kArgon2, kSaltedDigest, kDigest, kPlain };

struct CryptFamily {
  const char* prefix;
  const char* name;
  std::size_t total;  // whole string length when fixed (bcrypt), else 0
  std::size_t tail;   // length of the part after the last '$' (0: any)
};

// The crypt(3) families accepted, by prefix. Tail lengths are those of the
// hash part libxcrypt writes.
constexpr CryptFamily kFamilies[] = {
    {"$y$", "yescrypt", 0, 43},      {"$gy$", "gost-yescrypt", 0, 43}, {"$7$", "scrypt", 0, 43},
    {"$2a$", "bcrypt", 60, 0},       {"$2b$", "bcrypt", 60, 0},        {"$2y$", "bcrypt", 60, 0},
    {"$6$", "SHA-512-crypt", 0, 86}, {"$5$", "SHA-256-crypt", 0, 43},  {"$1$", "MD5-crypt", 0, 22},
};

const CryptFamily* FamilyOf(std::string_view h) {
  for (const auto& f : kFamilies) {
    if (h.starts_with(f.prefix)) return &f;
  }
  return nullptr;
}

struct Parsed {
  Kind kind = Kind::kPlain;
  std::string_view value;               // what follows the {SCHEME}
  const CryptFamily* family = nullptr;  // kCrypt
  argon2_type argon_type = Argon2_id;   // kArgon2
  const EVP_MD* md = nullptr;           // digests
  std::string scheme;                   // for messages
};

bool IsCryptBase64(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '/';
}

bool Printable(std::string_view s) {
  for (unsigned char c : s) {
    if (c <= ' ' || c >= 0x7f) return false;
  }
  return true;
}

Status Bad(const std::string& what) { return Status::InvalidArgument(what); }

Status CheckCryptShape(std::string_view v, const CryptFamily& f) {
  std::string why = "not a valid " + std::string(f.name) + " hash (truncated or garbled)";
  if (!Printable(v)) return Bad(why);
  std::size_t last = v.rfind('$');
  std::string_view tail = v.substr(last + 1);
  for (char c : tail) {
    if (!IsCryptBase64(c)) return Bad(why);
  }
  if (f.total && v.size() != f.total) return Bad(why);
  if (f.tail && tail.size() != f.tail) return Bad(why);
  if (last + 1 <= std::strlen(f.prefix)) return Bad(why);  // "$6$" alone
  return Status::Ok();
}

Status CheckArgon2Shape(std::string_view v) {
  if (!Printable(v)) return Bad("not a valid Argon2 hash");
  std::size_t m = v.find("m=");
  if (m != std::string_view::npos) {
    unsigned long kib = 0;
    for (std::size_t i = m + 2; i < v.size() && v[i] >= '0' && v[i] <= '9'; ++i) {
      kib = kib * 10 + static_cast<unsigned long>(v[i] - '0');
      if (kib > kMaxArgon2MemoryKib) {
        return Bad("Argon2 memory cost above " + std::to_string(kMaxArgon2MemoryKib) + " KiB");
      }
    }
  }
  return Status::Ok();
}

// Standard base64 (with padding), as Dovecot writes digests.
bool DecodeBase64(std::string_view in, std::string& out) {
  if (in.empty()) return false;
  auto decoded = Base64Decode(in);
  if (!decoded) return false;
  out = std::move(*decoded);
  return true;
}

Result<Parsed> Parse(std::string_view stored) {
  Parsed p;
  if (stored.empty()) return Bad("empty hash");
  if (stored.front() != '{') {
    if (stored.starts_with("$argon2id$") || stored.starts_with("$argon2i$")) {
      p.kind = Kind::kArgon2;
      p.value = stored;
      p.argon_type = stored.starts_with("$argon2id$") ? Argon2_id : Argon2_i;
      p.scheme = "Argon2";
      return p;
    }
    p.family = FamilyOf(stored);
    if (!p.family) {
      return Bad(
          "unsupported password hash (expected a crypt(3) string such as $y$..., $2b$..., "
          "$6$..., or a {SCHEME} hash)");
    }
    p.kind = Kind::kCrypt;
    p.value = stored;
    p.scheme = p.family->name;
    return p;
  }
  std::size_t close = stored.find('}');
  if (close == std::string_view::npos) return Bad("unterminated {SCHEME} prefix");
  std::string scheme = AsciiFold(stored.substr(1, close - 1));
  p.value = stored.substr(close + 1);
  p.scheme = "{" + std::string(stored.substr(1, close - 1)) + "}";
  if (scheme == "plain" || scheme == "cleartext") {
    p.kind = Kind::kPlain;
    return p;
  }
  if (p.value.empty()) return Bad(p.scheme + " with nothing after it");
  struct CryptScheme {
    const char* name;
    const char* prefixes;  // "" = any family
  };
  static const CryptScheme kCryptSchemes[] = {
      {"crypt", ""},    {"sha512-crypt", "$6$"}, {"sha256-crypt", "$5$"}, {"blf-crypt", "$2"},
      {"bcrypt", "$2"}, {"md5-crypt", "$1$"},    {"md5", "$1$"},
  };
  for (const auto& cs : kCryptSchemes) {
    if (scheme != cs.name) continue;
    p.family = FamilyOf(p.value);
    if (!p.family || !p.value.starts_with(cs.prefixes)) {
      return Bad(p.scheme + " expects a " +
                 (*cs.prefixes ? std::string(cs.prefixes) + "... crypt(3) string"
                               : std::string("crypt(3) string")));
    }
    p.kind = Kind::kCrypt;
    return p;
  }
  if (scheme == "argon2id" || scheme == "argon2i") {
    const char* want = scheme == "argon2id" ? "$argon2id$" : "$argon2i$";
    if (!p.value.starts_with(want)) return Bad(p.scheme + " expects a " + want + "... string");
    p.kind = Kind::kArgon2;
    p.argon_type = scheme == "argon2id" ? Argon2_id : Argon2_i;
    return p;
  }
  struct DigestScheme {
    const char* name;
    bool salted;
    const EVP_MD* (*md)();
  };
  static const DigestScheme kDigests[] = {
      {"ssha512", true, EVP_sha512}, {"ssha256", true, EVP_sha256}, {"ssha", true, EVP_sha1},
      {"sha512", false, EVP_sha512}, {"sha256", false, EVP_sha256}, {"sha", false, EVP_sha1},
      {"sha1", false, EVP_sha1},
  };
  for (const auto& d : kDigests) {
    if (scheme != d.name) continue;
    p.kind = d.salted ? Kind::kSaltedDigest : Kind::kDigest;
    p.md = d.md();
    return p;
  }
  return Bad("unsupported password scheme " + p.scheme +
             " (supported: CRYPT, SHA512-CRYPT, SHA256-CRYPT, BLF-CRYPT, MD5-CRYPT, ARGON2ID, "
             "ARGON2I, SSHA512, SSHA256, SSHA, SHA512, SHA256, SHA, PLAIN)");
}

Status CheckParsedShape(const Parsed& p) {
  switch (p.kind) {
    case Kind::kPlain:
      return Status::Ok();
    case Kind::kCrypt:
      return CheckCryptShape(p.value, *p.family);
    case Kind::kArgon2:
      return CheckArgon2Shape(p.value);
    case Kind::kSaltedDigest:
    case Kind::kDigest: {
      std::string raw;
      std::size_t len = static_cast<std::size_t>(EVP_MD_get_size(p.md));
      bool ok = DecodeBase64(p.value, raw) &&
                (p.kind == Kind::kDigest ? raw.size() == len : raw.size() > len);
      if (!ok) {
        return Bad(p.scheme + " expects base64 of a " + std::to_string(len) + "-byte digest" +
                   (p.kind == Kind::kSaltedDigest ? " followed by the salt" : ""));
      }
      return Status::Ok();
    }
  }
  return Status::Internal("unknown hash kind");
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// crypt(3) of `password` with `setting`; "" on failure ("*0", "*1", NULL).
std::string Crypt(std::string_view password, std::string_view setting) {
  auto data = std::make_unique<crypt_data>();
  std::string pw(password);
  std::string set(setting);
  const char* out = crypt_rn(pw.c_str(), set.c_str(), data.get(), sizeof(crypt_data));
  if (out == nullptr || out[0] == '*') return "";
  return out;
}

std::string Digest(const EVP_MD* md, std::string_view a, std::string_view b) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), a.data(), a.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), b.data(), b.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), out, &n) != 1) {
    return "";
  }
  return std::string(reinterpret_cast<char*>(out), n);
}

}  // namespace

Status CheckShape(std::string_view stored) {
  auto p = Parse(stored);
  if (!p.ok()) return p.status();
  return CheckParsedShape(*p);
}

Status Validate(std::string_view stored) {
  auto p = Parse(stored);
  if (!p.ok()) return p.status();
  PB_RETURN_IF_ERROR(CheckParsedShape(*p));
  if (p->kind == Kind::kCrypt) {
    // The probe's result repeats the setting (everything up to the last
    // '$') and has the stored hash's length when the stored one is whole.
    std::string out = Crypt(kProbePassword, p->value);
    std::size_t setting = p->value.rfind('$');
    if (out.size() != p->value.size() ||
        out.compare(0, setting, p->value.substr(0, setting)) != 0) {
      return Bad("not a valid " + std::string(p->family->name) +
                 " hash (crypt(3) does not accept it: truncated or garbled)");
    }
  } else if (p->kind == Kind::kArgon2) {
    std::string encoded(p->value);
    int rc =
        argon2_verify(encoded.c_str(), kProbePassword, sizeof kProbePassword - 1, p->argon_type);
    if (rc != ARGON2_OK && rc != ARGON2_VERIFY_MISMATCH) {
      return Bad(std::string("not a valid Argon2 hash: ") + argon2_error_message(rc));
    }
  }
  return Status::Ok();
}

bool Verify(std::string_view password, std::string_view stored) {
  auto p = Parse(stored);
  if (!p.ok() || !CheckParsedShape(*p).ok()) return false;
  if (password.find('\0') != std::string_view::npos) return false;
  switch (p->kind) {
    case Kind::kPlain:
      return ConstantTimeEquals(password, p->value);
    case Kind::kCrypt: {
      std::string out = Crypt(password, p->value);
      return !out.empty() && ConstantTimeEquals(out, p->value);
    }
    case Kind::kArgon2: {
      std::string encoded(p->value);
      return argon2_verify(encoded.c_str(), password.data(), password.size(), p->argon_type) ==
             ARGON2_OK;
    }
    case Kind::kSaltedDigest:
    case Kind::kDigest: {
      std::string raw;
      if (!DecodeBase64(p->value, raw)) return false;
      std::size_t len = static_cast<std::size_t>(EVP_MD_get_size(p->md));
      std::string_view digest = std::string_view(raw).substr(0, len);
      std::string_view salt = std::string_view(raw).substr(len);
      std::string got = Digest(p->md, password, salt);
      return !got.empty() && ConstantTimeEquals(got, digest);
    }
  }
  return false;
}

}  // namespace pillarbox::storage::hashes
