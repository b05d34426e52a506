#include "server/store_options.h"

#include <filesystem>

#include "protocols/analyzer.h"
#include "server/paths.h"

namespace pillarbox::server {

std::string AbsoluteDataDir(const config::Config& config) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(config.server.data_dir, ec);
  if (ec) return config.server.data_dir;
  std::string out = abs.lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

storage::StoreOptions MakeStoreOptions(const config::Config& config, storage::PostFn post) {
  storage::StoreOptions options;
  options.dir = StoreDir(config);
  options.post = std::move(post);
  options.analyzer = protocols::MakeMessageAnalyzer();
  options.default_quota_bytes = config.quota.storage_bytes;
  options.default_quota_messages = config.quota.messages;
  options.journal_max_age_days = config.journal.max_age_days;
  options.journal_max_events_per_user = config.journal.max_events_per_user;
  options.auth_threads = config.auth.hash_threads;
  options.create_users_on_login = config.dev.auto_create_users;
  options.deterministic = config.dev.deterministic;
  if (config.dev.deterministic) options.message_date = protocols::MessageDateOf;
  return options;
}

}  // namespace pillarbox::server
