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
#include "storage/store.h"

namespace pillarbox::server::api {

using Json = nlohmann::ordered_json;

// Serialized JSON; invalid UTF-8 in stored text becomes U+FFFD instead of
// an exception.
std::string Dump(const Json& j);
http::Response JsonResponse(int status, const Json& j);
// The HTTP status for a store Status (404 NotFound, 409 Exists/InUse, ...).
int HttpStatusOf(const Status& s);

// "2026-11-26T10:00:00Z".
std::string IsoTime(storage::UnixTime t);
// "\\Seen", "$Label", ...
std::vector<std::string> FlagNames(const storage::Flags& flags);
std::string_view SpecialUseName(storage::SpecialUse use);

// --- operations shared with the command line (http_api_ops.cpp) -------------

// One journal event, with the field names of `pillarbox journal --json`.
Json JournalEventJson(const storage::JournalEvent& ev);
// The delete mode a POP3 login of `user` gets and where it comes from:
// {"mode": "hide", "source": "user"|"env"|"config"|"default"}.
Json DeleteModeJson(const config::Config& config, const storage::UserRecord& user);
// A sentence that explains the mode to a person.
std::string DeleteModeSentence(const config::Config& config, const storage::UserRecord& user);

// What POP3 does to each message of an INBOX, by GUID: "visible",
// "retrieved", "delete_pending", "hidden"; and the session whose DELE is
// pending.
struct Pop3Facts {
  std::string state;
  std::uint64_t pending_session = 0;
};
std::map<std::uint64_t, Pop3Facts> Pop3StatesOf(
    const std::vector<storage::MessageRecord>& inbox,
    const std::vector<storage::JournalEvent>& journal,
    const std::vector<storage::ReadView::LiveSession>& sessions);
// The facts of `pillarbox views --json` for `user`.
Result<Json> ViewsJson(storage::ReadView& view, const config::Config& config,
                       const storage::UserRecord& user);

// `user add`'s checks of a name and an imported hash (ValidatePasswordHash
// costs one hashing: call it off the loop).
Status CheckNewUserName(std::string_view name);
// The password's hash (slow: off the loop).
Result<std::string> HashNewPassword(std::string_view password);
// `user set`'s check: the canonical value to store ("" removes the override).
Result<std::string> CheckUserSetting(std::string_view key, const std::string& value);

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
