// ENABLE (RFC 5161). The names a client may enable are listed in
// kEnableable with the capability bit that must be offered for it; an
// enabled name is recorded in ImapSession::enabled() (upper case) and
// reported once in "* ENABLED".
#include <array>

#include "protocols/imap/commands.h"

namespace pillarbox::imap {
namespace {

struct Enableable {
  std::string_view name;     // upper case
  std::uint64_t capability;  // config::kImap* bit
};

// Extensions that change a session's behaviour once enabled.
constexpr std::array kEnableable = {
    // RFC 7162; QRESYNC implies CONDSTORE.
    Enableable{"CONDSTORE", config::kImapCondstore},
    Enableable{"QRESYNC", config::kImapQresync},
    Enableable{"IMAP4REV2", config::kImapRev2},
    Enableable{"UTF8=ACCEPT", config::kImapUtf8Accept},
};

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

}  // namespace

void CmdEnable(ImapSession& s, Command& cmd) {
  if (cmd.args.empty()) return s.FinishBad(cmd, "Missing capability names");
  std::string enabled;
  for (const Value& v : cmd.args) {
    if (!v.IsAtom()) return s.FinishBad(cmd, "Invalid capability name");
  }
  for (const Value& v : cmd.args) {
    const std::string name = Upper(v.text);
    for (const Enableable& e : kEnableable) {
      if (e.name != name || (s.disabled_extensions() & e.capability) != 0) continue;
      // Unknown capabilities are ignored (RFC 5161 3.1); a repeated one is
      // reported once.
      if (s.enabled().insert(name).second) enabled += " " + name;
    }
  }
  s.Untagged("ENABLED" + enabled);
  if (s.enabled().count("CONDSTORE") || s.enabled().count("QRESYNC")) s.EnableCondstore();
  s.Finish(cmd, "OK Enabled.");
}

}  // namespace pillarbox::imap
