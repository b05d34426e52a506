#include "server/http_api.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "common/log.h"
#include "common/metrics.h"
#include "common/strings.h"
#include "protocols/mime/decode.h"
#include "protocols/mime/message.h"
#include "protocols/mime/section.h"
#include "protocols/mime/structure_codec.h"
#include "server/http_api_internal.h"
#include "server/http_events.h"
#include "server/paths.h"
#include "services/users.h"
#include "storage/uidl.h"
#include "web/web_assets.h"

namespace pillarbox::server {
namespace api {

http::Response JsonResponse(int status, const Json& j) {
  http::Response r;
  r.status = status;
  r.body = Dump(j);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

}  // namespace api

namespace {

using api::Json;
using http::HttpSession;
using http::JsonError;
using http::Params;
using http::Request;
using http::Response;

// Messages one listing returns at most (?limit=).
constexpr std::size_t kMaxListLimit = 1000;
constexpr std::size_t kDefaultListLimit = 50;
// Messages a ?q= search looks at per request at most: a bound on the loop
// thread's work (the answer says where to go on from).
constexpr std::size_t kMaxSearchScanned = 1000;
// Message records a ?q= search reads at a time.
constexpr std::size_t kSearchSliceRecords = 200;
// Journal events one request returns at most.
constexpr std::size_t kMaxJournalLimit = 10000;
// Decoded text of a message shown by GET .../messages/{uid}.
constexpr std::size_t kMaxMessageText = 1u << 20;
// Random bytes of a generated token.
constexpr std::size_t kTokenBytes = 32;

Response Error(int status, std::string_view message) { return JsonError(status, message); }

std::string_view Trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// A strict decimal, or nullopt.
std::optional<std::uint64_t> ParseNumber(std::string_view s, std::uint64_t max) {
  std::uint64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v > max) return std::nullopt;
  return v;
}

std::string AddressText(const mime::AddressList& list) {
  std::string out;
  for (const auto& a : list) {
    if (a.kind != mime::Address::Kind::kMailbox) continue;
    std::string addr = a.mailbox.value_or("");
    if (a.host) addr += "@" + *a.host;
    std::string one;
    if (a.name && !a.name->empty()) {
      one = mime::DecodeHeaderValue(*a.name) + " <" + addr + ">";
    } else {
      one = addr;
    }
    out += (out.empty() ? "" : ", ") + one;
  }
  return out;
}

bool IsAttachment(const mime::Part& p) {
  if (p.IsMultipart() || p.IsMessageRfc822()) return false;
  if (p.disposition && EqualsIgnoreAsciiCase(*p.disposition, "attachment")) return true;
  return mime::DecodedParam(p.disposition_params, "filename").has_value() ||
         (!p.IsText() && mime::DecodedParam(p.params, "name").has_value());
}

std::size_t CountAttachments(const mime::Part& p) {
  std::size_t n = IsAttachment(p) ? 1 : 0;
  if (p.IsMultipart()) {
    for (const auto& c : p.children) n += CountAttachments(c);
  }
  return n;
}

std::string ContentType(const mime::Part& p) {
  if (p.type.empty()) return "text/plain";
  return AsciiFold(p.type) + "/" + (p.subtype.empty() ? "octet-stream" : AsciiFold(p.subtype));
}

std::string FileName(const mime::Part& p) {
  if (auto f = mime::DecodedParam(p.disposition_params, "filename")) return *f;
  if (auto f = mime::DecodedParam(p.params, "name")) return *f;
  return "";
}

// The parsed structure of a message (stored at delivery; parsed again only
// when the store has none).
std::optional<mime::Part> StructureOf(storage::ReadView& view, const storage::MessageRecord& m,
                                      std::string_view raw = {}) {
  if (auto st = view.Structure(m.blob); st.ok()) {
    if (auto part = mime::DeserializeStructure(*st); part.ok()) return std::move(*part);
  }
  if (raw.empty()) {
    auto blob = view.Blob(m.blob);
    if (!blob.ok()) return std::nullopt;
    raw = *blob;
  }
  return mime::ParseMessage(raw);
}

Json PartTree(const mime::Part& p, const std::string& section) {
  Json o;
  o["section"] = section;
  o["type"] = ContentType(p);
  o["size"] = p.body_size;
  if (const std::string* cs = p.FindParam("charset")) o["charset"] = *cs;
  std::string name = FileName(p);
  if (!name.empty()) o["filename"] = name;
  if (p.disposition) o["disposition"] = AsciiFold(*p.disposition);
  o["attachment"] = IsAttachment(p);
  if (p.IsMultipart()) {
    Json kids = Json::array();
    for (std::size_t i = 0; i < p.children.size(); ++i) {
      kids.push_back(
          PartTree(p.children[i], (section.empty() ? "" : section + ".") + std::to_string(i + 1)));
    }
    o["parts"] = std::move(kids);
  } else if (p.IsMessageRfc822()) {
    const mime::Part& inner = p.children[0];
    Json kids = Json::array();
    if (inner.IsMultipart()) {
      for (std::size_t i = 0; i < inner.children.size(); ++i) {
        kids.push_back(PartTree(inner.children[i], section + "." + std::to_string(i + 1)));
      }
    } else {
      kids.push_back(PartTree(inner, section + ".1"));
    }
    o["parts"] = std::move(kids);
  }
  return o;
}

// The first text/plain part that is not an attachment (else text/html).
const mime::Part* MainText(const mime::Part& p, bool html) {
  if (p.IsMultipart()) {
    for (const auto& c : p.children) {
      if (const mime::Part* t = MainText(c, html)) return t;
    }
    return nullptr;
  }
  if (p.IsMessageRfc822() || IsAttachment(p) || !p.IsText()) return nullptr;
  bool is_html = EqualsIgnoreAsciiCase(p.subtype, "html");
  return is_html == html ? &p : nullptr;
}

std::string DecodedBody(std::string_view raw, const mime::Part& p) {
  std::string body =
      mime::DecodeTransferEncoding(mime::Slice(raw, p.body_offset, p.body_size), p.encoding);
  if (p.IsText()) {
    const std::string* cs = p.FindParam("charset");
    body = mime::ConvertToUtf8(body, cs ? *cs : "utf-8");
  }
  return body;
}

Json UserJson(const storage::UserRecord& u) {
  Json o;
  o["name"] = u.name;
  o["created"] = api::IsoTime(u.created);
  o["used_bytes"] = u.used_bytes;
  o["used_messages"] = u.used_messages;
  o["quota_bytes"] = u.quota_bytes;
  o["quota_messages"] = u.quota_messages;
  o["settings"] = u.settings;
  return o;
}

Json MailboxJson(const storage::MailboxRecord& mb) {
  Json o;
  o["name"] = mb.name;
  std::string_view use = storage::SpecialUseName(mb.special_use);
  o["special_use"] = use.empty() ? Json(nullptr) : Json(std::string(use));
  o["messages"] = mb.messages;
  o["unseen"] = mb.unseen;
  o["deleted"] = mb.deleted;
  o["size"] = mb.size;
  o["uidvalidity"] = mb.uidvalidity;
  o["uidnext"] = mb.uidnext;
  o["highest_modseq"] = mb.highest_modseq;
  return o;
}

// The summary of one message for listings. `inbox_row`: its row of the
// INBOX view (POP3 sees INBOX only; elsewhere pop3_state is null).
Json MessageJson(storage::ReadView& view, const storage::MessageRecord& m,
                 const services::InboxRow* inbox_row, const mime::Part* structure) {
  Json o;
  o["uid"] = m.uid;
  o["uidl"] = storage::MessageUidl(m);
  std::optional<mime::Part> own;
  if (structure == nullptr) {
    own = StructureOf(view, m);
    if (own) structure = &*own;
  }
  const mime::Envelope* env = structure ? structure->envelope.get() : nullptr;
  o["from"] = env ? AddressText(env->from) : "";
  o["to"] = env ? AddressText(env->to) : "";
  o["subject"] = env && env->subject ? mime::DecodeHeaderValue(*env->subject) : "";
  o["date"] = env && env->date ? *env->date : "";
  o["internal_date"] = api::IsoTime(m.internal_date);
  o["size"] = m.size;
  o["flags"] = api::FlagNames(m.flags);
  o["attachments"] = structure ? CountAttachments(*structure) : 0;
  if (inbox_row) {
    o["pop3_state"] = api::Pop3State(*inbox_row);
    o["delete_pending_session"] =
        inbox_row->pending_session ? Json(inbox_row->pending_session) : Json(nullptr);
  } else {
    o["pop3_state"] = nullptr;
  }
  o["pop3_retrieved"] = m.pop3.retrieved ? Json(api::IsoTime(m.pop3.retrieved)) : Json(nullptr);
  return o;
}

// A message that left the INBOX (?include=gone, or GET of its old UID): what
// the journal knows, and where it is now when it moved and still exists.
Json GoneMessageJson(storage::ReadView& view, const services::InboxView& inbox,
                     const storage::JournalEvent& ev) {
  services::Departure d = services::DepartureOf(ev);
  Json o;
  std::optional<storage::MessageRecord> now;
  if (d.moved && d.uid != 0) {
    if (auto mb = view.FindMailbox(inbox.user.id, d.mailbox); mb.ok()) {
      if (auto m = view.GetMessage(mb->id, d.uid); m.ok() && m->guid == ev.guid) now = *m;
    }
  }
  if (now) {
    o = MessageJson(view, *now, nullptr, nullptr);
  } else {
    o["uid"] = nullptr;
    o["uidl"] = storage::FormatUidl(ev.guid);
    o["from"] = "";
    o["to"] = "";
    o["subject"] = ev.subject;
    o["date"] = "";
    o["internal_date"] = nullptr;
    o["size"] = nullptr;
    o["flags"] = Json::array();
    o["attachments"] = 0;
    o["pop3_retrieved"] = nullptr;
  }
  auto uid = inbox.gone_inbox_uids.find(ev.guid);
  o["uid"] = uid == inbox.gone_inbox_uids.end() ? Json(nullptr) : Json(uid->second);
  o["pop3_state"] = d.moved ? "moved" : "expunged";
  o["delete_pending_session"] = nullptr;
  o["moved_to"] = d.moved ? Json({{"mailbox", d.mailbox}, {"uid", d.uid ? Json(d.uid) : Json()}})
                          : Json(nullptr);
  o["gone"] = api::JournalEventJson(ev);
  return o;
}

// The journal events of one message (by GUID, which survives a MOVE).
Json LifeOf(storage::ReadView& view, const config::Config& config, storage::UserId user,
            std::uint64_t guid) {
  Json life = Json::array();
  for (const auto& ev :
       view.Journal(user, 0, std::max<std::uint64_t>(config.journal.max_events_per_user, 1))) {
    if (ev.guid == guid) life.push_back(api::JournalEventJson(ev));
  }
  return life;
}

// What ?q= looks in: subject, sender and recipients as MessageJson shows
// them, folded.
std::string SearchText(const mime::Part* structure) {
  const mime::Envelope* env = structure ? structure->envelope.get() : nullptr;
  if (env == nullptr) return "\n\n";
  return AsciiFold((env->subject ? mime::DecodeHeaderValue(*env->subject) : std::string()) + "\n" +
                   AddressText(env->from) + "\n" + AddressText(env->to));
}

std::optional<storage::UserRecord> FindUserOr404(HttpSession& s, storage::ReadView& view,
                                                 const std::string& name);

// GET .../messages?offset=&limit=&q=&before=&include=gone: a page of a
// mailbox, newest first, then (include=gone, INBOX only) what left INBOX,
// latest first. The work is the page's, not the mailbox's: the records come
// from a ranged read (ReadView::ListMessagesNewestFirst), POP3 states from
// the journal of live POP3 sessions only (InboxRowsOf), and a search looks
// at kMaxSearchScanned messages at most, newest first, stopping when the
// page is full. Only include=gone reads the user's journal whole, and only
// when the page reaches past the messages.
//
// `total`: the length of the whole listing (without `before`), exact when
// `total_exact` is. A listing with include=gone whose page ends among the
// messages counts the messages only (the rows that left INBOX need the
// journal read). A search knows it only when it looked at everything;
// otherwise `total` is what it found so far (a lower bound) and `next` says
// how to go on: the same request with `before` and `offset` from it.
void ListMessages(HttpSession& s, Request& r, const Params& p, const config::Config& config) {
  auto offset = ParseNumber(r.Query("offset", "0"), 1u << 31);
  auto limit = ParseNumber(r.Query("limit", std::to_string(kDefaultListLimit)), kMaxListLimit);
  if (!offset || !limit) {
    return s.Respond(Error(
        400, "offset and limit are numbers (limit at most " + std::to_string(kMaxListLimit) + ")"));
  }
  std::optional<std::uint64_t> before = 0;
  if (std::string b = r.Query("before"); !b.empty()) {
    before = ParseNumber(b, 0xffffffffu);
    if (!before || *before == 0) {
      return s.Respond(Error(400, "before is a UID from 1 to 4294967295"));
    }
  }
  std::string include = r.Query("include");
  if (!include.empty() && include != "gone") {
    return s.Respond(Error(400, "include is \"gone\" or absent"));
  }
  std::string q = AsciiFold(r.Query("q"));
  if (*before != 0 && include == "gone" && q.empty()) {
    return s.Respond(Error(400, "before goes with include=gone only in a search (q=)"));
  }
  auto view = s.store().Read();
  auto u = FindUserOr404(s, *view, p.at("name"));
  if (!u) return;
  auto mb = view->FindMailbox(u->id, p.at("mailbox"));
  if (!mb.ok()) return s.Respond(Error(404, "no such mailbox: " + p.at("mailbox")));
  const bool inbox = mb->name == "INBOX";
  const auto below = static_cast<storage::Uid>(*before);

  // INBOX with include=gone: what left it, from the journal; read only when
  // the page reaches past the messages (it reads the whole journal).
  const bool want_gone = inbox && include == "gone";
  services::InboxView gone;
  auto load_gone = [&] {
    gone.user = *u;
    gone.inbox = *mb;
    services::BuildInboxGone(*view, config, &gone);
  };

  // The page's records (with their parsed structure when a search had to
  // parse it anyway), then the gone rows of the page.
  std::vector<storage::MessageRecord> page;
  std::vector<std::optional<mime::Part>> structures;
  std::vector<Json> gone_page;
  Json out;
  if (q.empty()) {
    if (*offset < mb->messages) {
      page = view->ListMessagesNewestFirst(mb->id, below, *offset, *limit);
    }
    structures.resize(page.size());
    const bool gone_read = want_gone && page.size() < *limit;
    if (gone_read) load_gone();
    if (page.size() < *limit && !gone.gone.empty()) {
      // Past the messages (no `before` here): the gone rows, latest first.
      std::size_t skip = *offset > mb->messages ? *offset - mb->messages : 0;
      for (auto it = gone.gone.rbegin() + std::min(skip, gone.gone.size());
           it != gone.gone.rend() && page.size() + gone_page.size() < *limit; ++it) {
        gone_page.push_back(GoneMessageJson(*view, gone, *it));
      }
    }
    // Without the journal read, the rows that left INBOX are not counted.
    out["total"] = mb->messages + gone.gone.size();
    out["total_exact"] = !want_gone || gone_read;
    out["next"] = nullptr;
  } else {
    std::size_t to_skip = *offset;
    std::size_t found = 0;  // matches seen, the skipped ones included
    std::size_t scanned = 0;
    std::size_t gone_found = 0;  // matches among the gone rows
    storage::Uid next_below = below;
    bool messages_done = below == 1;
    bool full = false;
    auto take = [&]() {
      ++found;
      if (to_skip > 0) {
        --to_skip;
        return false;
      }
      return true;
    };
    while (!messages_done && !full && scanned < kMaxSearchScanned) {
      std::size_t want = std::min(kSearchSliceRecords, kMaxSearchScanned - scanned);
      auto slice = view->ListMessagesNewestFirst(mb->id, next_below, 0, want);
      if (slice.size() < want) messages_done = true;
      for (std::size_t i = 0; i < slice.size(); ++i) {
        ++scanned;
        next_below = slice[i].uid;
        std::optional<mime::Part> st = StructureOf(*view, slice[i]);
        if (SearchText(st ? &*st : nullptr).find(q) != std::string::npos && take()) {
          page.push_back(std::move(slice[i]));
          structures.push_back(std::move(st));
          if (page.size() >= *limit) {
            full = true;
            // The rest of the slice was not looked at.
            messages_done = messages_done && i + 1 == slice.size();
            break;
          }
        }
      }
    }
    // The gone rows are bounded by the journal, not by kMaxSearchScanned
    // (a continuation starts them over).
    bool gone_done = !want_gone;
    if (want_gone && messages_done && !full) {
      load_gone();
      gone_done = true;
      for (auto it = gone.gone.rbegin(); it != gone.gone.rend(); ++it) {
        if (page.size() + gone_page.size() >= *limit) {
          gone_done = false;
          break;
        }
        Json m = GoneMessageJson(*view, gone, *it);
        std::string hay =
            AsciiFold(m["subject"].get<std::string>() + "\n" + m["from"].get<std::string>() + "\n" +
                      m["to"].get<std::string>());
        if (hay.find(q) == std::string::npos) continue;
        ++gone_found;
        if (take()) gone_page.push_back(std::move(m));
      }
    }
    const bool everything = messages_done && gone_done;
    out["total"] = found;
    out["total_exact"] = everything && below == 0;
    out["scanned"] = scanned;
    if (everything) {
      out["next"] = nullptr;
    } else if (!messages_done) {
      out["next"] = {{"before", next_below}, {"offset", to_skip}};
    } else {
      // Stopped at the gone rows: they start over after every message.
      out["next"] = {{"before", 1}, {"offset", gone_found + to_skip}};
    }
  }

  Json list = Json::array();
  if (inbox) {
    auto rows = services::InboxRowsOf(*view, config, u->id, std::move(page));
    for (std::size_t i = 0; i < rows.size(); ++i) {
      list.push_back(
          MessageJson(*view, rows[i].message, &rows[i], structures[i] ? &*structures[i] : nullptr));
    }
  } else {
    for (std::size_t i = 0; i < page.size(); ++i) {
      list.push_back(
          MessageJson(*view, page[i], nullptr, structures[i] ? &*structures[i] : nullptr));
    }
  }
  for (auto& g : gone_page) list.push_back(std::move(g));
  out["user"] = u->name;
  out["mailbox"] = MailboxJson(*mb);
  out["offset"] = *offset;
  out["messages"] = std::move(list);
  s.Respond(api::JsonResponse(200, out));
}

std::string CookieValue(const std::string& header, std::string_view name) {
  std::string_view rest = header;
  while (!rest.empty()) {
    std::size_t semi = rest.find(';');
    std::string_view item = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    if (item.size() > name.size() && item.substr(0, name.size()) == name &&
        item[name.size()] == '=') {
      return std::string(item.substr(name.size() + 1));
    }
  }
  return "";
}

bool SameSecret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && !a.empty() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// The user of a route, or an answer already sent.
std::optional<storage::UserRecord> FindUserOr404(HttpSession& s, storage::ReadView& view,
                                                 const std::string& name) {
  auto u = view.FindUser(name);
  if (!u.ok()) {
    s.Respond(Error(404, "no such user: " + name));
    return std::nullopt;
  }
  return std::move(*u);
}

}  // namespace

namespace api {
Json MessageSummaryJson(storage::ReadView& view, const storage::MessageRecord& m) {
  return MessageJson(view, m, nullptr, nullptr);
}
Json MailboxSummaryJson(const storage::MailboxRecord& mb) { return MailboxJson(mb); }
}  // namespace api

Result<HttpToken> LoadOrCreateHttpToken(const config::Config& config) {
  HttpToken t;
  t.path = config.http.token_file.empty() ? config.server.data_dir + "/http-token"
                                          : config.http.token_file;
  std::ifstream in(t.path);
  if (in) {
    std::stringstream ss;
    ss << in.rdbuf();
    t.token = std::string(Trim(ss.str()));
    if (t.token.empty()) return Status::InvalidArgument("http.token_file: " + t.path + " is empty");
    return t;
  }
  unsigned char raw[kTokenBytes];
  if (RAND_bytes(raw, sizeof raw) != 1)
    return Status::Internal("http: no random bytes for a token");
  static const char kHex[] = "0123456789abcdef";
  for (unsigned char c : raw) {
    t.token += kHex[c >> 4];
    t.token += kHex[c & 15];
  }
  int fd = ::open(t.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status::IOError("http.token_file: cannot create " + t.path + ": " +
                           std::strerror(errno));
  }
  std::string line = t.token + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok) return Status::IOError("http.token_file: cannot write " + t.path);
  t.generated = true;
  return t;
}

HttpApi::HttpApi(const config::Config& config, std::string token)
    : config_(config), token_(std::move(token)) {
  AddRoutes();
}

protocols::SessionFactory HttpApi::Factory() {
  return [this](protocols::SessionContext& ctx, protocols::ConnectionInfo& info,
                protocols::SessionOutput& out) -> std::unique_ptr<protocols::Session> {
    auto session = std::make_unique<http::HttpSession>(
        ctx, info, out, [this](HttpSession& s, Request& r) { Handle(s, r); });
    session->SetBodyLimit([this](const Request& r) { return api::KitBodyLimit(config_, r); });
    return session;
  };
}

bool HttpApi::Authorized(const Request& r) const {
  if (config_.http.auth == "none") return true;
  if (const std::string* h = r.Header("authorization")) {
    if (StartsWithIgnoreAsciiCase(*h, "Bearer ")) {
      return SameSecret(Trim(std::string_view(*h).substr(7)), token_);
    }
  }
  if (const std::string* c = r.Header("cookie")) {
    return SameSecret(CookieValue(*c, kTokenCookie), token_);
  }
  return false;
}

void HttpApi::Handle(HttpSession& s, Request& r) {
  LOG_DEBUG("http session {}: {} {}", s.id(), r.method, LogSafe(r.target));
  if (r.path == "/healthz") {
    bool up = !hooks_.healthy || hooks_.healthy();
    if (r.method != "GET") return s.Respond(Error(405, "use GET"));
    return s.Respond(api::JsonResponse(up ? 200 : 503, {{"status", up ? "ok" : "unavailable"}}));
  }
  if (r.path == "/metrics") {
    if (r.method != "GET") return s.Respond(Error(405, "use GET"));
    Response resp;
    resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
    resp.body = Metrics::Global().RenderPrometheus();
    return s.Respond(std::move(resp));
  }
  if (!r.path.starts_with("/api/")) {
    if (r.method != "GET") return s.Respond(Error(405, "use GET"));
    std::string path = r.path == "/" ? "/index.html" : r.path;
    const web::Asset* a = web::FindAsset(path);
    if (a == nullptr) return s.Respond(Error(404, "not found"));
    Response resp;
    resp.content_type = std::string(a->content_type);
    resp.body = std::string(a->bytes);
    resp.headers.emplace_back("Cache-Control", "no-cache");
    resp.headers.emplace_back("Content-Security-Policy",
                              "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                              "base-uri 'none'; form-action 'self'");
    resp.headers.emplace_back("Referrer-Policy", "no-referrer");
    return s.Respond(std::move(resp));
  }
  auto match = router_.Find(r.method, r.path);
  bool open = r.path == "/api/v1/login" || r.path == "/api/v1/logout";
  if (!open && !Authorized(r)) {
    Response resp = Error(401, "missing or wrong token (Authorization: Bearer TOKEN)");
    resp.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"pillarbox\"");
    return s.Respond(std::move(resp));
  }
  if (match.fn == nullptr) {
    if (match.status == 405) {
      Response resp = Error(405, "method not allowed; use " + match.allow);
      resp.headers.emplace_back("Allow", match.allow);
      return s.Respond(std::move(resp));
    }
    return s.Respond(Error(404, "no such endpoint: " + r.method + " " + r.path));
  }
  (*match.fn)(s, r, match.params);
}

void AddDevRoutes(http::Router& router);  // http_api_dev.cpp

void HttpApi::AddRoutes() {
  const config::Config& config = config_;
  api::AddKitRoutes(router_, config);
  AddDevRoutes(router_);

  // --- the console's login: the token becomes an HttpOnly cookie -------------
  router_.Add("POST", "/api/v1/login", [this](HttpSession& s, Request& r, const Params&) {
    Json body = Json::parse(r.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("token") ||
        !body["token"].is_string()) {
      return s.Respond(Error(400, "expected {\"token\": \"...\"}"));
    }
    std::string token = body["token"];
    if (config_.http.auth != "none" && !SameSecret(Trim(token), token_)) {
      return s.Respond(Error(401, "wrong token"));
    }
    Response resp;
    resp.status = 204;
    std::string cookie = std::string(kTokenCookie) + "=" + std::string(Trim(token)) +
                         "; Path=/; HttpOnly; SameSite=Strict";
    if (s.info().tls_active) cookie += "; Secure";
    resp.headers.emplace_back("Set-Cookie", cookie);
    s.Respond(std::move(resp));
  });
  router_.Add("POST", "/api/v1/logout", [](HttpSession& s, Request&, const Params&) {
    Response resp;
    resp.status = 204;
    resp.headers.emplace_back("Set-Cookie", std::string(kTokenCookie) +
                                                "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
    s.Respond(std::move(resp));
  });

  // --- users ---------------------------------------------------------------------
  router_.Add("GET", "/api/v1/users", [](HttpSession& s, Request&, const Params&) {
    auto view = s.store().Read();
    Json users = Json::array();
    for (const auto& u : view->ListUsers()) users.push_back(UserJson(u));
    s.Respond(api::JsonResponse(200, {{"users", std::move(users)}}));
  });

  router_.Add("POST", "/api/v1/users", [this](HttpSession& s, Request& r, const Params&) {
    Json body = Json::parse(r.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      return s.Respond(Error(400, "the body is not a JSON object"));
    }
    if (!body.contains("name") || !body["name"].is_string()) {
      return s.Respond(Error(400, "expected {\"name\": ..., \"password\" or \"hash\": ...}"));
    }
    std::string name = body["name"];
    bool has_password = body.contains("password") && body["password"].is_string();
    bool has_hash = body.contains("hash") && body["hash"].is_string();
    if (has_password == has_hash) {
      return s.Respond(Error(400, "give exactly one of \"password\" and \"hash\""));
    }
    if (auto o = services::CheckNewUserName(name); !o.ok()) {
      return s.Respond(api::OutcomeError(s.id(), o));
    }
    if (storage::UserRecord u; services::FindUser(s.store(), name, &u).ok()) {
      return s.Respond(Error(409, "the user already exists: " + u.name));
    }
    // Hashing (or probing an imported hash) is slow by design: off the loop.
    struct Secret {
      std::string text;  // the password or the imported hash
      std::string hash;  // what is stored
      services::Outcome outcome;
    };
    auto secret = std::make_shared<Secret>();
    secret->text = has_password ? body["password"] : body["hash"];
    auto work = [secret, has_password] {
      if (has_password) {
        secret->outcome = services::HashNewPassword(secret->text, &secret->hash);
      } else {
        secret->outcome = services::CheckImportedHash(secret->text);
        secret->hash = secret->text;
      }
      std::fill(secret->text.begin(), secret->text.end(), '\0');
    };
    auto done = s.Bind([secret, name](HttpSession& s) {
      if (!secret->outcome.ok()) return s.Respond(api::OutcomeError(s.id(), secret->outcome));
      services::AddUser(s.store(), name, std::move(secret->hash),
                        s.Bind([](HttpSession& s, services::Outcome o, storage::UserRecord u) {
                          if (!o.ok()) return s.Respond(api::OutcomeError(s.id(), o));
                          LOG_INFO("http session {}: user {} added", s.id(), LogSafe(u.name));
                          s.Respond(api::JsonResponse(201, UserJson(u)));
                        }));
    });
    if (hooks_.offload) {
      hooks_.offload(std::move(work), std::move(done));
    } else {
      work();
      done();
    }
  });

  router_.Add("DELETE", "/api/v1/users/{name}", [](HttpSession& s, Request&, const Params& p) {
    std::string name = p.at("name");
    services::DeleteUser(s.store(), name, s.Bind([name](HttpSession& s, services::Outcome o) {
      if (!o.ok()) {
        if (o.code() == services::Code::kNoSuchUser) o = {o.code(), "no such user: " + name};
        return s.Respond(api::OutcomeError(s.id(), o));
      }
      LOG_INFO("http session {}: user {} deleted", s.id(), LogSafe(name));
      Response resp;
      resp.status = 204;
      s.Respond(std::move(resp));
    }));
  });

  auto settings_json = [&config](const storage::UserRecord& u) {
    const config::Config effective = config::UserConfig(config, u.settings, nullptr);
    const services::DeleteModeInEffect mode = services::DeleteModeOf(config, u);
    Json o;
    o["user"] = u.name;
    o["settings"] = u.settings;
    o["effective"] = {
        {"pop3.delete_mode", config::FormatPop3DeleteMode(effective.pop3.delete_mode)},
        {"pop3.mark_seen_on_retr", effective.pop3.mark_seen_on_retr}};
    o["keys"] = config::UserSettingKeys();
    o["pop3_delete_mode"] = api::DeleteModeJson(mode);
    o["pop3_delete_mode_explained"] = api::DeleteModeSentence(mode);
    return o;
  };
  router_.Add("GET", "/api/v1/users/{name}/settings",
              [settings_json](HttpSession& s, Request&, const Params& p) {
                auto view = s.store().Read();
                auto u = FindUserOr404(s, *view, p.at("name"));
                if (!u) return;
                s.Respond(api::JsonResponse(200, settings_json(*u)));
              });
  router_.Add(
      "PATCH", "/api/v1/users/{name}/settings",
      [settings_json](HttpSession& s, Request& r, const Params& p) {
        Json body = Json::parse(r.body, nullptr, false);
        if (body.is_discarded() || !body.is_object() || body.empty()) {
          return s.Respond(Error(
              400, "expected a JSON object of settings, e.g. {\"pop3.delete_mode\": \"hide\"}"));
        }
        std::vector<services::SettingChange> changes;
        for (const auto& [key, value] : body.items()) {
          std::string text;
          if (value.is_null()) {
            text = "";
          } else if (value.is_string()) {
            text = value.get<std::string>();
          } else if (value.is_boolean()) {
            text = value.get<bool>() ? "true" : "false";
          } else {
            return s.Respond(Error(400, key + ": expected a string, a boolean or null"));
          }
          // The service's check, for every key before any is stored.
          services::SettingChange change;
          auto o = key.find('=') == std::string::npos
                       ? services::ParseSetting(key + "=" + text, &change)
                       : services::Outcome(services::Code::kBadInput, key + ": unknown key");
          if (!o.ok()) return s.Respond(api::OutcomeError(s.id(), o));
          changes.push_back(std::move(change));
        }
        std::string name = p.at("name");
        {
          auto view = s.store().Read();
          auto u = FindUserOr404(s, *view, name);
          if (!u) return;
          name = u->name;
        }
        // Mutations complete in the order submitted: answer after the last.
        auto left = std::make_shared<std::size_t>(changes.size());
        auto failed = std::make_shared<services::Outcome>();
        for (auto& change : changes) {
          services::SetUserSetting(
              s.store(), name, std::move(change.key), std::move(change.value),
              s.Bind([left, failed, name, settings_json](HttpSession& s, services::Outcome o,
                                                         services::SettingChange) {
                if (!o.ok() && failed->ok()) *failed = std::move(o);
                if (--*left > 0) return;
                if (!failed->ok()) return s.Respond(api::OutcomeError(s.id(), *failed));
                auto view = s.store().Read();
                auto u = FindUserOr404(s, *view, name);
                if (!u) return;
                s.Respond(api::JsonResponse(200, settings_json(*u)));
              }));
        }
      });

  // --- mailboxes and messages ------------------------------------------------------
  router_.Add("GET", "/api/v1/users/{name}/mailboxes",
              [](HttpSession& s, Request&, const Params& p) {
                auto view = s.store().Read();
                auto u = FindUserOr404(s, *view, p.at("name"));
                if (!u) return;
                Json list = Json::array();
                for (const auto& mb : view->ListMailboxes(u->id)) list.push_back(MailboxJson(mb));
                s.Respond(api::JsonResponse(200, {{"user", u->name}, {"mailboxes", list}}));
              });

  router_.Add(
      "GET", "/api/v1/users/{name}/mailboxes/{mailbox}/messages",
      [&config](HttpSession& s, Request& r, const Params& p) { ListMessages(s, r, p, config); });

  // The message of a route, with its view; nullopt when answered (404).
  // With `inbox_config`, a message of INBOX also gets its row of the
  // services' INBOX view, and a UID that left INBOX is found in the journal
  // (`gone`) instead of answering 404.
  struct Found {
    std::unique_ptr<storage::ReadView> view;
    storage::UserRecord user;
    storage::MailboxRecord mailbox;
    storage::MessageRecord message;
    services::InboxView inbox;
    const services::InboxRow* inbox_row = nullptr;
    const storage::JournalEvent* gone = nullptr;  // into inbox.gone
  };
  auto find_message = [](HttpSession& s, const Params& p,
                         const config::Config* inbox_config) -> std::optional<Found> {
    Found f;
    f.view = s.store().Read();
    auto u = FindUserOr404(s, *f.view, p.at("name"));
    if (!u) return std::nullopt;
    f.user = std::move(*u);
    auto mb = f.view->FindMailbox(f.user.id, p.at("mailbox"));
    if (!mb.ok()) {
      s.Respond(Error(404, "no such mailbox: " + p.at("mailbox")));
      return std::nullopt;
    }
    f.mailbox = std::move(*mb);
    auto uid = ParseNumber(p.at("uid"), 0xffffffffu);
    if (!uid || *uid == 0) {
      s.Respond(Error(400, "a UID is a number from 1 to 4294967295"));
      return std::nullopt;
    }
    auto m = f.view->GetMessage(f.mailbox.id, static_cast<storage::Uid>(*uid));
    if (inbox_config && f.mailbox.name == "INBOX") {
      auto o = services::BuildInboxView(s.store(), *inbox_config, f.user.name, &f.inbox);
      if (!o.ok()) {
        s.Respond(api::OutcomeError(s.id(), o));
        return std::nullopt;
      }
      for (const auto& row : f.inbox.rows) {
        if (m.ok() && row.message.uid == m->uid) f.inbox_row = &row;
      }
      for (const auto& ev : f.inbox.gone) {
        auto was = f.inbox.gone_inbox_uids.find(ev.guid);
        if (!m.ok() && was != f.inbox.gone_inbox_uids.end() && was->second == *uid) f.gone = &ev;
      }
      if (f.gone) return f;
    }
    if (!m.ok()) {
      s.Respond(Error(404, "no message with UID " + p.at("uid") + " in " + f.mailbox.name));
      return std::nullopt;
    }
    f.message = std::move(*m);
    return f;
  };

  router_.Add("GET", "/api/v1/users/{name}/mailboxes/{mailbox}/messages/{uid}",
              [find_message, &config](HttpSession& s, Request&, const Params& p) {
                auto f = find_message(s, p, &config);
                if (!f) return;
                if (f->gone) {
                  Json o = GoneMessageJson(*f->view, f->inbox, *f->gone);
                  o["mailbox"] = f->mailbox.name;
                  o["journal"] = LifeOf(*f->view, config, f->user.id, f->gone->guid);
                  return s.Respond(api::JsonResponse(200, o));
                }
                auto blob = f->view->Blob(f->message.blob);
                if (!blob.ok()) return s.Respond(Error(503, "the message's bytes cannot be read"));
                auto structure = StructureOf(*f->view, f->message, *blob);
                Json o = MessageJson(*f->view, f->message, f->inbox_row,
                                     structure ? &*structure : nullptr);
                o["mailbox"] = f->mailbox.name;
                if (structure) {
                  const mime::Envelope* env = structure->envelope.get();
                  if (env) {
                    o["cc"] = AddressText(env->cc);
                    o["reply_to"] = AddressText(env->reply_to);
                    o["message_id"] = env->message_id.value_or("");
                  }
                  o["structure"] = PartTree(*structure, structure->IsMultipart() ? "" : "1");
                  Json atts = Json::array();
                  std::function<void(const mime::Part&, const std::string&)> walk =
                      [&](const mime::Part& part, const std::string& section) {
                        if (part.IsMultipart()) {
                          for (std::size_t i = 0; i < part.children.size(); ++i) {
                            walk(part.children[i],
                                 (section.empty() ? "" : section + ".") + std::to_string(i + 1));
                          }
                        } else if (IsAttachment(part)) {
                          atts.push_back({{"section", section.empty() ? "1" : section},
                                          {"filename", FileName(part)},
                                          {"type", ContentType(part)},
                                          {"size", part.body_size}});
                        }
                      };
                  walk(*structure, "");
                  o["attachment_parts"] = std::move(atts);
                  if (const mime::Part* t = MainText(*structure, false)) {
                    std::string text = DecodedBody(*blob, *t);
                    if (text.size() > kMaxMessageText) text.resize(kMaxMessageText);
                    o["text"] = text;
                  } else if (const mime::Part* h = MainText(*structure, true)) {
                    std::string html = DecodedBody(*blob, *h);
                    if (html.size() > kMaxMessageText) html.resize(kMaxMessageText);
                    o["html"] = html;
                  }
                }
                o["journal"] = LifeOf(*f->view, config, f->user.id, f->message.guid);
                s.Respond(api::JsonResponse(200, o));
              });

  router_.Add("GET", "/api/v1/users/{name}/mailboxes/{mailbox}/messages/{uid}/raw",
              [find_message](HttpSession& s, Request&, const Params& p) {
                auto f = find_message(s, p, nullptr);
                if (!f) return;
                auto blob = f->view->Blob(f->message.blob);
                if (!blob.ok()) return s.Respond(Error(503, "the message's bytes cannot be read"));
                Response resp;
                resp.content_type = "message/rfc822";
                resp.body = std::string(*blob);
                resp.headers.emplace_back(
                    "Content-Disposition",
                    "attachment; filename=\"" + std::to_string(f->message.uid) + ".eml\"");
                resp.headers.emplace_back("Content-Security-Policy", "sandbox");
                s.Respond(std::move(resp));
              });

  router_.Add(
      "GET", "/api/v1/users/{name}/mailboxes/{mailbox}/messages/{uid}/parts/{section}",
      [find_message](HttpSession& s, Request& r, const Params& p) {
        std::vector<std::uint32_t> path;
        std::string_view sec = p.at("section");
        while (!sec.empty()) {
          std::size_t dot = sec.find('.');
          auto n = ParseNumber(sec.substr(0, dot), 100000);
          if (!n || *n == 0) return s.Respond(Error(400, "a section is like 1 or 2.1"));
          path.push_back(static_cast<std::uint32_t>(*n));
          if (dot == std::string_view::npos) break;
          sec.remove_prefix(dot + 1);
          if (sec.empty()) return s.Respond(Error(400, "a section is like 1 or 2.1"));
        }
        if (path.empty()) return s.Respond(Error(400, "a section is like 1 or 2.1"));
        auto f = find_message(s, p, nullptr);
        if (!f) return;
        auto blob = f->view->Blob(f->message.blob);
        if (!blob.ok()) return s.Respond(Error(503, "the message's bytes cannot be read"));
        auto structure = StructureOf(*f->view, f->message, *blob);
        const mime::Part* part = structure ? mime::FindPart(*structure, path) : nullptr;
        if (part == nullptr) return s.Respond(Error(404, "no part " + p.at("section")));
        Response resp;
        resp.content_type = ContentType(*part);
        if (part->IsText()) resp.content_type += "; charset=utf-8";
        resp.body = part->IsMultipart()
                        ? std::string(mime::Slice(*blob, part->body_offset, part->body_size))
                        : DecodedBody(*blob, *part);
        std::string name = FileName(*part);
        if (IsAttachment(*part) || r.Query("download") == "1") {
          std::string safe;
          for (char c : name)
            safe += (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) ? '_' : c;
          if (safe.empty()) safe = "part-" + p.at("section");
          resp.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + safe + "\"");
        }
        // A part is the sender's content: never run it as this origin's page.
        resp.headers.emplace_back("Content-Security-Policy", "sandbox");
        s.Respond(std::move(resp));
      });

  // --- journal, views, sessions, events -------------------------------------------
  router_.Add(
      "GET", "/api/v1/users/{name}/journal", [](HttpSession& s, Request& r, const Params& p) {
        auto since = ParseNumber(r.Query("since", "0"), 1ull << 40);
        auto limit = ParseNumber(r.Query("limit", "1000"), kMaxJournalLimit);
        if (!since || !limit || *limit == 0) {
          return s.Respond(
              Error(400, "since is a Unix time; limit 1 to " + std::to_string(kMaxJournalLimit)));
        }
        auto view = s.store().Read();
        auto u = FindUserOr404(s, *view, p.at("name"));
        if (!u) return;
        Json events = Json::array();
        services::JournalReader reader(u->id, static_cast<storage::UnixTime>(*since), *limit);
        for (const auto& ev : reader.Next(*view)) events.push_back(api::JournalEventJson(ev));
        s.Respond(api::JsonResponse(200, {{"user", u->name}, {"events", events}}));
      });

  router_.Add(
      "GET", "/api/v1/users/{name}/views", [&config](HttpSession& s, Request&, const Params& p) {
        services::InboxView v;
        if (auto o = services::BuildInboxView(s.store(), config, p.at("name"), &v); !o.ok()) {
          return s.Respond(api::OutcomeError(s.id(), o));
        }
        s.Respond(api::JsonResponse(200, api::ViewsJson(v)));
      });

  router_.Add("GET", "/api/v1/sessions", [](HttpSession& s, Request&, const Params&) {
    auto view = s.store().Read();
    Json list = Json::array();
    for (const auto& ls : view->LiveSessions(0)) {
      auto u = view->GetUser(ls.user);
      // Stored with the session (any process); this process's own sessions
      // also answer for themselves (an ID not yet committed).
      std::string client = ls.client_id;
      if (auto* live = s.ctx().registry->Find(ls.id); live && client.empty()) {
        client = live->ClientId();
      }
      list.push_back({{"session", ls.id},
                      {"protocol", ls.protocol},
                      {"user", u.ok() ? u->name : ""},
                      {"peer", ls.peer},
                      {"client_id", client},
                      {"mailbox", ls.mailbox},
                      {"holds_pop3_lock", ls.holds_pop3_lock},
                      {"since", api::IsoTime(ls.since)},
                      {"pid", ls.pid}});
    }
    s.Respond(api::JsonResponse(200, {{"sessions", list}}));
  });

  router_.Add("GET", "/api/v1/events", [&config](HttpSession& s, Request& r, const Params&) {
    std::string user = r.Query("user");
    if (!user.empty() && !s.store().Read()->FindUser(user).ok()) {
      return s.Respond(Error(404, "no such user: " + user));
    }
    StartEventStream(s, config, user);
  });
}

}  // namespace pillarbox::server
