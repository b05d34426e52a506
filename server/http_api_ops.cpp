// The HTTP API's renderings of what services/ decides: outcome codes as
// HTTP statuses and error answers. The JSON of journal events and views is
// shared with the CLI (server/views_json.h).
#include "common/log.h"
#include "common/strings.h"
#include "server/http_api_internal.h"

namespace pillarbox::server::api {

int HttpStatusOf(services::Code code) {
  using C = services::Code;
  switch (code) {
    case C::kOk:
      return 200;
    case C::kBadInput:
    case C::kEmptyMessage:
    case C::kBadMailbox:
      return 400;
    case C::kNoSuchUser:
      return 404;
    case C::kExists:
      return 409;
    case C::kTooBig:
    case C::kOverQuota:
      return 413;
    case C::kTemporary:
      return 503;
  }
  return 503;
}

http::Response OutcomeError(std::uint64_t session, const services::Outcome& outcome) {
  int status = HttpStatusOf(outcome.code());
  if (outcome.code() == services::Code::kTemporary) {
    LOG_WARN("http session {}: {}", session, LogSafe(outcome.message()));
    return http::JsonError(status, "temporarily unavailable, see the server log (session " +
                                       std::to_string(session) + ")");
  }
  return http::JsonError(status, outcome.message());
}

}  // namespace pillarbox::server::api
