// The MessageAnalyzer the store runs on the writer thread when a message is
// first stored: the MIME structure (protocols/mime, serialized) and the
// decoded subject for the journal.
#pragma once

#include <optional>
#include <string_view>

#include "storage/store.h"

namespace pillarbox::protocols {

storage::MessageAnalyzer MakeMessageAnalyzer();

// The date of a message's Date header (StoreOptions::message_date, for
// [dev] deterministic): nullopt when there is none or it cannot be parsed.
std::optional<storage::StoreOptions::MessageDate> MessageDateOf(std::string_view bytes);

}  // namespace pillarbox::protocols
