#include "protocols/smtp/routing.h"

#include <utility>
#include <vector>

namespace pillarbox::smtp {

RouteDecision RouteRecipient(storage::ReadView& view, const config::Config& config,
                             std::string_view hostname, bool lmtp, const Address& addr) {
  RouteDecision d;
  bool catch_all = !lmtp && config.smtp.catch_all;
  if (!catch_all && !addr.domain.empty()) {
    bool local;
    if (!config.delivery.domains.empty()) {
      local = DomainMatches(addr.domain, config.delivery.domains);
    } else if (lmtp) {
      local = true;  // the MTA in front decided this is ours
    } else {
      local = DomainMatches(addr.domain, {std::string(hostname), "localhost"});
    }
    if (!local) {
      d.kind = RouteDecision::Kind::kNotLocal;
      return d;
    }
  }
  if (catch_all && !config.smtp.catch_all_user.empty()) {
    auto user = view.FindUser(config.smtp.catch_all_user);
    if (!user.ok()) {
      d.kind = RouteDecision::Kind::kCatchAllMissing;
      return d;
    }
    d.kind = RouteDecision::Kind::kDeliver;
    d.user = std::move(*user);
    return d;
  }
  std::string base;
  std::string detail;
  bool has_detail =
      SplitSubaddress(addr.local, config.delivery.subaddress_separator, &base, &detail);
  std::vector<std::pair<std::string, bool>> candidates;
  if (!addr.domain.empty()) candidates.emplace_back(addr.local + "@" + addr.domain, false);
  candidates.emplace_back(addr.local, false);
  if (has_detail) {
    if (!addr.domain.empty()) candidates.emplace_back(base + "@" + addr.domain, true);
    candidates.emplace_back(base, true);
  }
  for (const auto& [name, with_detail] : candidates) {
    auto user = view.FindUser(name);
    if (user.ok()) {
      d.kind = RouteDecision::Kind::kDeliver;
      d.user = std::move(*user);
      if (with_detail) d.detail = detail;
      return d;
    }
  }
  if (catch_all && config.dev.auto_create_users) {
    d.kind = RouteDecision::Kind::kCreate;
    d.create_name = has_detail ? base : addr.local;
    return d;
  }
  d.kind = RouteDecision::Kind::kUnknownUser;
  return d;
}

}  // namespace pillarbox::smtp
