// The one place a store's options and the data directory's absolute path
// are derived from the configuration, for `serve` and for every CLI command,
// so that quotas and journal limits agree whichever process commits.
#pragma once

#include <string>

#include "config/config.h"
#include "storage/store.h"

namespace pillarbox::server {

// server.data_dir as an absolute, normal path without a trailing '/'
// (as given when the working directory cannot be read).
std::string AbsoluteDataDir(const config::Config& config);

// The store of <data_dir>/store, with the configured quotas, journal limits
// and password threads, the MIME analyzer, and `post` to the owner thread.
storage::StoreOptions MakeStoreOptions(const config::Config& config, storage::PostFn post);

}  // namespace pillarbox::server
