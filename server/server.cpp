#include "server/server.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "common/log.h"
#include "server/dev_mode.h"
#include "server/http_api.h"
#include "server/listen_address.h"
#include "server/paths.h"
#include "server/server_loop.h"
#include "server/store_options.h"
#include "server/tls/tls_context.h"
#include "server/transcript_book.h"
#include "services/settings.h"

// The protocol sessions. Their headers declare these factories; the
// declarations below match them so that this file also compiles while a
// protocol is still being written.
#if __has_include("protocols/imap/imap_session.h")
#include "protocols/imap/imap_session.h"
#endif
#if __has_include("protocols/pop3/pop3_session.h")
#include "protocols/pop3/pop3_session.h"
#endif
#include "protocols/faults.h"
#include "protocols/postfix/dovecot_auth.h"
#include "protocols/postfix/socketmap.h"
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
  f["postfix-auth"] = [](protocols::SessionContext& ctx, protocols::ConnectionInfo& info,
                         protocols::SessionOutput& out) {
    return postfix::MakeAuthSession(ctx, info, out);
  };
  f["socketmap"] = [](protocols::SessionContext& ctx, protocols::ConnectionInfo& info,
                      protocols::SessionOutput& out) {
    return postfix::MakeSocketmapSession(ctx, info, out);
  };
  return f;
}

Status CheckServeConfig(const config::Config& config) {
  auto specs = ListenersFromConfig(config);
  if (!specs.ok()) return specs.status();
  if (Status dev = CheckDevConfig(config, *specs); !dev.ok()) return dev;
  auto rules = services::RetentionRules(config);
  if (!rules.ok()) return rules.status();
  if (!config.faults.empty()) {
    auto faults = protocols::ParseFaultRules(config.faults);
    if (!faults.ok()) return Status::InvalidArgument("[[faults]]: " + faults.status().message());
  }
  // A configured certificate must load as serve would load it; a generated
  // one is made by serve on its first start.
  if (!config.tls.cert.empty() || !config.tls.key.empty()) {
    auto ctx = tls::MakeServerContext(config.tls.cert, config.tls.key, config.tls.min_version);
    if (!ctx.ok()) return ctx.status();
  }
  return Status::Ok();
}

Result<int> LockDataDir(const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec)
    return Status::IOError("cannot create the data directory " + data_dir + ": " + ec.message());
  std::string path = LockFile(data_dir);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    char buf[32] = {};
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    ::close(fd);
    std::string pid = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    if (err == EWOULDBLOCK) {
      return Status::InUse("another pillarbox serve" + (pid.empty() ? "" : " (pid " + pid + ")") +
                           " is using the data directory " + data_dir +
                           "; stop it first, or give this one another server.data_dir");
    }
    return Status::IOError("cannot lock " + path + ": " + std::strerror(err));
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    LOG_WARN("cannot write the pid into {}: {}", path, std::strerror(errno));
  }
  return fd;
}

Status WriteFileAtomically(const std::string& path, const std::string& contents) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("cannot create " + tmp + ": " + std::strerror(errno));
  bool ok = ::write(fd, contents.data(), contents.size()) == static_cast<ssize_t>(contents.size());
  int err = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    if (ok) err = errno;
    ::unlink(tmp.c_str());
    return Status::IOError("cannot write " + path + ": " + std::strerror(err));
  }
  return Status::Ok();
}

int RunServer(const config::Config& config, const ServeOptions& options) {
  const std::string data_dir = AbsoluteDataDir(config);
  for (const auto& w : config::UnknownEnvWarnings(config::EnvironmentNames())) {
    LOG_WARN("{}", w);
  }
  if (Status s = CheckServeConfig(config); !s.ok()) {
    LOG_ERROR("cannot start: {}", s.message());
    return kExitStartFailed;
  }
  // Held until the process exits (the kernel releases it): one server per
  // data directory, or two would hand out the same POP3 maildrop lock.
  auto lock = LockDataDir(data_dir);
  if (!lock.ok()) {
    LOG_ERROR("cannot start: {}", lock.status().message());
    return kExitStartFailed;
  }
  LOG_INFO("data directory {}", data_dir);
  WarnDevMode(config);
  // [[faults]]: in force from the first connection (the API may replace
  // them later). Checked by CheckServeConfig above.
  if (!config.faults.empty()) {
    auto faults = protocols::ParseFaultRules(config.faults);
    LOG_WARN("DEV MODE: {} fault rule(s) from [[faults]] are active", faults->size());
    protocols::FaultRegistry::Global().Replace(std::move(*faults));
  }
  // [dev] transcripts: every session's lines kept for the API.
  struct TranscriptsOff {
    ~TranscriptsOff() { TranscriptBook::Global().Disable(); }
  } transcripts_off;
  if (config.dev.transcripts || !config.dev.transcript_dir.empty()) {
    TranscriptBook::Options t;
    t.closed_kept = static_cast<std::size_t>(config.dev.transcript_sessions);
    if (!config.dev.transcript_dir.empty()) {
      std::filesystem::path dir(config.dev.transcript_dir);
      t.dir = (dir.is_relative() ? std::filesystem::path(data_dir) / dir : dir).string();
    }
    TranscriptBook::Global().Configure(std::move(t));
    LOG_INFO("recording protocol transcripts (GET /api/v1/sessions/ID/transcript){}",
             config.dev.transcript_dir.empty() ? "" : ", also in files");
  }
  // The HTTP API's token, generated on the first start (as the certificate).
  std::string http_token;
  if (config.http.auth == "token" &&
      (!config.http.listen.empty() || !config.http.tls_listen.empty())) {
    auto token = LoadOrCreateHttpToken(config);
    if (!token.ok()) {
      LOG_ERROR("cannot start: {}", token.status().message());
      ::close(*lock);
      return kExitStartFailed;
    }
    if (token->generated) LOG_INFO("generated an HTTP API token: {}", token->path);
    http_token = std::move(token->token);
  }
  const std::string http_api_token = http_token;
  HttpApi http_api(config, std::move(http_token));
  Server::Factories factories = ProtocolFactories();
  factories["http"] = http_api.Factory();
  Server server(config, std::move(factories));
  http_api.set_hooks({[&server] { return server.Healthy(); },
                      [&server](std::function<void()> work, std::function<void()> done) {
                        server.Offload(std::move(work), std::move(done));
                      }});
  Status s = server.Start();
  if (!s.ok()) {
    LOG_ERROR("cannot start: {}", s.message());
    ::close(*lock);
    return kExitStartFailed;
  }
  if (!options.ports_file.empty()) {
    if (Status w = WriteFileAtomically(options.ports_file, server.PortsJson() + "\n"); !w.ok()) {
      LOG_ERROR("cannot start: --ports-file: {}", w.message());
      ::close(*lock);
      return kExitStartFailed;
    }
  }
  if (!options.ready_file.empty() || options.ready_stdout) {
    std::string ready = ReadyJson(server.PortsJson(), http_api_token, data_dir) + "\n";
    if (!options.ready_file.empty()) {
      if (Status w = WriteFileAtomically(options.ready_file, ready); !w.ok()) {
        LOG_ERROR("cannot start: --ready-file: {}", w.message());
        ::close(*lock);
        return kExitStartFailed;
      }
    }
    if (options.ready_stdout) {
      std::fputs(ready.c_str(), stdout);
      std::fflush(stdout);
    }
  }
  int rc = server.Run();
  ::close(*lock);
  return rc;
}

}  // namespace pillarbox::server
