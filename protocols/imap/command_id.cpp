// ID (RFC 2971): logs what the client says about itself and answers with
// the server's name and version.
#include "common/log.h"
#include "common/strings.h"
#include "protocols/imap/commands.h"
#include "protocols/imap/imap_format.h"

namespace pillarbox::imap {
namespace {

// RFC 2971 3.3: at most 30 pairs, field names up to 30 octets, values up to
// 1024 octets.
constexpr std::size_t kMaxIdPairs = 30;
constexpr std::size_t kMaxIdFieldBytes = 30;
constexpr std::size_t kMaxIdValueBytes = 1024;

}  // namespace

void CmdId(ImapSession& s, Command& cmd) {
  if (cmd.args.size() != 1) return s.FinishBad(cmd, "Expected NIL or a parameter list");
  const Value& arg = cmd.args[0];
  std::string logged;
  std::string name, version;
  if (arg.IsList()) {
    if (arg.items.size() % 2 != 0 || arg.items.size() > 2 * kMaxIdPairs) {
      return s.FinishBad(cmd, "Invalid ID parameter list");
    }
    for (std::size_t i = 0; i < arg.items.size(); i += 2) {
      const Value& k = arg.items[i];
      const Value& v = arg.items[i + 1];
      if (!k.IsString() || k.text.size() > kMaxIdFieldBytes || !(v.IsString() || v.IsNil()) ||
          v.text.size() > kMaxIdValueBytes) {
        return s.FinishBad(cmd, "Invalid ID parameter list");
      }
      if (!logged.empty()) logged += ", ";
      logged += LogSafe(k.text) + "=" + (v.IsNil() ? std::string("NIL") : LogSafe(v.text));
      if (v.IsString() && EqualsIgnoreAsciiCase(k.text, "name")) name = LogSafe(v.text, 64);
      if (v.IsString() && EqualsIgnoreAsciiCase(k.text, "version")) version = LogSafe(v.text, 64);
    }
  } else if (!arg.IsNil()) {
    return s.FinishBad(cmd, "Expected NIL or a parameter list");
  }
  if (!name.empty()) s.set_client_id(version.empty() ? name : name + " " + version);
  if (!logged.empty()) LOG_INFO("imap session {}: client ID: {}", s.id(), logged);
  s.Untagged("ID (\"name\" \"Pillarbox\" \"version\" " + QuoteString(PILLARBOX_VERSION) + ")");
  s.Finish(cmd, "OK ID completed.");
}

}  // namespace pillarbox::imap
