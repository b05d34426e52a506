#include "protocols/imap/search.h"

#include <iconv.h>
#include <string.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "common/strings.h"
#include "config/capabilities.h"
#include "protocols/imap/imap_format.h"
#include "protocols/imap/object_id.h"
#include "protocols/mime/address.h"
#include "protocols/mime/date.h"
#include "protocols/mime/decode.h"
#include "protocols/mime/header.h"
#include "protocols/mime/message.h"
#include "protocols/mime/sort_keys.h"
#include "protocols/mime/structure_codec.h"

namespace pillarbox::imap {
namespace {

using Kind = SearchKey::Kind;

// ---------------------------------------------------------------------------
// Case folding

// Simple case folding of one code point (Latin-1, Latin Extended-A, Greek,
// Cyrillic); others unchanged.
char32_t FoldCodePoint(char32_t c) {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 0x20;
  if (c == 0xB5) return 0x3BC;  // micro sign -> mu
  if (c >= 0x100 && c <= 0x17F) {
    if (c == 0x130 || c == 0x131 || c == 0x138 || c == 0x149 || c == 0x17F) {
      return c == 0x17F ? U's' : c;
    }
    if (c == 0x178) return 0xFF;
    bool odd_upper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
    if (odd_upper) return (c % 2 == 1) ? c + 1 : c;
    return (c % 2 == 0) ? c + 1 : c;
  }
  if (c >= 0x391 && c <= 0x3AB && c != 0x3A2) return c + 0x20;
  if (c == 0x386) return 0x3AC;
  if (c >= 0x388 && c <= 0x38A) return c + 0x25;
  if (c == 0x38C) return 0x3CC;
  if (c == 0x38E || c == 0x38F) return c + 0x3F;
  if (c == 0x3C2) return 0x3C3;  // final sigma
  if (c >= 0x410 && c <= 0x42F) return c + 0x20;
  if (c >= 0x400 && c <= 0x40F) return c + 0x50;
  if (c >= 0x460 && c <= 0x4FF && c != 0x482 && !(c >= 0x483 && c <= 0x489)) {
    // Cyrillic supplement pairs (upper even).
    if (c >= 0x4C1 && c <= 0x4CE) return (c % 2 == 1) ? c + 1 : c;
    if (c == 0x4C0) return 0x4CF;
    return (c % 2 == 0) ? c + 1 : c;
  }
  return c;
}

void AppendUtf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

bool Contains(std::string_view haystack, std::string_view folded_needle) {
  return ContainsFolded(haystack, folded_needle);
}

// ---------------------------------------------------------------------------
// Parsing

bool CharsetKnown(std::string_view charset) {
  if (EqualsIgnoreAsciiCase(charset, "UTF-8") || EqualsIgnoreAsciiCase(charset, "US-ASCII") ||
      EqualsIgnoreAsciiCase(charset, "UTF8") || EqualsIgnoreAsciiCase(charset, "ASCII")) {
    return true;
  }
  if (charset.empty() || charset.size() > 64) return false;
  std::string name(charset);
  iconv_t cd = iconv_open("UTF-8", name.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1)) return false;
  iconv_close(cd);
  return true;
}

class Parser {
 public:
  Parser(const std::vector<Value>& args, std::size_t pos, std::string charset)
      : args_(args), pos_(pos), charset_(std::move(charset)) {}

  Status ParseAll(SearchKey& root) {
    root.kind = Kind::kAnd;
    if (pos_ >= args_.size()) return Status::InvalidArgument("Missing search key");
    while (pos_ < args_.size()) {
      SearchKey key;
      PB_RETURN_IF_ERROR(ParseKey(args_[pos_++], key, 1));
      root.children.push_back(std::move(key));
    }
    return Status::Ok();
  }

  bool needs_header = false;
  bool needs_body = false;
  bool has_modseq = false;
  std::vector<GatedSearchKey> gated;

 private:
  const Value* Next() {
    if (pos_ >= args_.size()) return nullptr;
    return &args_[pos_++];
  }

  Status NextString(std::string_view key, std::string& out) {
    const Value* v = Next();
    if (v == nullptr || !v->IsAString()) {
      return Status::InvalidArgument("Missing argument for " + std::string(key));
    }
    out = v->text;
    return Status::Ok();
  }

  // A search string: converted from the charset to UTF-8, then folded.
  Status NextSearchString(std::string_view key, std::string& out) {
    std::string raw;
    PB_RETURN_IF_ERROR(NextString(key, raw));
    std::string utf8 = raw;
    if (!EqualsIgnoreAsciiCase(charset_, "UTF-8") && !EqualsIgnoreAsciiCase(charset_, "US-ASCII")) {
      utf8 = mime::ConvertToUtf8(raw, charset_);
    }
    out = SearchFold(utf8);
    return Status::Ok();
  }

  Status NextNumber(std::string_view key, std::uint64_t& out) {
    const Value* v = Next();
    if (v == nullptr || !v->IsAtom() || v->text.empty() || v->text.size() > 19) {
      return Status::InvalidArgument("Invalid number for " + std::string(key));
    }
    std::uint64_t n = 0;
    for (char c : v->text) {
      if (c < '0' || c > '9')
        return Status::InvalidArgument("Invalid number for " + std::string(key));
      n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    out = n;
    return Status::Ok();
  }

  Status NextDate(std::string_view key, std::int64_t& out) {
    std::string text;
    PB_RETURN_IF_ERROR(NextString(key, text));
    auto d = ParseSearchDate(text);
    if (!d.ok()) return Status::InvalidArgument("Invalid search date");
    out = *d;
    return Status::Ok();
  }

  Status ParseKey(const Value& v, SearchKey& key, int depth) {
    if (depth > kMaxSearchDepth) return Status::InvalidArgument("Search nested too deeply");
    if (++keys_ > kMaxSearchKeys) return Status::InvalidArgument("Too many search keys");
    if (v.IsList()) {
      if (v.items.empty()) return Status::InvalidArgument("Empty search list");
      key.kind = Kind::kAnd;
      // Parse the list's items with a nested parser over them.
      Parser inner(v.items, 0, charset_);
      inner.keys_ = keys_;
      while (inner.pos_ < v.items.size()) {
        SearchKey child;
        PB_RETURN_IF_ERROR(inner.ParseKey(v.items[inner.pos_++], child, depth + 1));
        key.children.push_back(std::move(child));
      }
      keys_ = inner.keys_;
      needs_header |= inner.needs_header;
      needs_body |= inner.needs_body;
      gated.insert(gated.end(), inner.gated.begin(), inner.gated.end());
      has_modseq |= inner.has_modseq;
      return Status::Ok();
    }
    if (!v.IsAtom()) return Status::InvalidArgument("Invalid search key");
    const std::string& w = v.text;
    if (w == "$") {
      key.kind = Kind::kUidSet;
      key.saved_result = true;
      return Status::Ok();
    }
    if (!w.empty() && ((w[0] >= '0' && w[0] <= '9') || w[0] == '*')) {
      auto set = SequenceSet::Parse(w);
      if (!set.ok()) return Status::InvalidArgument("Invalid messageset");
      key.kind = Kind::kSequenceSet;
      key.set = std::move(*set);
      return Status::Ok();
    }
    std::string up = w;
    for (char& c : up) c = AsciiUpper(c);

    struct FlagKey {
      const char* name;
      Kind kind;
      std::uint32_t flag;
    };
    static constexpr FlagKey kFlagKeys[] = {
        {"ANSWERED", Kind::kFlag, storage::kFlagAnswered},
        {"DELETED", Kind::kFlag, storage::kFlagDeleted},
        {"DRAFT", Kind::kFlag, storage::kFlagDraft},
        {"FLAGGED", Kind::kFlag, storage::kFlagFlagged},
        {"SEEN", Kind::kFlag, storage::kFlagSeen},
        {"UNANSWERED", Kind::kNoFlag, storage::kFlagAnswered},
        {"UNDELETED", Kind::kNoFlag, storage::kFlagDeleted},
        {"UNDRAFT", Kind::kNoFlag, storage::kFlagDraft},
        {"UNFLAGGED", Kind::kNoFlag, storage::kFlagFlagged},
        {"UNSEEN", Kind::kNoFlag, storage::kFlagSeen},
    };
    for (const FlagKey& f : kFlagKeys) {
      if (up == f.name) {
        key.kind = f.kind;
        key.flag = f.flag;
        return Status::Ok();
      }
    }
    if (up == "ALL") {
      key.kind = Kind::kAll;
      return Status::Ok();
    }
    if (up == "RECENT" || up == "NEW" || up == "OLD") {
      key.kind = up == "RECENT" ? Kind::kRecent : up == "NEW" ? Kind::kNew : Kind::kOld;
      gated.push_back({w, 0, true});
      return Status::Ok();
    }
    if (up == "NOT") {
      const Value* c = Next();
      if (c == nullptr) return Status::InvalidArgument("Missing argument for NOT");
      key.kind = Kind::kNot;
      key.children.resize(1);
      return ParseKey(*c, key.children[0], depth + 1);
    }
    if (up == "OR") {
      key.kind = Kind::kOr;
      key.children.resize(2);
      for (int i = 0; i < 2; ++i) {
        const Value* c = Next();
        if (c == nullptr) return Status::InvalidArgument("Missing argument for OR");
        PB_RETURN_IF_ERROR(ParseKey(*c, key.children[i], depth + 1));
      }
      return Status::Ok();
    }
    if (up == "UID") {
      const Value* c = Next();
      if (c == nullptr || !c->IsAtom()) return Status::InvalidArgument("Missing argument for UID");
      if (c->text == "$") {
        key.kind = Kind::kUidSet;
        key.saved_result = true;
        return Status::Ok();
      }
      auto set = SequenceSet::Parse(c->text);
      if (!set.ok()) return Status::InvalidArgument("Invalid UID set");
      key.kind = Kind::kUidSet;
      key.set = std::move(*set);
      return Status::Ok();
    }
    if (up == "KEYWORD" || up == "UNKEYWORD") {
      key.kind = up == "KEYWORD" ? Kind::kKeyword : Kind::kUnkeyword;
      const Value* c = Next();
      if (c == nullptr || !c->IsAtom())
        return Status::InvalidArgument("Missing argument for " + up);
      key.text = c->text;
      if (!key.text.empty() && key.text[0] == '\\') {
        // A system flag given as keyword: Dovecot maps it to the flag.
        static constexpr FlagKey kSys[] = {{"\\ANSWERED", Kind::kFlag, storage::kFlagAnswered},
                                           {"\\DELETED", Kind::kFlag, storage::kFlagDeleted},
                                           {"\\DRAFT", Kind::kFlag, storage::kFlagDraft},
                                           {"\\FLAGGED", Kind::kFlag, storage::kFlagFlagged},
                                           {"\\SEEN", Kind::kFlag, storage::kFlagSeen}};
        for (const FlagKey& f : kSys) {
          if (EqualsIgnoreAsciiCase(key.text, f.name)) {
            key.kind = key.kind == Kind::kKeyword ? Kind::kFlag : Kind::kNoFlag;
            key.flag = f.flag;
            return Status::Ok();
          }
        }
        return Status::InvalidArgument("Invalid keyword");
      }
      if (!IsValidKeyword(key.text)) return Status::InvalidArgument("Invalid keyword");
      return Status::Ok();
    }
    if (up == "LARGER" || up == "SMALLER") {
      key.kind = up == "LARGER" ? Kind::kLarger : Kind::kSmaller;
      return NextNumber(up, key.number);
    }
    if (up == "MODSEQ") {
      // RFC 7162: MODSEQ [<entry-name> <entry-type-req>] <mod-sequence-valzer>
      key.kind = Kind::kModSeq;
      has_modseq = true;
      gated.push_back({w, config::kImapCondstore, false});
      if (pos_ < args_.size() && args_[pos_].IsString()) {
        std::string ignored;
        PB_RETURN_IF_ERROR(NextString(up, ignored));
        const Value* type = Next();
        if (type == nullptr || !type->IsAtom() ||
            !(type->AtomIs("priv") || type->AtomIs("shared") || type->AtomIs("all"))) {
          return Status::InvalidArgument("Invalid MODSEQ entry type");
        }
      }
      return NextNumber(up, key.number);
    }
    if (up == "SAVEDATESUPPORTED") {
      key.kind = Kind::kAll;
      gated.push_back({w, config::kImapSaveDate, false});
      return Status::Ok();
    }
    if (up == "EMAILID" || up == "THREADID") {
      key.kind = up == "EMAILID" ? Kind::kEmailId : Kind::kThreadId;
      gated.push_back({w, config::kImapObjectId, false});
      const Value* c = Next();
      if (c == nullptr || !c->IsAtom() || !IsObjectId(c->text)) {
        return Status::InvalidArgument("Invalid argument for " + up);
      }
      key.text = c->text;
      if (key.kind == Kind::kThreadId) needs_header = true;  // the ids are in the header
      return Status::Ok();
    }
    struct DateKey {
      const char* name;
      Kind kind;
    };
    static constexpr DateKey kDateKeys[] = {
        {"BEFORE", Kind::kBefore},
        {"ON", Kind::kOn},
        {"SINCE", Kind::kSince},
        {"SENTBEFORE", Kind::kSentBefore},
        {"SENTON", Kind::kSentOn},
        {"SENTSINCE", Kind::kSentSince},
        {"SAVEDBEFORE", Kind::kSavedBefore},
        {"SAVEDON", Kind::kSavedOn},
        {"SAVEDSINCE", Kind::kSavedSince},
    };
    for (const DateKey& d : kDateKeys) {
      if (up == d.name) {
        key.kind = d.kind;
        if (d.kind == Kind::kSentBefore || d.kind == Kind::kSentOn || d.kind == Kind::kSentSince) {
          needs_header = true;
        }
        if (d.kind == Kind::kSavedBefore || d.kind == Kind::kSavedOn ||
            d.kind == Kind::kSavedSince) {
          gated.push_back({w, config::kImapSaveDate, false});
        }
        return NextDate(up, key.days);
      }
    }
    static constexpr const char* kHeaderKeys[] = {"BCC", "CC", "FROM", "SUBJECT", "TO"};
    for (const char* h : kHeaderKeys) {
      if (up == h) {
        key.kind = Kind::kHeader;
        key.text = h;
        key.address = up != "SUBJECT";
        needs_header = true;
        return NextSearchString(up, key.value);
      }
    }
    if (up == "HEADER") {
      key.kind = Kind::kHeader;
      needs_header = true;
      PB_RETURN_IF_ERROR(NextString(up, key.text));
      return NextSearchString(up, key.value);
    }
    if (up == "BODY" || up == "TEXT") {
      key.kind = up == "BODY" ? Kind::kBody : Kind::kText;
      needs_body = true;
      return NextSearchString(up, key.value);
    }
    return Status::InvalidArgument("Unknown argument " + w);
  }

  const std::vector<Value>& args_;
  std::size_t pos_;
  std::string charset_;
  std::size_t keys_ = 0;
};

// ---------------------------------------------------------------------------
// Evaluation

std::int64_t DaysOf(storage::UnixTime t, std::int32_t tz_minutes) {
  std::int64_t local = t + static_cast<std::int64_t>(tz_minutes) * 60;
  return local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
}

// SAVEDBEFORE/ON/SINCE: the UTC date of the save date, else INTERNALDATE's.
std::int64_t SavedDays(const storage::MessageRecord& r) {
  return r.saved != 0 ? DaysOf(r.saved, 0) : DaysOf(r.internal_date, r.internal_date_tz);
}

// What evaluation has loaded so far about one message.
class Message {
 public:
  explicit Message(const SearchContext& ctx) : ctx_(ctx) {}

  // The raw bytes, or nullopt when they cannot be read.
  std::optional<std::string_view> Raw() {
    if (!raw_loaded_) {
      raw_loaded_ = true;
      if (ctx_.view != nullptr) {
        auto blob = ctx_.view->Blob(ctx_.record->blob);
        if (blob.ok()) raw_ = *blob;
      }
    }
    return raw_;
  }

  const mime::HeaderBlock* Header() {
    if (!header_) {
      auto raw = Raw();
      if (!raw) return nullptr;
      header_ =
          mime::ParseHeader(*raw, 0, raw->size(), mime::kMaxHeaderBytes, mime::kMaxHeaderFields);
    }
    return &*header_;
  }

  const mime::Part* Structure() {
    if (!root_) {
      auto raw = Raw();
      if (!raw) return nullptr;
      auto stored = ctx_.view->Structure(ctx_.record->blob);
      if (stored.ok()) {
        auto part = mime::DeserializeStructure(*stored);
        if (part.ok()) root_ = std::move(*part);
      }
      if (!root_) root_ = mime::ParseMessage(*raw);
    }
    return &*root_;
  }

  // Folded, decoded values of every `name` field (cached per name).
  const std::vector<std::string>* HeaderValues(std::string_view name) {
    for (auto& [n, values] : header_values_) {
      if (EqualsIgnoreAsciiCase(n, name)) return &values;
    }
    const mime::HeaderBlock* h = Header();
    if (h == nullptr) return nullptr;
    std::vector<std::string> values;
    for (const mime::HeaderField& f : h->fields) {
      if (f.has_colon && EqualsIgnoreAsciiCase(f.name, name)) {
        values.push_back(SearchFold(mime::DecodeHeaderValue(f.raw_value)));
      }
    }
    header_values_.emplace_back(std::string(name), std::move(values));
    return &header_values_.back().second;
  }

  // Folded "name <local@domain>" forms of the addresses of every `name`
  // field, one string per field (cached per name).
  const std::vector<std::string>* AddressValues(std::string_view name) {
    for (auto& [n, values] : address_values_) {
      if (EqualsIgnoreAsciiCase(n, name)) return &values;
    }
    const mime::HeaderBlock* h = Header();
    if (h == nullptr) return nullptr;
    std::vector<std::string> values;
    for (const mime::HeaderField& f : h->fields) {
      if (!f.has_colon || !EqualsIgnoreAsciiCase(f.name, name)) continue;
      std::string text;
      for (const mime::Address& a : mime::ParseAddressList(f.raw_value)) {
        switch (a.kind) {
          case mime::Address::Kind::kGroupStart:
            text += a.mailbox.value_or("") + ": ";
            break;
          case mime::Address::Kind::kGroupEnd:
            text += "; ";
            break;
          case mime::Address::Kind::kMailbox:
            if (a.name) text += mime::DecodeHeaderValue(*a.name) + " ";
            text += "<" + a.mailbox.value_or("") + "@" + a.host.value_or("") + ">, ";
            break;
        }
      }
      values.push_back(SearchFold(text));
    }
    address_values_.emplace_back(std::string(name), std::move(values));
    return &address_values_.back().second;
  }

  const std::string* HeaderText() {
    if (!header_text_) {
      const mime::HeaderBlock* h = Header();
      if (h == nullptr) return nullptr;
      std::string text;
      for (const mime::HeaderField& f : h->fields) {
        text.append(f.name);
        if (f.has_colon) {
          text += ": ";
          text += mime::DecodeHeaderValue(f.raw_value);
        }
        text += '\n';
      }
      header_text_ = SearchFold(text);
    }
    return &*header_text_;
  }

  // Calendar day of the Date: header in its own zone; INTERNALDATE when
  // there is no parsable Date: header.
  std::int64_t SentDays() {
    if (!sent_days_) {
      sent_days_ = DaysOf(ctx_.record->internal_date, ctx_.record->internal_date_tz);
      const mime::HeaderBlock* h = Header();
      if (h != nullptr) {
        const mime::HeaderField* f = mime::FindField(h->fields, "Date");
        if (f != nullptr) {
          auto date = mime::ParseRfc5322Date(mime::Unfold(f->raw_value));
          if (date) sent_days_ = DaysOf(date->utc, date->zone_minutes);
        }
      }
    }
    return *sent_days_;
  }

  const SearchContext& ctx() const { return ctx_; }

 private:
  const SearchContext& ctx_;
  bool raw_loaded_ = false;
  std::optional<std::string_view> raw_;
  std::optional<mime::HeaderBlock> header_;
  std::optional<mime::Part> root_;
  std::vector<std::pair<std::string, std::vector<std::string>>> header_values_;
  std::vector<std::pair<std::string, std::vector<std::string>>> address_values_;
  std::optional<std::string> header_text_;
  std::optional<std::int64_t> sent_days_;
};

enum class Tri : std::uint8_t { kFalse, kTrue, kUnknown };

Tri Of(bool b) { return b ? Tri::kTrue : Tri::kFalse; }

// What is known of the BODY/TEXT strings of the message under test: null
// before its body was scanned.
struct BodyResults {
  // The matcher of each BODY/TEXT key with a non-empty string.
  std::vector<std::pair<const SearchKey*, std::size_t>> key_matcher;
  std::vector<StreamMatcher> matchers;
  bool complete = false;  // the whole text was scanned (or is unreadable)

  Tri Lookup(const SearchKey& key) const {
    for (const auto& [k, i] : key_matcher) {
      if (k == &key) {
        if (matchers[i].found()) return Tri::kTrue;
        return complete ? Tri::kFalse : Tri::kUnknown;
      }
    }
    return Tri::kUnknown;
  }
};

// Three-valued: a BODY/TEXT key whose body has not been scanned (yet) is
// unknown, and AND/OR/NOT decide without it when they can.
Tri Eval(const SearchKey& key, Message& m, const BodyResults* body) {
  const SearchContext& ctx = m.ctx();
  const storage::MessageRecord& r = *ctx.record;
  switch (key.kind) {
    case Kind::kAll:
      return Tri::kTrue;
    case Kind::kAnd: {
      Tri out = Tri::kTrue;
      for (const SearchKey& c : key.children) {
        Tri t = Eval(c, m, body);
        if (t == Tri::kFalse) return Tri::kFalse;
        if (t == Tri::kUnknown) out = Tri::kUnknown;
      }
      return out;
    }
    case Kind::kOr: {
      Tri a = Eval(key.children[0], m, body);
      if (a == Tri::kTrue) return Tri::kTrue;
      Tri b = Eval(key.children[1], m, body);
      if (b == Tri::kTrue) return Tri::kTrue;
      return a == Tri::kFalse && b == Tri::kFalse ? Tri::kFalse : Tri::kUnknown;
    }
    case Kind::kNot: {
      Tri t = Eval(key.children[0], m, body);
      return t == Tri::kUnknown ? t : Of(t == Tri::kFalse);
    }
    case Kind::kSequenceSet:
      return Of(key.set.Contains(ctx.seq, ctx.max_seq));
    case Kind::kUidSet:
      return Of(key.set.Contains(r.uid, ctx.max_uid));
    case Kind::kFlag:
      return Of((r.flags.system & key.flag) != 0);
    case Kind::kNoFlag:
      return Of((r.flags.system & key.flag) == 0);
    case Kind::kKeyword:
      return Of(HasKeyword(r.flags.keywords, key.text));
    case Kind::kUnkeyword:
      return Of(!HasKeyword(r.flags.keywords, key.text));
    case Kind::kRecent:
      return Of(ctx.recent);
    case Kind::kNew:
      return Of(ctx.recent && (r.flags.system & storage::kFlagSeen) == 0);
    case Kind::kOld:
      return Of(!ctx.recent);
    case Kind::kLarger:
      return Of(r.size > key.number);
    case Kind::kSmaller:
      return Of(r.size < key.number);
    case Kind::kBefore:
      return Of(DaysOf(r.internal_date, r.internal_date_tz) < key.days);
    case Kind::kOn:
      return Of(DaysOf(r.internal_date, r.internal_date_tz) == key.days);
    case Kind::kSince:
      return Of(DaysOf(r.internal_date, r.internal_date_tz) >= key.days);
    case Kind::kSentBefore:
      return Of(m.SentDays() < key.days);
    case Kind::kSentOn:
      return Of(m.SentDays() == key.days);
    case Kind::kSentSince:
      return Of(m.SentDays() >= key.days);
    case Kind::kModSeq:
      return Of(r.modseq >= key.number);
    case Kind::kSavedBefore:
      return Of(SavedDays(r) < key.days);
    case Kind::kSavedOn:
      return Of(SavedDays(r) == key.days);
    case Kind::kSavedSince:
      return Of(SavedDays(r) >= key.days);
    case Kind::kEmailId:
      return Of(EmailId(r) == key.text);
    case Kind::kThreadId: {
      std::optional<std::string_view> raw = m.Raw();
      if (!raw) return Tri::kFalse;
      mime::SortKeys keys = mime::ComputeSortKeys(*raw);
      return Of(ThreadId(keys.message_id, keys.references, r) == key.text);
    }
    case Kind::kHeader: {
      const std::vector<std::string>* values = m.HeaderValues(key.text);
      if (values == nullptr) return Tri::kFalse;
      for (const std::string& v : *values) {
        if (Contains(v, key.value)) return Tri::kTrue;
      }
      if (key.address && !key.value.empty()) {
        const std::vector<std::string>* addresses = m.AddressValues(key.text);
        if (addresses == nullptr) return Tri::kFalse;
        for (const std::string& v : *addresses) {
          if (Contains(v, key.value)) return Tri::kTrue;
        }
      }
      return Tri::kFalse;
    }
    case Kind::kBody:
    case Kind::kText: {
      if (key.value.empty()) return Of(m.Raw().has_value());
      if (!m.Raw().has_value()) return Tri::kFalse;
      if (key.kind == Kind::kText) {
        const std::string* header = m.HeaderText();
        if (header == nullptr) return Tri::kFalse;
        if (Contains(*header, key.value)) return Tri::kTrue;
      }
      return body == nullptr ? Tri::kUnknown : body->Lookup(key);
    }
  }
  return Tri::kFalse;
}

void CollectTextParts(const mime::Part& part, std::vector<const mime::Part*>& out) {
  if (part.IsMultipart() || part.IsMessageRfc822()) {
    for (const mime::Part& c : part.children) CollectTextParts(c, out);
    return;
  }
  if (part.IsText()) out.push_back(&part);
}

void CollectBodyKeys(const SearchKey& key, std::vector<const SearchKey*>& out) {
  if ((key.kind == Kind::kBody || key.kind == Kind::kText) && !key.value.empty()) {
    out.push_back(&key);
  }
  for (const SearchKey& c : key.children) CollectBodyKeys(c, out);
}

bool IsBase64(const std::optional<std::string>& cte) {
  return cte && EqualsIgnoreAsciiCase(*cte, "base64");
}
bool IsQuotedPrintable(const std::optional<std::string>& cte) {
  return cte && EqualsIgnoreAsciiCase(*cte, "quoted-printable");
}

// Where a quoted-printable body may be cut at or after `want` (relative to
// `body`) so that decoding the two sides apart gives what decoding the whole
// gives: after a line break, or after an escape or a byte that is neither
// blank, CR nor "=" (a blank or CR could be trailing, a lone "=" a soft
// break). Scans forward from 0, which is such a point.
std::size_t QuotedPrintableCut(std::string_view body, std::size_t want) {
  if (want >= body.size()) return body.size();
  std::size_t safe = 0;
  std::size_t i = 0;
  while (i < body.size()) {
    if (i >= want && safe > 0) return safe;
    char c = body[i];
    std::size_t len = 1;
    bool ok = c != ' ' && c != '\t' && c != '\r' && c != '=';
    if (c == '=' && i + 2 < body.size() && mime::HexValue(body[i + 1]) >= 0 &&
        mime::HexValue(body[i + 2]) >= 0) {
      len = 3;
      ok = true;
    }
    i += len;
    if (ok) safe = i;
    // A line break ends a line whatever came before it.
    if (c == '\n') safe = i;
  }
  return body.size();
}

}  // namespace

// ---------------------------------------------------------------------------
// Matching

StreamMatcher::StreamMatcher(std::string needle) : needle_(std::move(needle)) {
  fail_.assign(needle_.size(), 0);
  std::uint32_t k = 0;
  for (std::size_t i = 1; i < needle_.size(); ++i) {
    while (k > 0 && needle_[i] != needle_[k]) k = fail_[k - 1];
    if (needle_[i] == needle_[k]) ++k;
    fail_[i] = k;
  }
  found_ = needle_.empty();
}

bool StreamMatcher::Feed(std::string_view text) {
  if (found_) return true;
  const std::size_t m = needle_.size();
  const char first = needle_[0];
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    if (state_ == 0) {
      // Nothing matched: jump to the next candidate start.
      const void* hit = std::memchr(text.data() + i, first, n - i);
      if (hit == nullptr) {
        steps_ += n - i;
        return false;
      }
      std::size_t at = static_cast<std::size_t>(static_cast<const char*>(hit) - text.data());
      steps_ += at - i + 1;
      i = at + 1;
      state_ = 1;
    } else {
      const char c = text[i];
      ++steps_;
      while (state_ > 0 && c != needle_[state_]) {
        state_ = fail_[state_ - 1];
        ++steps_;
      }
      if (c == needle_[state_]) ++state_;
      ++i;
    }
    if (state_ == m) {
      found_ = true;
      return true;
    }
  }
  return false;
}

bool ContainsFolded(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return true;
  if (needle.size() > haystack.size()) return false;
  // glibc's memmem is linear (two-way) for long needles and bounded for
  // short ones; std::string_view::find is not.
  return ::memmem(haystack.data(), haystack.size(), needle.data(), needle.size()) != nullptr;
}

// ---------------------------------------------------------------------------
// The body text in pieces

struct BodyTextStream::Decoder {
  explicit Decoder(const mime::Part& part)
      : converter(part.FindParam("charset") != nullptr
                      ? std::string_view(*part.FindParam("charset"))
                      : std::string_view("us-ascii")) {}
  mime::Utf8Converter converter;
  // Base64 across pieces (the same rules as mime::DecodeBase64).
  std::uint32_t acc = 0;
  int bits = 0;
  bool padded = false;

  std::string Base64(std::string_view in) {
    std::string out;
    out.reserve(in.size() / 4 * 3 + 3);
    if (padded) return out;
    for (char ch : in) {
      if (ch == '=') {
        padded = true;
        break;
      }
      int v = mime::Base64Value(static_cast<unsigned char>(ch));
      if (v < 0) continue;
      acc = (acc << 6) | static_cast<std::uint32_t>(v);
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out.push_back(static_cast<char>((acc >> bits) & 0xff));
      }
    }
    return out;
  }
};

BodyTextStream::BodyTextStream(const mime::Part& root) { CollectTextParts(root, parts_); }
BodyTextStream::~BodyTextStream() = default;

std::size_t BodyTextStream::Next(std::string_view raw, std::string* out, std::size_t chunk) {
  if (done()) return 0;
  const mime::Part& part = *parts_[part_];
  std::string_view body;
  if (part.body_offset <= raw.size()) {
    body = raw.substr(part.body_offset,
                      std::min<std::uint64_t>(part.body_size, raw.size() - part.body_offset));
  }
  chunk = std::max<std::size_t>(chunk, 1);
  if (offset_ == 0 && body.size() <= chunk) {
    // Small: the part whole, as MessageSearchText does.
    *out += SearchFold(mime::PartSearchText(raw, part));
    out->push_back('\n');
    ++part_;
    return std::max<std::size_t>(body.size(), 1);
  }
  if (!decoder_) decoder_ = std::make_unique<Decoder>(part);
  std::string_view rest = body.substr(offset_);
  std::size_t take;
  std::string decoded;
  if (IsQuotedPrintable(part.encoding)) {
    take = QuotedPrintableCut(rest, chunk);
    decoded = mime::DecodeQuotedPrintable(rest.substr(0, take));
  } else if (IsBase64(part.encoding)) {
    take = std::min(chunk, rest.size());
    decoded = decoder_->Base64(rest.substr(0, take));
  } else {
    take = std::min(chunk, rest.size());
    decoded.assign(rest.substr(0, take));
  }
  offset_ += take;
  const bool last = offset_ >= body.size();
  *out += SearchFold(decoder_->converter.Convert(decoded, last));
  if (last) {
    out->push_back('\n');
    decoder_.reset();
    offset_ = 0;
    ++part_;
  }
  return std::max<std::size_t>(take, 1);
}

// ---------------------------------------------------------------------------
// Resumable evaluation

struct SearchRun::Pending {
  storage::BlobId blob;
  mime::Part root;
  std::unique_ptr<BodyTextStream> stream;
  BodyResults results;
};

SearchRun::SearchRun(const SearchProgram& program, std::uint64_t work_limit)
    : program_(program), work_limit_(work_limit) {}
SearchRun::~SearchRun() = default;

void SearchRun::Abandon() { pending_.reset(); }

SearchOutcome SearchRun::Evaluate(const SearchContext& context, std::uint64_t budget) {
  if (pending_ && pending_->blob != context.record->blob) pending_.reset();
  if (work_ >= work_limit_) return SearchOutcome::kLimit;
  Message m(context);
  if (!pending_) {
    work_ += kSearchMessageWork;
    Tri t = Eval(program_.root, m, nullptr);
    if (t != Tri::kUnknown)
      return t == Tri::kTrue ? SearchOutcome::kMatch : SearchOutcome::kNoMatch;
    // The answer depends on the body: scan it, for every string at once.
    const mime::Part* root = m.Structure();
    auto p = std::make_unique<Pending>();
    p->blob = context.record->blob;
    std::vector<const SearchKey*> keys;
    CollectBodyKeys(program_.root, keys);
    for (const SearchKey* k : keys) {
      std::size_t index = p->results.matchers.size();
      for (std::size_t i = 0; i < p->results.matchers.size(); ++i) {
        if (p->results.matchers[i].needle() == k->value) index = i;
      }
      if (index == p->results.matchers.size()) p->results.matchers.emplace_back(k->value);
      p->results.key_matcher.emplace_back(k, index);
    }
    if (root != nullptr) {
      p->root = *root;
      p->stream = std::make_unique<BodyTextStream>(p->root);
    } else {
      p->results.complete = true;
    }
    pending_ = std::move(p);
  }
  Pending& p = *pending_;
  std::optional<std::string_view> raw = m.Raw();
  if (!raw) p.results.complete = true;
  std::uint64_t spent = 0;
  std::string piece;
  while (!p.results.complete) {
    if (spent >= budget) return SearchOutcome::kPending;
    if (work_ >= work_limit_) {
      pending_.reset();
      return SearchOutcome::kLimit;
    }
    piece.clear();
    std::size_t consumed = p.stream->Next(*raw, &piece);
    if (consumed == 0) {
      p.results.complete = true;
      break;
    }
    std::uint64_t cost = consumed;
    bool newly_found = false;
    for (StreamMatcher& matcher : p.results.matchers) {
      if (matcher.found()) continue;
      cost += piece.size();
      newly_found |= matcher.Feed(piece);
    }
    spent += cost;
    work_ += cost;
    if (p.stream->done()) p.results.complete = true;
    if (newly_found && !p.results.complete) {
      // Perhaps decided already (OR BODY a BODY b, with a found).
      if (Eval(program_.root, m, &p.results) != Tri::kUnknown) break;
    }
  }
  Tri t = Eval(program_.root, m, &p.results);
  pending_.reset();
  return t == Tri::kTrue ? SearchOutcome::kMatch : SearchOutcome::kNoMatch;
}

std::string SearchFold(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out += AsciiLower(static_cast<char>(c));
      ++i;
      continue;
    }
    int len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    bool valid = len > 0 && i + static_cast<std::size_t>(len) <= s.size();
    char32_t cp = 0;
    if (valid) {
      cp = len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
      for (int k = 1; k < len; ++k) {
        unsigned char cc = static_cast<unsigned char>(s[i + k]);
        if ((cc & 0xC0) != 0x80) {
          valid = false;
          break;
        }
        cp = (cp << 6) | (cc & 0x3F);
      }
    }
    if (!valid) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    char32_t folded = FoldCodePoint(cp);
    if (folded == cp) {
      out.append(s.substr(i, static_cast<std::size_t>(len)));
    } else {
      AppendUtf8(out, folded);
    }
    i += static_cast<std::size_t>(len);
  }
  return out;
}

std::size_t SearchProgram::BatchSize() const {
  switch (cost) {
    case SearchCost::kCheap:
      return 5000;
    case SearchCost::kHeaders:
      return 200;
    case SearchCost::kBody:
      return 20;
  }
  return 20;
}

std::string SupportedSearchCharsets() { return "UTF-8 US-ASCII"; }

Result<SearchProgram> ParseSearch(const std::vector<Value>& args, std::size_t start) {
  SearchProgram program;
  program.charset = "UTF-8";
  std::size_t pos = start;
  if (pos < args.size() && args[pos].AtomIs("CHARSET")) {
    if (pos + 1 >= args.size() || !args[pos + 1].IsAString()) {
      return Status::InvalidArgument("Missing CHARSET name");
    }
    const std::string& cs = args[pos + 1].text;
    if (!CharsetKnown(cs)) return Status::NotFound("BADCHARSET");
    program.charset = cs;
    if (EqualsIgnoreAsciiCase(cs, "UTF8")) program.charset = "UTF-8";
    if (EqualsIgnoreAsciiCase(cs, "ASCII")) program.charset = "US-ASCII";
    pos += 2;
  }
  Parser parser(args, pos, program.charset);
  PB_RETURN_IF_ERROR(parser.ParseAll(program.root));
  program.needs_blob = parser.needs_header || parser.needs_body;
  program.has_modseq = parser.has_modseq;
  program.gated = std::move(parser.gated);
  program.cost = parser.needs_body     ? SearchCost::kBody
                 : parser.needs_header ? SearchCost::kHeaders
                                       : SearchCost::kCheap;
  return program;
}

bool Matches(const SearchProgram& program, const SearchContext& context) {
  SearchRun run(program, UINT64_MAX);
  return run.Evaluate(context, UINT64_MAX) == SearchOutcome::kMatch;
}

std::string RefusedSearchKey(const SearchProgram& program, unsigned disabled, bool imap4rev2) {
  for (const GatedSearchKey& k : program.gated) {
    if ((k.extension & disabled) != 0 || (k.imap4rev1_only && imap4rev2)) return k.name;
  }
  return {};
}

}  // namespace pillarbox::imap
