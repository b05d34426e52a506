#include "protocols/login_name.h"

#include "common/strings.h"

namespace pillarbox::protocols {

std::string LoginUserName(std::string_view login, const config::DeliveryConfig& delivery) {
  std::size_t at = login.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == login.size()) {
    return std::string(login);
  }
  std::string_view local = login.substr(0, at);
  std::string domain = AsciiFold(login.substr(at + 1));
  if (local.find('@') != std::string_view::npos) return std::string(login);
  if (delivery.domains.empty()) return std::string(local);
  for (const auto& d : delivery.domains) {
    if (AsciiFold(d) == domain) return std::string(local);
  }
  return std::string(login);
}

}  // namespace pillarbox::protocols
