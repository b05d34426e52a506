#include "server/server.h"

#include "common/log.h"
#include "server/server_loop.h"

// The protocol sessions. Their headers declare these factories; the
// declarations below match them so that this file also compiles while a
// protocol is still being written.
#if __has_include("protocols/imap/imap_session.h")
#include "protocols/imap/imap_session.h"
#endif
#if __has_include("protocols/pop3/pop3_session.h")
#include "protocols/pop3/pop3_session.h"
#endif
#if __has_include("protocols/smtp/smtp_session.h")
#include "protocols/smtp/smtp_session.h"
#endif

namespace pillarbox {
namespace imap {
std::unique_ptr<protocols::Session> MakeSession(protocols::SessionContext& ctx,
                                                protocols::ConnectionInfo& info,
                                                protocols::SessionOutput& out);
}  // namespace imap
namespace pop3 {
std::unique_ptr<protocols::Session> MakeSession(protocols::SessionContext& ctx,
                                                protocols::ConnectionInfo& info,
                                                protocols::SessionOutput& out);
}  // namespace pop3
namespace smtp {
std::unique_ptr<protocols::Session> MakeSession(protocols::SessionContext& ctx,
                                                protocols::ConnectionInfo& info,
                                                protocols::SessionOutput& out, bool lmtp);
}  // namespace smtp
}  // namespace pillarbox

namespace pillarbox::server {

Server::Factories ProtocolFactories() {
  Server::Factories f;
  f["imap"] = [](protocols::SessionContext& ctx, protocols::ConnectionInfo& info,
                 protocols::SessionOutput& out) { return imap::MakeSession(ctx, info, out); };
  f["pop3"] = [](protocols::SessionContext& ctx, protocols::ConnectionInfo& info,
                 protocols::SessionOutput& out) { return pop3::MakeSession(ctx, info, out); };
  f["lmtp"] = [](protocols::SessionContext& ctx, protocols::ConnectionInfo& info,
                 protocols::SessionOutput& out) { return smtp::MakeSession(ctx, info, out, true); };
  f["smtp"] = [](protocols::SessionContext& ctx, protocols::ConnectionInfo& info,
                 protocols::SessionOutput& out) {
    return smtp::MakeSession(ctx, info, out, false);
  };
  return f;
}

int RunServer(const config::Config& config) {
  Server server(config, ProtocolFactories());
  Status s = server.Start();
  if (!s.ok()) {
    LOG_ERROR("cannot start: {}", s.message());
    return 2;
  }
  return server.Run();
}

}  // namespace pillarbox::server
