// APPEND (RFC 3501 6.3.11) with UIDPLUS's APPENDUID (RFC 4315), MULTIAPPEND
// (RFC 3502: several messages, stored in one transaction, all or none),
// BINARY's literal8 (RFC 3516: the message is stored as given, except that a
// part holding NUL bytes is stored base64-encoded, see mime/binary_parts.h) and
// CATENATE (RFC 4469: a message assembled from text literals and IMAP URLs
// of this user's messages).
//
// Sizes: each literal was checked by the parser before it was read (one
// message at most limits.max_message_size, the APPENDLIMIT; all literals of
// the command together at most that plus a line), so a MULTIAPPEND whose
// set is too large is refused before anything is stored. A CATENATE
// message is checked against the same limit once assembled ([TOOBIG]).
// Any refusal (a bad flag, an empty message, a bad URL, the quota) stores
// none of the messages. A missing mailbox gets [TRYCREATE]; new keywords
// count against config.limits.max_keywords.
#include <algorithm>

#include "common/memory_budget.h"
#include "common/strings.h"
#include "protocols/imap/commands.h"
#include "protocols/imap/imap_format.h"
#include "protocols/imap/notify.h"
#include "protocols/mime/binary_parts.h"
#include "protocols/mime/message.h"
#include "protocols/mime/section.h"
#include "protocols/mime/structure_codec.h"

namespace pillarbox::imap {
namespace {

// Messages in one MULTIAPPEND. The bytes are bounded by the parser's cap on
// one command's literals; this bounds the per-message work of a command of
// tiny literals.
constexpr std::size_t kMaxAppendMessages = 1000;
// Parts of one CATENATE message (RFC 4469 sets no limit; Dovecot neither).
constexpr std::size_t kMaxCatenateParts = 256;

struct CatPart {
  bool url = false;
  std::string text;  // the TEXT bytes or the URL
};

struct AppendMessage {
  storage::Flags flags;
  std::optional<DateTime> date;
  bool catenate = false;
  bool binary = false;  // a literal8 (stored as given)
  bool utf8 = false;    // "UTF8 (literal)" (RFC 6855 4)
  std::string bytes;    // !catenate; catenate: filled by Assemble
  std::vector<CatPart> parts;
};

bool Is(const Value& v, std::string_view word) { return v.IsAtom() && v.AtomIs(word); }

// Splits APPEND's arguments after the mailbox into messages:
//   1*( [flag-list] [date-time] (literal / literal8 / CATENATE (parts)) )
// Returns the reason for a BAD, or "".
std::string ParseMessages(std::vector<Value>& args, std::vector<AppendMessage>& out) {
  std::size_t i = 1;
  while (i < args.size()) {
    if (out.size() >= kMaxAppendMessages) return "Too many messages in one APPEND";
    AppendMessage m;
    if (args[i].IsList()) {
      auto parsed = ParseFlagList(args[i]);
      if (!parsed.ok()) return std::string(parsed.status().message());
      m.flags = std::move(*parsed);
      ++i;
    }
    if (i < args.size() && args[i].kind == Value::Kind::kString) {
      auto parsed = ParseDateTime(args[i].text);
      if (!parsed.ok()) return "Invalid internal date";
      m.date = *parsed;
      ++i;
    }
    if (i >= args.size()) return "Expected a message literal";
    if (args[i].kind == Value::Kind::kLiteral) {
      m.binary = args[i].binary;
      m.bytes = std::move(args[i].text);
      ++i;
    } else if (Is(args[i], "UTF8") && i + 1 < args.size() && args[i + 1].IsList()) {
      // RFC 6855 4: "UTF8 (~{n}...)", a message with UTF-8 headers, stored
      // as it is (CmdAppend checks that UTF8=ACCEPT is enabled).
      auto& items = args[i + 1].items;
      if (items.size() != 1 || items[0].kind != Value::Kind::kLiteral) {
        return "Expected UTF8 (literal)";
      }
      m.utf8 = true;
      m.binary = items[0].binary;
      m.bytes = std::move(items[0].text);
      i += 2;
    } else if (Is(args[i], "CATENATE") && i + 1 < args.size() && args[i + 1].IsList()) {
      m.catenate = true;
      auto& items = args[i + 1].items;
      if (items.empty() || items.size() % 2 != 0) return "Invalid CATENATE parts";
      if (items.size() / 2 > kMaxCatenateParts) return "Too many CATENATE parts";
      for (std::size_t k = 0; k < items.size(); k += 2) {
        CatPart p;
        if (Is(items[k], "TEXT") && items[k + 1].kind == Value::Kind::kLiteral) {
          m.binary = m.binary || items[k + 1].binary;
        } else if (Is(items[k], "URL") && items[k + 1].IsAString()) {
          p.url = true;
        } else {
          return "Invalid CATENATE part";
        }
        p.text = std::move(items[k + 1].text);
        m.parts.push_back(std::move(p));
      }
      i += 2;
    } else {
      return "Expected a message literal";
    }
    out.push_back(std::move(m));
  }
  if (out.empty()) return "Expected a message literal";
  return {};
}

std::string PercentDecode(std::string_view s, bool* ok) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    c = AsciiLower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  *ok = true;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    int hi = i + 2 < s.size() ? hex(s[i + 1]) : -1;
    int lo = i + 2 < s.size() ? hex(s[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      *ok = false;
      return {};
    }
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

bool ParseNumber(std::string_view s, std::uint64_t max, std::uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v > max) return false;
  *out = v;
  return true;
}

// An IMAP URL (RFC 5092) of one message of this user, relative
// ("/INBOX;UIDVALIDITY=5/;UID=3/;SECTION=1.MIME/;PARTIAL=0.100") or absolute
// ("imap://user@host/INBOX/;UID=3": the server part is not checked, the
// mailbox is always the session user's).
struct ImapUrl {
  std::string mailbox;
  std::optional<std::uint32_t> uidvalidity;
  std::uint32_t uid = 0;
  std::optional<mime::SectionSpec> section;
  std::optional<std::uint64_t> partial_origin;
  std::optional<std::uint64_t> partial_length;
};

std::optional<ImapUrl> ParseImapUrl(std::string_view url) {
  if (url.size() > 7 && EqualsIgnoreAsciiCase(url.substr(0, 7), "imap://")) {
    std::size_t slash = url.find('/', 7);
    if (slash == std::string_view::npos) return std::nullopt;
    url = url.substr(slash);
  }
  if (url.empty() || url[0] != '/') return std::nullopt;
  std::string folded = AsciiFold(url);
  std::size_t uid_at = folded.find("/;uid=");
  if (uid_at == std::string::npos || uid_at < 2) return std::nullopt;
  ImapUrl out;
  std::string_view mailbox = url.substr(1, uid_at - 1);
  std::size_t semi = mailbox.find(';');
  if (semi != std::string_view::npos) {
    std::string_view param = mailbox.substr(semi + 1);
    if (param.size() < 12 || !EqualsIgnoreAsciiCase(param.substr(0, 12), "uidvalidity=")) {
      return std::nullopt;
    }
    std::uint64_t v = 0;
    if (!ParseNumber(param.substr(12), UINT32_MAX, &v) || v == 0) return std::nullopt;
    out.uidvalidity = static_cast<std::uint32_t>(v);
    mailbox = mailbox.substr(0, semi);
  }
  bool ok = false;
  out.mailbox = PercentDecode(mailbox, &ok);
  if (!ok || out.mailbox.empty()) return std::nullopt;
  // ";UID=n" then "/;SECTION=..." and "/;PARTIAL=o.l", in this order.
  std::string_view rest = url.substr(uid_at + 2);
  bool first = true;
  while (!rest.empty()) {
    std::size_t end = rest.find("/;");
    std::string_view item = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 2);
    std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string key = AsciiFold(item.substr(0, eq));
    std::string_view value = item.substr(eq + 1);
    if (first) {
      std::uint64_t v = 0;
      if (key != "uid" || !ParseNumber(value, UINT32_MAX, &v) || v == 0) return std::nullopt;
      out.uid = static_cast<std::uint32_t>(v);
      first = false;
    } else if (key == "section" && !out.section && !out.partial_origin) {
      std::string decoded = PercentDecode(value, &ok);
      if (!ok) return std::nullopt;
      out.section = mime::ParseSectionSpec(decoded);
      if (!out.section) return std::nullopt;
    } else if (key == "partial" && !out.partial_origin) {
      std::size_t dot = value.find('.');
      std::uint64_t origin = 0, length = 0;
      if (!ParseNumber(value.substr(0, dot), UINT64_MAX / 2, &origin)) return std::nullopt;
      if (dot != std::string_view::npos) {
        if (!ParseNumber(value.substr(dot + 1), UINT64_MAX / 2, &length) || length == 0) {
          return std::nullopt;
        }
        out.partial_length = length;
      }
      out.partial_origin = origin;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

// Appends what `url` names to `out`. False: [BADURL]. `limit`: the most
// bytes `out` may hold (more: *too_big).
bool AppendUrl(ImapSession& s, storage::ReadView& view, std::string_view url, std::size_t limit,
               std::string* out, bool* too_big) {
  auto parsed = ParseImapUrl(url);
  if (!parsed) return false;
  std::string error;
  auto name = s.DecodeMailboxName(Value::String(parsed->mailbox), false, &error);
  if (!name) return false;
  auto mb = view.FindMailbox(s.user().id, *name);
  if (!mb.ok()) return false;
  if (parsed->uidvalidity && *parsed->uidvalidity != mb->uidvalidity) return false;
  auto rec = view.GetMessage(mb->id, parsed->uid);
  if (!rec.ok()) return false;
  auto blob = view.Blob(rec->blob);
  if (!blob.ok()) return false;
  std::string_view raw = *blob;
  std::string_view content = raw;
  mime::SectionContent section;
  if (parsed->section) {
    std::optional<mime::Part> root;
    auto stored = view.Structure(rec->blob);
    if (stored.ok()) {
      auto part = mime::DeserializeStructure(*stored);
      if (part.ok()) root = std::move(*part);
    }
    if (!root) root = mime::ParseMessage(raw);
    section = mime::ResolveSection(raw, *root, *parsed->section);
    if (!section.found) return false;
    if (!section.synthesized &&
        (section.offset > raw.size() || section.size > raw.size() - section.offset)) {
      return false;
    }
    content = section.View(raw);
  }
  if (parsed->partial_origin) {
    std::uint64_t origin = std::min<std::uint64_t>(*parsed->partial_origin, content.size());
    std::uint64_t n = content.size() - origin;
    if (parsed->partial_length) n = std::min(n, *parsed->partial_length);
    content = content.substr(origin, n);
  }
  if (content.size() > limit - std::min(limit, out->size())) {
    *too_big = true;
    return true;
  }
  out->append(content);
  return true;
}

// Builds the message of a CATENATE. The answer on failure, or "".
std::string Assemble(ImapSession& s, storage::ReadView& view, AppendMessage& m) {
  const std::size_t limit = s.config().limits.max_message_size;
  std::string out;
  for (const CatPart& p : m.parts) {
    bool too_big = false;
    if (p.url) {
      if (!AppendUrl(s, view, p.text, limit, &out, &too_big)) {
        return "NO [BADURL " + p.text + "] Invalid or unknown message URL.";
      }
    } else if (p.text.size() > limit - std::min(limit, out.size())) {
      too_big = true;
    } else {
      out += p.text;
    }
    if (too_big) return "NO [TOOBIG] Message too large.";
  }
  m.bytes = std::move(out);
  return {};
}

// "1:3,7" of ascending UIDs.
std::string UidSet(const std::vector<storage::AppendResult>& results) {
  std::string out;
  std::size_t i = 0;
  while (i < results.size()) {
    std::size_t j = i;
    while (j + 1 < results.size() && results[j + 1].uid == results[j].uid + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(results[i].uid);
    if (j > i) out += ':' + std::to_string(results[j].uid);
    i = j + 1;
  }
  return out;
}

}  // namespace

void CmdAppend(ImapSession& s, Command& cmd) {
  auto& args = cmd.args;
  if (args.size() < 2) {
    return s.FinishBad(cmd, "Expected mailbox, optional flags and date, and message literal");
  }
  std::vector<AppendMessage> messages;
  std::string bad = ParseMessages(args, messages);
  if (!bad.empty()) return s.FinishBad(cmd, bad);
  const std::uint64_t disabled = s.disabled_extensions();
  bool binary = false, catenate = false, utf8 = false;
  for (const auto& m : messages) {
    binary = binary || m.binary;
    catenate = catenate || m.catenate;
    utf8 = utf8 || m.utf8;
  }
  if (utf8 && !s.utf8_accept()) return s.FinishBad(cmd, "UTF8 requires ENABLE UTF8=ACCEPT");
  // A turned-off extension is refused as by a server without it.
  if (messages.size() > 1 && (disabled & config::kImapMultiAppend)) {
    return s.FinishBad(cmd, "Expected one message literal");
  }
  if (binary && (disabled & config::kImapBinary)) {
    return s.FinishBad(cmd, "Binary literals not supported");
  }
  if (catenate && (disabled & config::kImapCatenate)) {
    return s.FinishBad(cmd, "Expected a message literal");
  }
  for (const auto& m : messages) {
    if (!m.catenate && m.bytes.empty()) {
      return s.Finish(cmd, "NO [CANNOT] Can't save a zero byte message.");
    }
  }
  std::string error;
  auto name = s.DecodeMailboxName(args[0], false, &error);
  if (!name) return s.Finish(cmd, "NO [CANNOT] " + error);
  {
    auto view = s.store().Read();
    auto mb = view->FindMailbox(s.user().id, *name);
    if (!mb.ok()) {
      if (mb.status().code() == Code::kNotFound) {
        return s.Finish(cmd, "NO [TRYCREATE] Mailbox doesn't exist: " + *name);
      }
      return s.FinishError(cmd, mb.status(), *name);
    }
    std::vector<std::string> added;
    for (const auto& m : messages) {
      added.insert(added.end(), m.flags.keywords.begin(), m.flags.keywords.end());
    }
    if (!added.empty()) {
      NormalizeKeywords(added);
      // The mailbox's known keywords: those of its messages.
      std::vector<std::string> known;
      SelectedMailbox* sel = s.selected();
      if (sel != nullptr && sel->id == mb->id) {
        known.assign(sel->keywords.begin(), sel->keywords.end());
      } else {
        for (const auto& m : view->ListMessages(mb->id)) {
          known.insert(known.end(), m.flags.keywords.begin(), m.flags.keywords.end());
        }
        NormalizeKeywords(known);
      }
      std::size_t total = known.size() + CountNewKeywords(known, added);
      if (total > static_cast<std::size_t>(s.config().limits.max_keywords)) {
        return s.Finish(cmd, "NO [LIMIT] Too many keywords in this mailbox.");
      }
    }
    for (auto& m : messages) {
      if (!m.catenate) continue;
      std::string refusal = Assemble(s, *view, m);
      if (!refusal.empty()) return s.Finish(cmd, std::move(refusal));
      if (m.bytes.empty()) return s.Finish(cmd, "NO [CANNOT] Can't save a zero byte message.");
    }
  }
  std::vector<storage::AppendRequest> reqs;
  std::size_t total = 0;
  for (auto& m : messages) {
    storage::AppendRequest req;
    req.user = s.user().id;
    req.mailbox = *name;
    if (m.binary) {
      // NUL bytes in a part that IMAP literals and POP3 cannot carry as
      // they are: that part is stored base64-encoded.
      if (auto encoded = mime::EncodeBinaryParts(m.bytes)) m.bytes = std::move(*encoded);
    }
    total += m.bytes.size();
    req.bytes = std::make_shared<const std::string>(std::move(m.bytes));
    req.keep_bytes = m.binary;
    req.flags = std::move(m.flags);
    if (m.date) {
      req.internal_date = m.date->time;
      req.internal_date_tz = m.date->tz_minutes;
    }
    req.origin = s.MakeOrigin();
    req.envelope_from = s.user().name;
    reqs.push_back(std::move(req));
  }
  Command h = cmd.Header();
  std::string n = *name;
  // The messages stay in memory until the store has committed them.
  auto charge = std::make_shared<MemoryCharge>();
  charge->Set(total);
  s.store().AppendMany(
      std::move(reqs),
      s.Bind([h, n, charge](ImapSession& s2, Result<std::vector<storage::AppendResult>> r) {
        if (!r.ok()) {
          if (r.status().code() == Code::kNotFound) {
            return s2.Finish(h, "NO [TRYCREATE] Mailbox doesn't exist: " + n);
          }
          return s2.FinishError(h, r.status(), n);
        }
        // Messages appended to the selected mailbox show up as EXISTS
        // before the tagged answer.
        SelectedMailbox* sel = s2.selected();
        if (sel != nullptr && !r->empty() && sel->id == r->front().mailbox) {
          sel->changes_pending = true;
        }
        if (s2.notify() != nullptr) {
          std::vector<storage::Uid> uids;
          for (const auto& one : *r) uids.push_back(one.uid);
          NotifyOwnMessages(s2, n, uids);
        }
        if (s2.disabled_extensions() & config::kImapUidPlus) {
          return s2.Finish(h, "OK Append completed.");
        }
        s2.Finish(h, "OK [APPENDUID " + std::to_string(r->front().uidvalidity) + " " + UidSet(*r) +
                         "] Append completed.");
      }));
}

}  // namespace pillarbox::imap
