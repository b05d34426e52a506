// Pieces shared by the files of the HTTP API (server/http_api*.cpp). Not an
// API for anything else.
//
// Thread: the loop thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/config.h"
#include "protocols/http/http_session.h"
#include "protocols/http/router.h"
#include "server/views_json.h"
#include "services/journal.h"
#include "services/outcome.h"
#include "services/settings.h"
#include "storage/store.h"

namespace pillarbox::server::api {

http::Response JsonResponse(int status, const Json& j);

// --- renderings of the services' results (http_api_ops.cpp) ----------------

// The HTTP status of a service outcome: the one mapping of services::Code
// for the API (kBadInput 400, kNoSuchUser 404, kExists 409, kTooBig 413, ...).
int HttpStatusOf(services::Code code);
// The error answer for a failed outcome. Its message describes the request
// (a name, a setting) and is sent; a kTemporary one may hold internal
// detail: it goes to the log, the client gets "see the server log".
http::Response OutcomeError(std::uint64_t session, const services::Outcome& outcome);

// Shared with the CLI (server/views_json.h).
using server::DeleteModeJson;
using server::DeleteModeSentence;
using server::Dump;
using server::FlagNames;
using server::IsoTime;
using server::JournalEventJson;
using server::Json;
using server::Pop3State;
using server::ViewsJson;

// The summaries of GET .../messages (one message) and of a mailbox.
Json MessageSummaryJson(storage::ReadView& view, const storage::MessageRecord& m);
Json MailboxSummaryJson(const storage::MailboxRecord& mb);

// --- the test-server routes (http_api_kit.cpp) --------------------------------
// Seeding a message, reset, wait.
void AddKitRoutes(http::Router& router, const config::Config& config);
// The largest body a request may send: limits.max_message_size for seeding
// a message, http::kMaxBodyBytes for the rest.
std::size_t KitBodyLimit(const config::Config& config, const http::Request& request);

}  // namespace pillarbox::server::api
