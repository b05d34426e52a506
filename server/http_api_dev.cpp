// The HTTP API's routes for client developers:
// - fault injection (protocols/faults.h): GET /api/v1/faults lists the
//   rules, PUT replaces the whole list (a JSON array; 400 names a bad
//   rule), DELETE clears it;
// - transcripts (server/transcript_book.h): GET /api/v1/transcripts lists
//   the recorded sessions, GET /api/v1/sessions/{id}/transcript is one of
//   them as text.
#include <charconv>

#include "protocols/faults.h"
#include "protocols/http/http_session.h"
#include "protocols/http/router.h"
#include "server/transcript_book.h"
#include "server/views_json.h"

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

  auto recording = [](HttpSession& s) {
    if (TranscriptBook::Global().enabled()) return true;
    s.Respond(http::JsonError(
        404, "transcripts are not recorded: set [dev] transcripts = true (on with --ephemeral)"));
    return false;
  };
  router.Add("GET", "/api/v1/transcripts", [recording](HttpSession& s, Request&, const Params&) {
    if (!recording(s)) return;
    Json list = Json::array();
    for (const auto& t : TranscriptBook::Global().List()) {
      list.push_back({{"session", t.session},
                      {"protocol", t.protocol},
                      {"peer", t.peer},
                      {"started", t.started},
                      {"live", t.live},
                      {"lines", t.lines}});
    }
    Response resp;
    resp.status = 200;
    resp.body = Dump(Json{{"transcripts", std::move(list)}});
    s.Respond(std::move(resp));
  });
  router.Add(
      "GET", "/api/v1/sessions/{id}/transcript",
      [recording](HttpSession& s, Request&, const Params& p) {
        if (!recording(s)) return;
        const std::string& text = p.at("id");
        std::uint64_t id = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
        if (ec != std::errc() || end != text.data() + text.size()) {
          return s.Respond(http::JsonError(400, "a session id is a number"));
        }
        auto transcript = TranscriptBook::Global().Text(id);
        if (!transcript) {
          return s.Respond(http::JsonError(404, "no transcript for session " + text +
                                                    " (unknown, or closed longer ago than the last "
                                                    "[dev] transcript_sessions sessions)"));
        }
        Response resp;
        resp.status = 200;
        resp.content_type = "text/plain; charset=utf-8";
        resp.headers.emplace_back("Cache-Control", "no-store");
        resp.body = std::move(*transcript);
        s.Respond(std::move(resp));
      });
}

}  // namespace pillarbox::server
