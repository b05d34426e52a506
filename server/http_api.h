// The HTTP API (v1) and the web console: the routes behind the "http"
// listeners (README.md "HTTP API and web console"). The HTTP session itself
// (parsing, limits, writing) is protocols/http/; this file answers requests
// with the store and the configuration.
//
// Auth ([http] auth = "token"): every /api/ request carries
// "Authorization: Bearer TOKEN" or the console's cookie, set by
// POST /api/v1/login. /healthz, /metrics and the console's static files need
// none.
//
// The operations shared with the command line (user add/del/set, views,
// journal, the delete mode in effect) are services/'s; the routes call them
// and render their results (http_api_ops.cpp, which also maps their outcome
// codes to HTTP statuses in one function).
//
// Threads: the loop thread. Lifetimes: the HttpApi must outlive every HTTP
// session (the server's factories capture it).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "config/config.h"
#include "protocols/http/router.h"
#include "protocols/session.h"

namespace pillarbox::server {

// The token of [http] token_file (default <data_dir>/http-token): read, or
// generated (32 random bytes, hex, mode 0600) when the file is missing.
struct HttpToken {
  std::string token;
  std::string path;
  bool generated = false;
};
Result<HttpToken> LoadOrCreateHttpToken(const config::Config& config);

// The console's cookie.
inline constexpr std::string_view kTokenCookie = "pillarbox_token";

class HttpApi {
 public:
  struct Hooks {
    // The store and every listener are up (GET /healthz).
    std::function<bool()> healthy;
    // Runs `work` off the loop, then `done` on it (password hashing).
    std::function<void(std::function<void()> work, std::function<void()> done)> offload;
  };

  HttpApi(const config::Config& config, std::string token);
  void set_hooks(Hooks hooks) { hooks_ = std::move(hooks); }

  // The session factory of the "http" listeners.
  protocols::SessionFactory Factory();

  // For tests: answers one parsed request.
  void Handle(http::HttpSession& session, http::Request& request);

 private:
  bool Authorized(const http::Request& request) const;
  void AddRoutes();

  const config::Config& config_;
  std::string token_;
  Hooks hooks_;
  http::Router router_;
};

}  // namespace pillarbox::server
