#include "protocols/smtp/routing.h"

#include <utility>

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
  services::RecipientAddress target{addr.local, addr.domain, "", ""};
  bool has_detail = SplitSubaddress(addr.local, config.delivery.subaddress_separator, &target.base,
                                    &target.detail);
  if (!has_detail) target.base.clear();
  services::Recipient found;
  if (services::FindRecipient(view, target, &found).ok()) {
    d.kind = RouteDecision::Kind::kDeliver;
    d.user = std::move(found.user);
    d.mailbox = std::move(found.mailbox);
    return d;
  }
  if (catch_all && config.dev.auto_create_users) {
    d.kind = RouteDecision::Kind::kCreate;
    d.create_name = has_detail ? target.base : addr.local;
    return d;
  }
  d.kind = RouteDecision::Kind::kUnknownUser;
  return d;
}

}  // namespace pillarbox::smtp
