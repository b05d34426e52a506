// The HTTP API's routes for client developers: fault injection
// (protocols/faults.h). GET /api/v1/faults lists the rules, PUT replaces the
// whole list (a JSON array; 400 names a bad rule), DELETE clears it.
#include "protocols/faults.h"
#include "protocols/http/http_session.h"
#include "protocols/http/router.h"

namespace pillarbox::server {

void AddDevRoutes(http::Router& router) {
  using http::HttpSession;
  using http::Params;
  using http::Request;
  using http::Response;
  auto list = [] {
    Response resp;
    resp.status = 200;
    resp.body = protocols::FaultRulesJson(protocols::FaultRegistry::Global().rules());
    return resp;
  };
  router.Add("GET", "/api/v1/faults",
             [list](HttpSession& s, Request&, const Params&) { s.Respond(list()); });
  router.Add("PUT", "/api/v1/faults", [list](HttpSession& s, Request& r, const Params&) {
    auto rules = protocols::ParseFaultRules(r.body);
    if (!rules.ok()) return s.Respond(http::JsonError(400, rules.status().message()));
    protocols::FaultRegistry::Global().Replace(std::move(*rules));
    s.Respond(list());
  });
  router.Add("DELETE", "/api/v1/faults", [](HttpSession& s, Request&, const Params&) {
    protocols::FaultRegistry::Global().Clear();
    Response resp;
    resp.status = 204;
    s.Respond(std::move(resp));
  });
}

}  // namespace pillarbox::server
