// Where a recipient address goes: the one routing rule of SMTP receive,
// LMTP and the Postfix socketmap lookup (protocols/postfix/socketmap.h), so
// that what Postfix is told at RCPT time is what delivery will do.
//
// Thread-safety: pure; reads only through the given view (owner thread).
#pragma once

#include <string>
#include <string_view>

#include "config/config.h"
#include "protocols/smtp/address.h"
#include "services/delivery.h"
#include "storage/store.h"

namespace pillarbox::smtp {

struct RouteDecision {
  enum class Kind {
    kDeliver,          // to `user`, into `mailbox`
    kCreate,           // catch-all with dev.auto_create_users: create `create_name` first
    kNotLocal,         // the domain is not ours
    kUnknownUser,      // local domain, no such user
    kCatchAllMissing,  // smtp.catch_all_user does not exist
  };
  Kind kind = Kind::kUnknownUser;
  storage::UserRecord user;       // kDeliver
  std::string mailbox = "INBOX";  // kDeliver: the subaddress detail's mailbox, if the user has it
  std::string create_name;        // kCreate
};

// Decides for one recipient.
//   lmtp: the MTA in front decided the mail is ours; with empty [delivery]
//         domains every domain is local, and smtp.catch_all does not apply.
//   SMTP: with empty [delivery] domains only `hostname` and "localhost" are
//         local; smtp.catch_all accepts any address (to catch_all_user, or
//         to the recipient, created when dev.auto_create_users is on).
// Users are found by services::FindRecipient (whole address, local part,
// then both without the subaddress detail, delivery.subaddress_separator).
RouteDecision RouteRecipient(storage::ReadView& view, const config::Config& config,
                             std::string_view hostname, bool lmtp, const Address& address);

}  // namespace pillarbox::smtp
