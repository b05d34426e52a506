// The routes that make Pillarbox a test server for mail-client developers
// (README.md "Pillarbox as a test server"): seed a message, reset the
// server, wait for messages to arrive.
//
// Thread: the loop thread.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/civil_time.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/strings.h"
#include "server/http_api_internal.h"
#include "services/delivery.h"
#include "services/reset.h"
#include "storage/uidl.h"

namespace pillarbox::server::api {

namespace {

using http::HttpSession;
using http::Params;
using http::Request;
using http::Response;

constexpr std::string_view kSeedPattern = "/api/v1/users/{name}/mailboxes/{mailbox}/messages";
// A wait ends after at most this long, whatever the client asked.
constexpr std::uint64_t kMaxWaitSeconds = 300;
constexpr std::uint64_t kDefaultWaitSeconds = 30;
// At most this many messages are asked for (and returned) by one wait.
constexpr std::uint64_t kMaxWaitCount = 10000;

Response Error(int status, std::string_view message) { return http::JsonError(status, message); }

std::optional<std::uint64_t> Number(std::string_view s, std::uint64_t max) {
  std::uint64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size() || v > max)
    return std::nullopt;
  return v;
}

// Items of a list written "a,b" or "a b".
std::vector<std::string> ListItems(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ',' || c == ' ') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

// "\Seen,\Flagged" or "seen flagged": system flags. Error names the bad one.
Result<std::uint32_t> ParseSystemFlags(std::string_view text) {
  std::uint32_t bits = 0;
  for (const std::string& item : ListItems(text)) {
    std::string name = AsciiFold(item.starts_with('\\') ? item.substr(1) : item);
    if (name == "seen") {
      bits |= storage::kFlagSeen;
    } else if (name == "answered") {
      bits |= storage::kFlagAnswered;
    } else if (name == "flagged") {
      bits |= storage::kFlagFlagged;
    } else if (name == "deleted") {
      bits |= storage::kFlagDeleted;
    } else if (name == "draft") {
      bits |= storage::kFlagDraft;
    } else {
      return Status::InvalidArgument("flags: unknown flag " + item +
                                     " (Seen, Answered, Flagged, Deleted, Draft)");
    }
  }
  return bits;
}

// Keywords are IMAP atoms without '\'.
Result<std::vector<std::string>> ParseKeywords(std::string_view text) {
  std::vector<std::string> out;
  for (const std::string& k : ListItems(text)) {
    bool ok = k.size() <= 128;
    for (unsigned char c : k) {
      if (c <= 0x20 || c >= 0x7f ||
          std::string_view("(){%*\"\\]").find(static_cast<char>(c)) != std::string_view::npos) {
        ok = false;
      }
    }
    if (!ok) return Status::InvalidArgument("keywords: not an IMAP keyword: " + k);
    bool dup = std::any_of(out.begin(), out.end(),
                           [&k](const std::string& o) { return EqualsIgnoreAsciiCase(o, k); });
    if (!dup) out.push_back(k);
  }
  std::sort(out.begin(), out.end(),
            [](const std::string& a, const std::string& b) { return AsciiFold(a) < AsciiFold(b); });
  return out;
}

struct Time {
  storage::UnixTime utc = 0;
  std::int32_t tz_minutes = 0;
};
// Seconds since the epoch, or "2026-11-26T10:00:00Z" / "...+02:00".
std::optional<Time> ParseInternalDate(std::string_view s) {
  if (auto n = Number(s, 0xffffffffffull)) return Time{static_cast<storage::UnixTime>(*n), 0};
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
      s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  auto year = Number(s.substr(0, 4), 9999), month = Number(s.substr(5, 2), 12),
       day = Number(s.substr(8, 2), 31), hour = Number(s.substr(11, 2), 23),
       minute = Number(s.substr(14, 2), 59), second = Number(s.substr(17, 2), 60);
  if (!year || !month || !day || !hour || !minute || !second || *month == 0 || *day == 0)
    return std::nullopt;
  std::string_view zone = s.substr(19);
  int tz = 0;
  if (zone == "Z") {
    tz = 0;
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    auto zh = Number(zone.substr(1, 2), 23), zm = Number(zone.substr(4, 2), 59);
    if (!zh || !zm) return std::nullopt;
    tz = static_cast<int>(*zh * 60 + *zm) * (zone[0] == '-' ? -1 : 1);
  } else {
    return std::nullopt;
  }
  std::int64_t days = DaysFromCivil(static_cast<std::int64_t>(*year), static_cast<unsigned>(*month),
                                    static_cast<unsigned>(*day));
  std::int64_t local =
      days * 86400 + static_cast<std::int64_t>(*hour * 3600 + *minute * 60 + *second);
  return Time{local - tz * 60, tz};
}

int HttpStatusOfOutcome(const services::Outcome& o) {
  switch (o.code()) {
    case services::Code::kOk:
      return 200;
    case services::Code::kBadInput:
    case services::Code::kBadMailbox:
    case services::Code::kEmptyMessage:
      return 400;
    case services::Code::kNoSuchUser:
      return 404;
    case services::Code::kExists:
    case services::Code::kOverQuota:
      return 409;
    case services::Code::kTooBig:
      return 413;
    case services::Code::kTemporary:
      return 503;
  }
  return 500;
}

// POST .../messages: one raw message into a mailbox (created when missing).
void Seed(const config::Config& config, HttpSession& s, Request& r, const Params& p) {
  const std::string* type = r.Header("content-type");
  if (type != nullptr && !StartsWithIgnoreAsciiCase(*type, "message/rfc822") &&
      !StartsWithIgnoreAsciiCase(*type, "application/octet-stream")) {
    return s.Respond(Error(415, "send the raw message with Content-Type: message/rfc822"));
  }
  services::Delivery d;
  auto flags = ParseSystemFlags(r.Query("flags"));
  if (!flags.ok()) return s.Respond(Error(400, flags.status().message()));
  auto keywords = ParseKeywords(r.Query("keywords"));
  if (!keywords.ok()) return s.Respond(Error(400, keywords.status().message()));
  d.flags.system = *flags;
  d.flags.keywords = std::move(*keywords);
  if (std::string date = r.Query("internaldate"); !date.empty()) {
    auto t = ParseInternalDate(date);
    if (!t) {
      return s.Respond(
          Error(400, "internaldate: seconds since 1970, or 2026-11-26T10:00:00Z (or +02:00)"));
    }
    d.internal_date = t->utc;
    d.internal_date_tz = t->tz_minutes;
  }
  std::string normalized;
  services::Outcome prepared =
      services::PrepareMessage(r.body, config.limits.max_message_size, &normalized);
  if (!prepared.ok()) return s.Respond(Error(HttpStatusOfOutcome(prepared), prepared.message()));
  {
    auto view = s.store().Read();
    auto user = view->FindUser(p.at("name"));
    if (!user.ok()) return s.Respond(Error(404, "no such user: " + p.at("name")));
    d.user = user->id;
  }
  d.mailbox = p.at("mailbox");
  d.create_mailbox = true;
  d.bytes = std::make_shared<const std::string>(std::move(normalized));
  d.origin.protocol = "http";
  d.origin.session = s.id();
  d.origin.peer = s.info().peer_ip;
  services::Deliver(s.store(), std::move(d),
                    s.Bind([](HttpSession& s, services::Outcome o, services::Delivered delivered) {
                      if (!o.ok()) return s.Respond(Error(HttpStatusOfOutcome(o), o.message()));
                      Json out;
                      out["uid"] = delivered.result.uid;
                      out["uidl"] = storage::FormatUidl(delivered.result.guid);
                      out["uidvalidity"] = delivered.result.uidvalidity;
                      out["mailbox"] = delivered.mailbox;
                      s.Respond(JsonResponse(201, out));
                    }));
}

// POST /api/v1/reset [{"keep_users": true}]
void ResetRoute(HttpSession& s, Request& r) {
  services::ResetOptions options;
  if (!r.body.empty()) {
    Json body = Json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object() || (body.contains("keep_users") && !body["keep_users"].is_boolean())) {
      return s.Respond(Error(400, "expected {\"keep_users\": true|false}"));
    }
    options.keep_users = body.value("keep_users", false);
  }
  LOG_WARN("http session {}: reset{}", s.id(), options.keep_users ? " (keeping users)" : "");
  services::Reset(s.store(), options,
                  s.Bind([](HttpSession& s, services::Outcome o, services::ResetResult result) {
                    if (!o.ok()) return s.Respond(Error(HttpStatusOfOutcome(o), o.message()));
                    Metrics::Global().ResetCounters();
                    s.Respond(JsonResponse(200, {{"users_deleted", result.users_deleted},
                                                 {"users_kept", result.users_kept}}));
                  }));
}

// One GET .../wait in progress.
struct Waiter {
  storage::Store* store = nullptr;
  std::uint64_t subscription = 0;
  std::uint64_t user_watch = 0;
  bool finished = false;
  std::string user;
  std::string mailbox;
  std::uint64_t count = 1;
  std::string subject;  // folded; empty: any
  std::string from;

  void Finish() {
    if (finished) return;
    finished = true;
    if (subscription) store->Unsubscribe(subscription);
    if (user_watch) store->Unsubscribe(user_watch);
    subscription = user_watch = 0;
  }
};

// The listing when at least `count` messages match, else nullopt.
std::optional<Json> Matches(storage::ReadView& view, const Waiter& w,
                            const storage::UserRecord& user, const storage::MailboxRecord& mb) {
  auto messages = view.ListMessages(mb.id);
  Json list = Json::array();
  for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
    Json m = MessageSummaryJson(view, *it);
    if (!w.subject.empty() &&
        AsciiFold(m["subject"].get<std::string>()).find(w.subject) == std::string::npos) {
      continue;
    }
    if (!w.from.empty() &&
        AsciiFold(m["from"].get<std::string>()).find(w.from) == std::string::npos) {
      continue;
    }
    list.push_back(std::move(m));
  }
  if (list.size() < w.count) return std::nullopt;
  Json out;
  out["user"] = user.name;
  out["mailbox"] = MailboxSummaryJson(mb);
  out["total"] = list.size();
  out["offset"] = 0;
  out["messages"] = std::move(list);
  return out;
}

// Checks once; answers and finishes the wait when it is over.
void Check(HttpSession& s, const std::shared_ptr<Waiter>& w) {
  if (w->finished) return;
  auto view = s.store().Read();
  auto user = view->FindUser(w->user);
  if (!user.ok()) {
    w->Finish();
    return s.Respond(Error(404, "no such user: " + w->user));
  }
  auto mb = view->FindMailbox(user->id, w->mailbox);
  if (!mb.ok()) {
    w->Finish();
    return s.Respond(Error(404, "no such mailbox: " + w->mailbox));
  }
  if (auto out = Matches(*view, *w, *user, *mb)) {
    w->Finish();
    s.Respond(JsonResponse(200, *out));
  }
}

void Wait(HttpSession& s, Request& r, const Params& p) {
  auto count = Number(r.Query("count", "1"), kMaxWaitCount);
  auto timeout = Number(r.Query("timeout", std::to_string(kDefaultWaitSeconds)), 1u << 30);
  if (!count || !timeout) {
    return s.Respond(Error(400, "count (at most " + std::to_string(kMaxWaitCount) +
                                    ") and timeout (seconds) are numbers"));
  }
  auto w = std::make_shared<Waiter>();
  w->store = &s.store();
  w->user = p.at("name");
  w->mailbox = p.at("mailbox");
  w->count = *count;
  w->subject = AsciiFold(r.Query("subject"));
  w->from = AsciiFold(r.Query("from"));
  storage::UserId user_id = 0;
  storage::MailboxId mailbox_id = 0;
  {
    auto view = s.store().Read();
    auto user = view->FindUser(w->user);
    if (!user.ok()) return s.Respond(Error(404, "no such user: " + w->user));
    auto mb = view->FindMailbox(user->id, w->mailbox);
    if (!mb.ok()) return s.Respond(Error(404, "no such mailbox: " + w->mailbox));
    if (auto out = Matches(*view, *w, *user, *mb)) return s.Respond(JsonResponse(200, *out));
    user_id = user->id;
    mailbox_id = mb->id;
  }
  // Woken by the change bus: each commit that touches the mailbox (here or
  // in another process) checks again; no polling.
  w->subscription = s.store().Subscribe(
      mailbox_id, s.Bind([w](HttpSession& s, storage::MailboxId) { Check(s, w); }));
  // The user deleted (a reset, `user del`): the mailbox is gone.
  w->user_watch = s.store().WatchUser(user_id, s.Bind([w](HttpSession& s, storage::UserId) {
    if (w->finished) return;
    w->Finish();
    s.Respond(Error(404, "user deleted while waiting: " + w->user));
  }));
  // A closed connection ends the wait.
  s.SetOnClose([w] { w->Finish(); });
  std::uint64_t seconds = std::min<std::uint64_t>(*timeout, kMaxWaitSeconds);
  auto on_timeout = s.Bind([w, seconds](HttpSession& s) {
    if (w->finished) return;
    w->Finish();
    s.Respond(Error(408, "fewer than " + std::to_string(w->count) + " matching messages after " +
                             std::to_string(seconds) + " s"));
  });
  if (s.ctx().timer) {
    s.ctx().timer(std::chrono::seconds(seconds), [on_timeout, w]() mutable {
      if (!w->finished) on_timeout();
    });
  }
}

}  // namespace

std::size_t KitBodyLimit(const config::Config& config, const http::Request& request) {
  if (request.method != "POST") return http::kMaxBodyBytes;
  auto segments = http::SplitPath(request.path);
  // api v1 users NAME mailboxes MAILBOX messages
  if (segments.size() == 7 && segments[0] == "api" && segments[1] == "v1" &&
      segments[2] == "users" && segments[4] == "mailboxes" && segments[6] == "messages") {
    // PrepareMessage checks the stored form (CRLF) against the same limit.
    return std::max<std::size_t>(http::kMaxBodyBytes,
                                 static_cast<std::size_t>(config.limits.max_message_size));
  }
  return http::kMaxBodyBytes;
}

void AddKitRoutes(http::Router& router, const config::Config& config) {
  router.Add("POST", kSeedPattern,
             [&config](HttpSession& s, Request& r, const Params& p) { Seed(config, s, r, p); });
  router.Add("POST", "/api/v1/reset",
             [](HttpSession& s, Request& r, const Params&) { ResetRoute(s, r); });
  router.Add("GET", "/api/v1/users/{name}/mailboxes/{mailbox}/wait",
             [](HttpSession& s, Request& r, const Params& p) { Wait(s, r, p); });
}

}  // namespace pillarbox::server::api
