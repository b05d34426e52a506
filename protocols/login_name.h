// The user name behind a login name: IMAP LOGIN/AUTHENTICATE, POP3
// USER/APOP-less AUTH, and SMTP AUTH all accept the bare user name ("alice")
// and the full address ("alice@example.org") when the domain is local, as
// mail clients' automatic setup logs in with the address.
//
// Pure; any thread.
#pragma once

#include <string>
#include <string_view>

#include "config/config.h"

namespace pillarbox::protocols {

// "alice@example.org" -> "alice" when example.org is one of
// [delivery] domains (case-insensitive; when that list is empty every domain
// is local, as for delivery). Anything else is returned unchanged, so
// "alice@other.example" is looked up as it is (and normally not found).
std::string LoginUserName(std::string_view login, const config::DeliveryConfig& delivery);

}  // namespace pillarbox::protocols
