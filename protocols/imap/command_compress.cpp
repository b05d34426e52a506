// COMPRESS (RFC 4978): DEFLATE only. The tagged OK goes out uncompressed;
// from the byte after it both directions are raw DEFLATE, which the
// connection does (SessionOutput::StartCompression). Allowed once logged
// in; a second COMPRESS is refused with [COMPRESSIONACTIVE].
#include "common/strings.h"
#include "protocols/imap/commands.h"

namespace pillarbox::imap {

void CmdCompress(ImapSession& s, Command& cmd) {
  if (cmd.args.size() != 1 || !cmd.args[0].IsAtom()) {
    return s.FinishBad(cmd, "Expected a compression algorithm");
  }
  if (s.info().compressed) {
    return s.Finish(cmd, "NO [COMPRESSIONACTIVE] DEFLATE active via COMPRESS.");
  }
  if (!EqualsIgnoreAsciiCase(cmd.args[0].text, "DEFLATE")) {
    return s.Finish(cmd, "NO Unknown compression algorithm.");
  }
  s.FinishAndCompress(cmd);
}

}  // namespace pillarbox::imap
