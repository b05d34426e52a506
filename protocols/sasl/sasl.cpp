#include "protocols/sasl/sasl.h"

#include <algorithm>
#include <cctype>

#include "common/base64.h"

namespace pillarbox::sasl {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// LOGIN's prompts are fixed by usage: "Username:" and "Password:".
constexpr std::string_view kLoginUserPrompt = "VXNlcm5hbWU6";
constexpr std::string_view kLoginPasswordPrompt = "UGFzc3dvcmQ6";

}  // namespace

std::optional<Mechanism> ParseMechanism(std::string_view name) {
  if (EqualsIgnoreCase(name, "PLAIN")) return Mechanism::kPlain;
  if (EqualsIgnoreCase(name, "LOGIN")) return Mechanism::kLogin;
  return std::nullopt;
}

std::string_view MechanismName(Mechanism mechanism) {
  switch (mechanism) {
    case Mechanism::kPlain:
      return "PLAIN";
    case Mechanism::kLogin:
      return "LOGIN";
  }
  return "PLAIN";
}

Result<Credentials> ParsePlainMessage(std::string_view message) {
  auto first = message.find('\0');
  if (first == std::string_view::npos) {
    return Status::InvalidArgument("PLAIN: missing NUL separator");
  }
  auto second = message.find('\0', first + 1);
  if (second == std::string_view::npos) {
    return Status::InvalidArgument("PLAIN: missing second NUL separator");
  }
  Credentials c;
  c.authzid = std::string(message.substr(0, first));
  c.authcid = std::string(message.substr(first + 1, second - first - 1));
  c.password = std::string(message.substr(second + 1));
  if (c.password.find('\0') != std::string::npos) {
    return Status::InvalidArgument("PLAIN: too many NUL separators");
  }
  if (c.authcid.empty()) return Status::InvalidArgument("PLAIN: empty authentication identity");
  if (c.password.empty()) return Status::InvalidArgument("PLAIN: empty password");
  if (c.authzid.size() > kMaxFieldOctets || c.authcid.size() > kMaxFieldOctets ||
      c.password.size() > kMaxFieldOctets) {
    return Status::InvalidArgument("PLAIN: field longer than 255 octets");
  }
  return c;
}

bool AuthorizationAllowed(const Credentials& credentials) {
  return credentials.authzid.empty() || EqualsIgnoreCase(credentials.authzid, credentials.authcid);
}

SaslExchange::Step SaslExchange::Fail(std::string error) {
  finished_ = true;
  Step s;
  s.kind = Step::Kind::kFailed;
  s.error = std::move(error);
  return s;
}

SaslExchange::Step SaslExchange::Accept(std::string_view decoded) {
  Step s;
  if (mechanism_ == Mechanism::kPlain) {
    auto parsed = ParsePlainMessage(decoded);
    if (!parsed.ok()) return Fail("Invalid PLAIN message.");
    finished_ = true;
    s.kind = Step::Kind::kDone;
    s.credentials = std::move(*parsed);
    return s;
  }
  // LOGIN: user name, then password; neither may hold a NUL.
  if (decoded.find('\0') != std::string_view::npos) return Fail("Invalid LOGIN response.");
  if (decoded.size() > kMaxFieldOctets) return Fail("LOGIN response too long.");
  if (stage_ == 0) {
    if (decoded.empty()) return Fail("Empty user name.");
    login_user_ = std::string(decoded);
    stage_ = 1;
    s.kind = Step::Kind::kChallenge;
    s.challenge = std::string(kLoginPasswordPrompt);
    return s;
  }
  if (decoded.empty()) return Fail("Empty password.");
  finished_ = true;
  s.kind = Step::Kind::kDone;
  s.credentials.authcid = std::move(login_user_);
  s.credentials.password = std::string(decoded);
  return s;
}

SaslExchange::Step SaslExchange::Start(std::optional<std::string_view> initial_response) {
  if (!initial_response) {
    Step s;
    s.kind = Step::Kind::kChallenge;
    // PLAIN starts with an empty challenge; LOGIN asks for the user name.
    if (mechanism_ == Mechanism::kLogin) s.challenge = std::string(kLoginUserPrompt);
    return s;
  }
  if (*initial_response == "=") return Accept("");
  auto decoded = Base64Decode(*initial_response);
  if (!decoded || initial_response->empty())
    return Fail("Invalid base64 data in initial response.");
  return Accept(*decoded);
}

SaslExchange::Step SaslExchange::Continue(std::string_view line) {
  if (finished_) return Fail("Authentication exchange already finished.");
  if (IsCancel(line)) {
    finished_ = true;
    Step s;
    s.kind = Step::Kind::kCancelled;
    return s;
  }
  auto decoded = Base64Decode(line);
  if (!decoded) return Fail("Invalid base64 data in response.");
  return Accept(*decoded);
}

}  // namespace pillarbox::sasl
