// AUTHENTICATE (RFC 3501 6.2.2) with SASL-IR (RFC 4959): PLAIN and LOGIN
// through protocols/sasl. Challenges go out as "+ <base64>"; each client
// line is one response; "*" cancels.
#include "protocols/imap/commands.h"

namespace pillarbox::imap {
namespace {

void Step(ImapSession& s, const Command& h, std::shared_ptr<sasl::SaslExchange> x,
          const sasl::SaslExchange::Step& step) {
  using Kind = sasl::SaslExchange::Step::Kind;
  switch (step.kind) {
    case Kind::kChallenge:
      s.Write("+ " + step.challenge + "\r\n");
      s.SetLineHandler([h, x](ImapSession& s2, std::string line, bool too_long) {
        s2.SetLineHandler(nullptr);
        if (too_long) return s2.Finish(h, "BAD Authentication response too long.");
        Step(s2, h, x, x->Continue(line));
      });
      return;
    case Kind::kCancelled:
      return s.Finish(h, "BAD Authentication aborted by client.");
    case Kind::kFailed:
      return s.Finish(h, "BAD " + step.error);
    case Kind::kDone:
      if (!sasl::AuthorizationAllowed(step.credentials)) {
        return s.OnLoginFailed(h, step.credentials.authcid,
                               "NO [AUTHORIZATIONFAILED] Authorization failed.",
                               "authorization identity refused");
      }
      return s.CheckPassword(h, step.credentials.authcid, step.credentials.password);
  }
}

}  // namespace

void CmdAuthenticate(ImapSession& s, Command& cmd) {
  if (cmd.args.empty() || cmd.args.size() > 2 || !cmd.args[0].IsAtom() ||
      (cmd.args.size() == 2 && !cmd.args[1].IsAString())) {
    return s.FinishBad(cmd, "Expected a mechanism name and optional initial response");
  }
  auto mech = sasl::ParseMechanism(cmd.args[0].text);
  if (!mech) return s.Finish(cmd, "NO Unsupported authentication mechanism.");
  if (!s.PlaintextAllowed()) {
    return s.Finish(cmd,
                    "NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure "
                    "(SSL/TLS) connections.");
  }
  auto x = std::make_shared<sasl::SaslExchange>(*mech);
  std::optional<std::string_view> initial;
  if (cmd.args.size() == 2) {
    if (s.disabled_extensions() & config::kImapSaslIr) {
      return s.FinishBad(cmd, "Initial response not supported (no SASL-IR)");
    }
    initial = cmd.args[1].text;
  }
  Command h = cmd.Header();
  Step(s, h, x, x->Start(initial));
}

}  // namespace pillarbox::imap
