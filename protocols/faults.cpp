#include "protocols/faults.h"

#include <cctype>
#include <nlohmann/json.hpp>

#include "common/log.h"
#include "common/strings.h"

namespace pillarbox::protocols {
namespace {

using Json = nlohmann::ordered_json;

bool EqualNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

Status Bad(std::size_t i, std::string_view key, std::string_view why) {
  return Status::InvalidArgument("fault " + std::to_string(i) +
                                 (key.empty() ? "" : " \"" + std::string(key) + "\"") + ": " +
                                 std::string(why));
}

}  // namespace

Result<std::vector<FaultRule>> ParseFaultRules(std::string_view text) {
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_array()) {
    return Status::InvalidArgument("expected a JSON array of fault rules");
  }
  std::vector<FaultRule> rules;
  for (std::size_t i = 0; i < j.size(); ++i) {
    const Json& o = j[i];
    if (!o.is_object()) return Bad(i, "", "expected an object");
    FaultRule r;
    for (const auto& item : o.items()) {
      // Named, not structured bindings: lambdas capture them (clang 14).
      const std::string key = item.key();
      const Json& v = item.value();
      auto str = [&](std::string* out) -> Status {
        if (!v.is_string()) return Bad(i, key, "expected a string");
        *out = v.get<std::string>();
        return Status::Ok();
      };
      auto num = [&](std::int64_t* out) -> Status {
        if (!v.is_number_integer() || v.get<std::int64_t>() < 0) {
          return Bad(i, key, "expected a non-negative integer");
        }
        *out = v.get<std::int64_t>();
        return Status::Ok();
      };
      Status s;
      if (key == "protocol") {
        s = str(&r.protocol);
      } else if (key == "command") {
        s = str(&r.command);
        r.command = Upper(r.command);
      } else if (key == "user") {
        s = str(&r.user);
      } else if (key == "mailbox") {
        s = str(&r.mailbox);
      } else if (key == "action") {
        s = str(&r.action);
      } else if (key == "reply") {
        s = str(&r.reply);
      } else if (key == "delay_ms") {
        s = num(&r.delay_ms);
      } else if (key == "after_bytes") {
        s = num(&r.after_bytes);
      } else if (key == "count") {
        s = num(&r.count);
      } else if (key == "probability") {
        if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > 1) {
          s = Bad(i, key, "expected a number from 0 to 1");
        } else {
          r.probability = v.get<double>();
        }
      } else {
        s = Bad(i, key, "unknown key");
      }
      if (!s.ok()) return s;
    }
    if (r.protocol != "imap" && r.protocol != "pop3" && r.protocol != "lmtp" &&
        r.protocol != "smtp") {
      return Bad(i, "protocol", "expected imap, pop3, lmtp or smtp");
    }
    if (r.action != "reply" && r.action != "delay" && r.action != "disconnect" &&
        r.action != "bye" && r.action != "untagged") {
      return Bad(i, "action", "expected reply, delay, disconnect, bye or untagged");
    }
    if ((r.action == "bye" || r.action == "untagged") && r.protocol != "imap") {
      return Bad(i, "action", r.action + " is for imap");
    }
    if (r.action == "untagged" && r.reply.empty()) {
      return Bad(i, "reply", "required for untagged (the response after \"* \", e.g. \"BYE\")");
    }
    if (r.action == "reply" && (r.protocol == "smtp" || r.protocol == "lmtp") &&
        !(r.reply.size() >= 4 && r.reply[0] >= '2' && r.reply[0] <= '5' &&
          std::isdigit(static_cast<unsigned char>(r.reply[1])) &&
          std::isdigit(static_cast<unsigned char>(r.reply[2])) && r.reply[3] == ' ')) {
      return Bad(i, "reply", "an SMTP/LMTP reply starts with a code, e.g. \"452 4.2.2 injected\"");
    }
    if (r.action == "disconnect" && r.after_bytes > 0 && r.protocol != "imap" &&
        r.protocol != "pop3") {
      return Bad(i, "after_bytes", "is for imap and pop3 responses");
    }
    if (r.action == "reply" && r.reply.empty()) return Bad(i, "reply", "required for reply");
    if (r.reply.find_first_of("\r\n") != std::string::npos) {
      return Bad(i, "reply", "must be one line");
    }
    if (r.command.empty()) r.command = "*";
    rules.push_back(std::move(r));
  }
  return rules;
}

std::string FaultRulesJson(const std::vector<FaultRule>& rules) {
  Json out = Json::array();
  for (const FaultRule& r : rules) {
    Json o = {{"protocol", r.protocol}, {"command", r.command}};
    if (!r.user.empty()) o["user"] = r.user;
    if (!r.mailbox.empty()) o["mailbox"] = r.mailbox;
    o["action"] = r.action;
    if (!r.reply.empty()) o["reply"] = r.reply;
    if (r.action == "delay" || (r.action == "untagged" && r.delay_ms > 0)) {
      o["delay_ms"] = r.delay_ms;
    }
    if (r.action == "disconnect") o["after_bytes"] = r.after_bytes;
    if (r.probability < 1.0) o["probability"] = r.probability;
    if (r.count >= 0) o["count"] = r.count;
    out.push_back(std::move(o));
  }
  return out.dump(2, ' ', false, Json::error_handler_t::replace);
}

FaultRegistry& FaultRegistry::Global() {
  static FaultRegistry registry;
  return registry;
}

std::optional<FaultRule> FaultRegistry::Match(std::string_view protocol, std::string_view command,
                                              std::string_view user, std::string_view mailbox) {
  for (FaultRule& r : rules_) {
    if (r.protocol != protocol) continue;
    if (r.command != "*" && r.command != command) continue;
    if (!r.user.empty() && !EqualNoCase(r.user, user)) continue;
    if (!r.mailbox.empty() && r.mailbox != mailbox) continue;
    if (r.count == 0) continue;
    if (r.probability < 1.0) {
      std::uniform_real_distribution<double> dist(0.0, 1.0);
      if (dist(rng_) >= r.probability) continue;
    }
    if (r.count > 0) --r.count;
    LOG_INFO("fault injected: proto={} command={} user={} action={}", protocol, command,
             LogSafe(std::string(user)), r.action);
    return r;
  }
  return std::nullopt;
}

}  // namespace pillarbox::protocols
