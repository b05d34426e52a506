// Server side of the SASL mechanisms Pillarbox offers: PLAIN (RFC 4616) and
// LOGIN (draft-murchison-sasl-login), shared by POP3 (RFC 5034), IMAP
// (RFC 4959 / 3501) and SMTP (RFC 4954).
//
// Pure: the protocol session frames the exchange ("+ " challenges in POP3
// and IMAP, "334 " in SMTP) and hands each client line here. The exchange
// never verifies a password; it yields credentials for Store::Authenticate.
//
// Thread-safety: values; one SaslExchange per authentication attempt.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace pillarbox::sasl {

// RFC 4616 section 2: each of authzid, authcid and passwd is at most 255
// octets of UTF-8 (a server SHOULD accept at least that much; we accept
// exactly that and refuse more, which bounds what reaches the hasher).
inline constexpr std::size_t kMaxFieldOctets = 255;

enum class Mechanism { kPlain, kLogin };

// Case-insensitive ("plain", "LOGIN"); nullopt for anything else.
std::optional<Mechanism> ParseMechanism(std::string_view name);
std::string_view MechanismName(Mechanism mechanism);

struct Credentials {
  std::string authzid;  // empty unless the client asked to act as someone else
  std::string authcid;  // the user name to authenticate
  std::string password;
};

// Decodes the PLAIN message (already base64-decoded): [authzid] NUL authcid
// NUL passwd. Fails with kInvalidArgument when the shape is wrong, a field
// is empty (authcid, passwd) or too long, or a field holds a NUL.
Result<Credentials> ParsePlainMessage(std::string_view message);

// A client may only act as itself: authzid must be empty or equal authcid
// (compared case-insensitively, like user names). Pillarbox has no proxy
// authorization (no master users).
bool AuthorizationAllowed(const Credentials& credentials);

// True for the client's cancel line ("*", RFC 4954/5034/3501).
inline bool IsCancel(std::string_view line) { return line == "*"; }

// One authentication exchange.
//
//   SaslExchange x(Mechanism::kPlain);
//   Step s = x.Start(initial_response);   // then, while s.kind == kChallenge:
//   send s.challenge; s = x.Continue(client_line);
class SaslExchange {
 public:
  struct Step {
    enum class Kind {
      kChallenge,  // send `challenge` (base64, maybe empty) and wait for a line
      kDone,       // `credentials` are ready to verify
      kCancelled,  // the client sent "*"
      kFailed,     // malformed response; `error` says why (safe to show)
    };
    Kind kind = Kind::kFailed;
    std::string challenge;
    Credentials credentials;
    std::string error;
  };

  explicit SaslExchange(Mechanism mechanism) : mechanism_(mechanism) {}

  // `initial_response` is the optional argument after the mechanism name,
  // still base64; "=" stands for an empty response (RFC 4954 4, 5034 4).
  Step Start(std::optional<std::string_view> initial_response);
  // One client line (without CRLF).
  Step Continue(std::string_view line);

  Mechanism mechanism() const { return mechanism_; }

 private:
  Step Fail(std::string error);
  Step Accept(std::string_view decoded);

  Mechanism mechanism_;
  int stage_ = 0;  // LOGIN: 0 expects the user name, 1 the password
  std::string login_user_;
  bool finished_ = false;
};

}  // namespace pillarbox::sasl
