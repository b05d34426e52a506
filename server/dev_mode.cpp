#include "server/dev_mode.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/log.h"

namespace pillarbox::server {

Status CheckDevConfig(const config::Config& config, const std::vector<ListenerSpec>& specs) {
  if (!config.dev.auto_create_users || config.dev.allow_remote) return Status::Ok();
  for (const ListenerSpec& spec : specs) {
    if (spec.address.kind != ListenAddress::Kind::kTcp) continue;
    const std::string& host = spec.address.host;
    if (host.starts_with("127.") || host == "::1") continue;
    return Status::InvalidArgument(
        "dev.auto_create_users: " + spec.key + " listens on " + spec.address.ToString() +
        ", which is not loopback: anyone who reaches it could create accounts; listen on "
        "127.0.0.1 or set dev.allow_remote = true");
  }
  return Status::Ok();
}

void WarnDevMode(const config::Config& config) {
  if (config.dev.auto_create_users) {
    LOG_WARN(
        "DEV MODE: dev.auto_create_users is on: unknown SMTP recipients and first logins "
        "create accounts; never use this for real mail");
  }
  if (config.dev.deterministic) {
    LOG_WARN(
        "DEV MODE: dev.deterministic is on: every mailbox has UIDVALIDITY 1 (UIDs may be "
        "reused after a mailbox is deleted); never use this for real mail");
  }
}

Result<std::string> MakeEphemeralDataDir() {
  const char* tmp = ::getenv("TMPDIR");
  std::string base = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  std::string pattern = base + "/pillarbox-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    return Status::IOError("cannot create a temporary directory in " + base + ": " +
                           std::strerror(errno));
  }
  return pattern;
}

void MakeEphemeral(config::Config* config, const std::string& data_dir) {
  const std::vector<std::string> any = {"127.0.0.1:0"};
  config->server.data_dir = data_dir;
  config->dev.transcripts = true;
  config->imap.listen = any;
  config->imap.tls_listen = any;
  config->pop3.listen = any;
  config->pop3.tls_listen = any;
  config->lmtp.listen = any;
  config->smtp.listen = any;
  config->smtp.tls_listen.clear();
  config->http.listen = any;
  config->http.tls_listen.clear();
  config->http.auth = "token";
  config->http.token_file.clear();
  config->auth.postfix_socket.clear();
  config->delivery.socketmap_socket.clear();
}

std::string ReadyJson(const std::string& ports_json, const std::string& token,
                      const std::string& data_dir) {
  nlohmann::ordered_json j;
  j["ports"] = nlohmann::ordered_json::parse(ports_json);
  j["token"] = token;
  j["data_dir"] = data_dir;
  return j.dump();
}

}  // namespace pillarbox::server
