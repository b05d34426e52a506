// The JSON of journal events, the POP3 delete mode in effect and the INBOX
// views: one rendering for `pillarbox journal --json`, `pillarbox views
// --json` and the HTTP API. The rules themselves (which names, which
// settings, what is pending, what left the INBOX) live in services/; this
// file only spells their results.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "services/journal.h"
#include "services/settings.h"
#include "storage/types.h"

namespace pillarbox::server {

using Json = nlohmann::ordered_json;

// Serialized JSON; invalid UTF-8 in stored text becomes U+FFFD instead of
// an exception.
std::string Dump(const Json& j);
// "2026-11-26T10:00:00Z".
std::string IsoTime(storage::UnixTime t);
// "\\Seen", "$Label", ...
std::vector<std::string> FlagNames(const storage::Flags& flags);

// One journal event, as `pillarbox journal --json` and the API show it.
Json JournalEventJson(const storage::JournalEvent& ev);
// {"mode": "hide", "source": "user"|"env"|"config"|"default"}.
Json DeleteModeJson(const services::DeleteModeInEffect& mode);
// A sentence that explains the mode to a person.
std::string DeleteModeSentence(const services::DeleteModeInEffect& mode);

// What POP3 does to a message of the INBOX: "visible", "retrieved",
// "delete_pending", "hidden".
std::string_view Pop3State(const services::InboxRow& row);

// The facts of `pillarbox views --json`.
Json ViewsJson(const services::InboxView& view);

}  // namespace pillarbox::server
