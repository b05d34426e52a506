// The MessageAnalyzer the store runs on the writer thread when a message is
// first stored: the MIME structure (protocols/mime, serialized) and the
// decoded subject for the journal.
#pragma once

#include "storage/store.h"

namespace pillarbox::protocols {

storage::MessageAnalyzer MakeMessageAnalyzer();

}  // namespace pillarbox::protocols
