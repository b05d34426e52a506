#include "services/settings.h"

#include <cstdlib>

namespace pillarbox::services {

Result<std::vector<storage::RetentionRule>> RetentionRules(const config::Config& config) {
  auto parsed = config::ParseExpireRules(config.retention.expire_after);
  if (!parsed.ok()) return parsed.status();
  std::vector<storage::RetentionRule> rules;
  for (auto& r : *parsed) rules.push_back({std::move(r.mailbox), r.days});
  return rules;
}

std::string DeleteModeInEffect::Describe() const {
  if (source == "user") return mode + " (user override: pillarbox user set)";
  if (source == "env") return mode + " (environment: PILLARBOX_POP3_DELETE_MODE)";
  if (source == "config") return mode + " (configuration file: [pop3] delete_mode)";
  return mode + " (built-in default)";
}

DeleteModeInEffect DeleteModeOf(const config::Config& config, const storage::UserRecord& user) {
  DeleteModeInEffect d;
  std::vector<std::string> problems;
  const config::Config effective = config::UserConfig(config, user.settings, &problems);
  d.mode = config::FormatPop3DeleteMode(effective.pop3.delete_mode);
  auto own = user.settings.find("pop3.delete_mode");
  if (own != user.settings.end() && config::ValidateUserSetting(own->first, own->second).ok()) {
    d.source = "user";
  } else if (std::getenv("PILLARBOX_POP3_DELETE_MODE") != nullptr) {
    d.source = "env";
  } else if (d.mode != config::FormatPop3DeleteMode(config::Config().pop3.delete_mode)) {
    d.source = "config";
  } else {
    d.source = "default";  // or set to the default value in the file
  }
  return d;
}

}  // namespace pillarbox::services
