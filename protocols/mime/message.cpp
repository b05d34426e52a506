#include "protocols/mime/message.h"

#include <algorithm>
#include <cstring>

#include "common/strings.h"
#include "protocols/mime/address.h"
#include "protocols/mime/header.h"
#include "protocols/mime/lexer.h"
#include "protocols/mime/params.h"

namespace pillarbox::mime {

Part::Part(const Part& other)
    : header_offset(other.header_offset),
      header_size(other.header_size),
      body_offset(other.body_offset),
      body_size(other.body_size),
      body_lines(other.body_lines),
      type(other.type),
      subtype(other.subtype),
      params(other.params),
      id(other.id),
      description(other.description),
      encoding(other.encoding),
      md5(other.md5),
      disposition(other.disposition),
      disposition_params(other.disposition_params),
      language(other.language),
      location(other.location),
      multipart(other.multipart),
      truncated(other.truncated),
      children(other.children),
      envelope(other.envelope ? std::make_unique<Envelope>(*other.envelope) : nullptr) {}

Part& Part::operator=(const Part& other) {
  if (this != &other) {
    Part copy(other);
    *this = std::move(copy);
  }
  return *this;
}

bool Part::operator==(const Part& o) const {
  if (!(header_offset == o.header_offset && header_size == o.header_size &&
        body_offset == o.body_offset && body_size == o.body_size && body_lines == o.body_lines &&
        type == o.type && subtype == o.subtype && params == o.params && id == o.id &&
        description == o.description && encoding == o.encoding && md5 == o.md5 &&
        disposition == o.disposition && disposition_params == o.disposition_params &&
        language == o.language && location == o.location && multipart == o.multipart &&
        truncated == o.truncated && children == o.children)) {
    return false;
  }
  if ((envelope == nullptr) != (o.envelope == nullptr)) return false;
  return envelope == nullptr || *envelope == *o.envelope;
}

bool Part::IsText() const { return type.empty() || EqualsIgnoreAsciiCase(type, "text"); }

const std::string* Part::FindParam(std::string_view name) const {
  for (const mime::Param& p : params) {
    if (EqualsIgnoreAsciiCase(p.name, name)) return &p.value;
  }
  return nullptr;
}

namespace {

// ---------------------------------------------------------------------------
// Content-* fields

void ParseContentType(std::string_view value, Part* part) {
  Lexer lex(value);
  lex.SkipCfws();
  std::string type;
  if (!lex.ParseToken(&type)) return;  // unusable: the default applies
  part->type = std::move(type);
  lex.SkipCfws();
  if (lex.Peek() == '/') {
    lex.Advance();
    lex.SkipCfws();
    lex.ParseToken(&part->subtype);
    lex.SkipCfws();
  }
  part->params = ParseParams(&lex);
}

void ParseTransferEncoding(std::string_view value, Part* part) {
  Lexer lex(value);
  lex.SkipCfws();
  std::string token;
  if (!lex.ParseToken(&token)) return;
  lex.SkipCfws();
  if (!lex.AtEnd()) return;  // trailing garbage: not a usable encoding
  part->encoding = std::move(token);
}

void ParseDisposition(std::string_view value, Part* part) {
  Lexer lex(value);
  lex.SkipCfws();
  std::string token;
  if (!lex.ParseToken(&token)) return;
  part->disposition = std::move(token);
  lex.SkipCfws();
  part->disposition_params = ParseParams(&lex);
}

void ParseLanguage(std::string_view value, Part* part) {
  Lexer lex(value);
  lex.SkipCfws();
  std::vector<std::string> tags;
  for (;;) {
    std::string tag;
    if (!lex.ParseAtom(&tag)) break;
    tags.push_back(std::move(tag));
    lex.SkipCfws();
    if (lex.Peek() != ',') break;
    lex.Advance();
    lex.SkipCfws();
  }
  part->language = std::move(tags);
}

// Applies one header field to the part (first occurrence of each Content-*
// field wins) and, for a message, to its envelope (last occurrence wins, as
// in Dovecot).
struct FieldsSeen {
  bool type = false, encoding = false, disposition = false, language = false;
  bool mime_version = false;
};

void ApplyField(const HeaderField& f, Part* part, FieldsSeen* seen) {
  std::string_view name = f.name;
  if (EqualsIgnoreAsciiCase(name, "MIME-Version")) {
    seen->mime_version = true;
    return;
  }
  if (StartsWithIgnoreAsciiCase(name, "Content-")) {
    std::string_view rest = name.substr(8);
    if (EqualsIgnoreAsciiCase(rest, "Type")) {
      if (!seen->type) {
        seen->type = true;
        ParseContentType(Unfold(f.raw_value), part);
      }
    } else if (EqualsIgnoreAsciiCase(rest, "Transfer-Encoding")) {
      if (!seen->encoding) {
        seen->encoding = true;
        ParseTransferEncoding(Unfold(f.raw_value), part);
      }
    } else if (EqualsIgnoreAsciiCase(rest, "ID")) {
      if (!part->id) part->id = Unfold(f.raw_value);
    } else if (EqualsIgnoreAsciiCase(rest, "Description")) {
      if (!part->description) part->description = Unfold(f.raw_value);
    } else if (EqualsIgnoreAsciiCase(rest, "MD5")) {
      if (!part->md5) part->md5 = Unfold(f.raw_value);
    } else if (EqualsIgnoreAsciiCase(rest, "Disposition")) {
      if (!seen->disposition) {
        seen->disposition = true;
        ParseDisposition(Unfold(f.raw_value), part);
      }
    } else if (EqualsIgnoreAsciiCase(rest, "Language")) {
      if (!seen->language) {
        seen->language = true;
        ParseLanguage(Unfold(f.raw_value), part);
      }
    } else if (EqualsIgnoreAsciiCase(rest, "Location")) {
      if (!part->location) part->location = Unfold(f.raw_value);
    }
    return;
  }
  Envelope* env = part->envelope.get();
  if (env == nullptr) return;
  switch (AsciiLower(name.empty() ? '\0' : name[0])) {
    case 'b':
      if (EqualsIgnoreAsciiCase(name, "Bcc")) env->bcc = ParseAddressList(f.raw_value);
      break;
    case 'c':
      if (EqualsIgnoreAsciiCase(name, "Cc")) env->cc = ParseAddressList(f.raw_value);
      break;
    case 'd':
      if (EqualsIgnoreAsciiCase(name, "Date")) env->date = Unfold(f.raw_value);
      break;
    case 'f':
      if (EqualsIgnoreAsciiCase(name, "From")) env->from = ParseAddressList(f.raw_value);
      break;
    case 'i':
      if (EqualsIgnoreAsciiCase(name, "In-Reply-To")) env->in_reply_to = Unfold(f.raw_value);
      break;
    case 'm':
      if (EqualsIgnoreAsciiCase(name, "Message-ID")) env->message_id = Unfold(f.raw_value);
      break;
    case 'r':
      if (EqualsIgnoreAsciiCase(name, "Reply-To")) env->reply_to = ParseAddressList(f.raw_value);
      break;
    case 's':
      if (EqualsIgnoreAsciiCase(name, "Subject")) {
        env->subject = Unfold(f.raw_value);
      } else if (EqualsIgnoreAsciiCase(name, "Sender")) {
        env->sender = ParseAddressList(f.raw_value);
      }
      break;
    case 't':
      if (EqualsIgnoreAsciiCase(name, "To")) env->to = ParseAddressList(f.raw_value);
      break;
    default:
      break;
  }
}

void ForgetContentFields(Part* part) {
  part->id.reset();
  part->description.reset();
  part->encoding.reset();
  part->md5.reset();
  part->disposition.reset();
  part->disposition_params.clear();
  part->language.clear();
  part->location.reset();
}

// ---------------------------------------------------------------------------
// The tree

// Length of the line break just before offset `pos` (2 CRLF, 1 LF, 0).
std::size_t BreakBefore(std::string_view raw, std::size_t pos) {
  if (pos >= 1 && raw[pos - 1] == '\n') return (pos >= 2 && raw[pos - 2] == '\r') ? 2 : 1;
  return 0;
}

std::size_t NextLine(std::string_view raw, std::size_t pos) {
  const void* nl = std::memchr(raw.data() + pos, '\n', raw.size() - pos);
  if (nl == nullptr) return raw.size();
  return static_cast<std::size_t>(static_cast<const char*>(nl) - raw.data()) + 1;
}

class Parser {
 public:
  explicit Parser(std::string_view raw) : raw_(raw) {}

  Part Parse() {
    Part root;
    ParseEntity(&root, 0, 0, /*is_message=*/true, /*in_digest=*/false);
    return root;
  }

 private:
  // A delimiter line that ends an entity.
  struct Stop {
    bool found = false;
    std::size_t line = 0;   // offset of the "--"
    std::size_t next = 0;   // offset after the delimiter line
    std::size_t level = 0;  // index into boundaries_
    bool close = false;     // "--boundary--"
  };

  // Does the line at `pos` (a line start) delimit an active multipart?
  Stop MatchDelimiter(std::size_t pos) const {
    Stop stop;
    if (boundaries_.empty() || raw_.size() - pos < 2 || raw_[pos] != '-' || raw_[pos + 1] != '-') {
      return stop;
    }
    std::string_view rest = raw_.substr(pos + 2);
    for (std::size_t i = boundaries_.size(); i-- > 0;) {
      std::string_view b = boundaries_[i];
      if (rest.size() < b.size() || rest.compare(0, b.size(), b) != 0) continue;
      std::string_view after = rest.substr(b.size());
      bool close = after.size() >= 2 && after[0] == '-' && after[1] == '-';
      if (!close) {
        // Only transport padding may follow a delimiter (RFC 2046 5.1.1).
        std::size_t k = 0;
        while (k < after.size() && (after[k] == ' ' || after[k] == '\t')) ++k;
        if (k < after.size() && after[k] != '\r' && after[k] != '\n') continue;
        if (k < after.size() && after[k] == '\r' && k + 1 < after.size() && after[k + 1] != '\n') {
          continue;
        }
      }
      stop.found = true;
      stop.line = pos;
      stop.next = NextLine(raw_, pos);
      stop.level = i;
      stop.close = close;
      return stop;
    }
    return stop;
  }

  // Scans lines from `pos` (a line start) for a delimiter of a multipart at
  // levels [0, max_level). Returns a Stop with found=false at the end.
  Stop ScanFor(std::size_t pos, std::size_t max_level) const {
    while (pos < raw_.size()) {
      if (raw_[pos] == '-') {
        Stop s = MatchDelimiter(pos);
        if (s.found && s.level < max_level) return s;
      }
      pos = NextLine(raw_, pos);
    }
    return Stop{};
  }

  // Where content that is ended by `stop` ends: before the line break that
  // belongs to the delimiter, but not before `floor`.
  std::size_t EndBefore(const Stop& stop, std::size_t floor) const {
    if (!stop.found) return raw_.size();
    std::size_t end = stop.line - BreakBefore(raw_, stop.line);
    return std::max(end, floor);
  }

  Stop ParseEntity(Part* part, std::size_t start, int depth, bool is_message, bool in_digest) {
    // The header ends at an empty line, or at a delimiter line of an
    // enclosing multipart (a part with a broken or missing header).
    Stop stop;
    std::size_t header_limit = raw_.size();
    std::size_t pos = start;
    if (!boundaries_.empty()) {
      while (pos < raw_.size()) {
        std::size_t line_end = NextLine(raw_, pos);
        std::size_t len = line_end - pos;
        if (len <= 2 && raw_[line_end - 1] == '\n' && (len == 1 || raw_[pos] == '\r')) break;
        if (raw_[pos] == '-') {
          stop = MatchDelimiter(pos);
          if (stop.found) {
            header_limit = EndBefore(stop, start);
            break;
          }
        }
        pos = line_end;
      }
    }
    if (is_message) part->envelope = std::make_unique<Envelope>();
    HeaderBlock header = ParseHeader(raw_, start, header_limit, kMaxHeaderBytes, kMaxHeaderFields);
    FieldsSeen seen;
    for (const HeaderField& f : header.fields) ApplyField(f, part, &seen);
    if (is_message && !seen.mime_version && !seen.type) {
      // Not a MIME message (RFC 2045 4): its other Content-* fields mean
      // nothing. Dovecot forgets them too; a Content-Type alone is taken
      // as MIME (real mail often lacks MIME-Version).
      ForgetContentFields(part);
    }
    if (in_digest && part->type.empty()) {
      part->type = "message";
      part->subtype = "rfc822";
    }
    part->header_offset = start;
    part->header_size = header.end - start;
    part->body_offset = header.end;

    if (stop.found) {
      // The header ran into a delimiter: no body.
      part->body_size = 0;
      part->body_lines = 0;
      return stop;
    }

    const std::string* boundary = nullptr;
    bool is_multipart = EqualsIgnoreAsciiCase(part->type, "multipart");
    bool is_rfc822 = EqualsIgnoreAsciiCase(part->type, "message") &&
                     EqualsIgnoreAsciiCase(part->subtype, "rfc822");
    if (is_multipart) {
      boundary = part->FindParam("boundary");
      if (boundary != nullptr && boundary->empty()) boundary = nullptr;
    }
    bool room = depth < kMaxNestingDepth && parts_ < kMaxParts;
    if ((boundary != nullptr || is_rfc822) && !room) part->truncated = true;

    std::size_t body_end;
    if (boundary != nullptr && room) {
      stop = ParseMultipartBody(part, *boundary, depth);
      body_end = EndBefore(stop, part->body_offset);
    } else if (is_rfc822 && room) {
      ++parts_;
      Part child;
      stop = ParseEntity(&child, part->body_offset, depth + 1, /*is_message=*/true, false);
      part->children.push_back(std::move(child));
      body_end = EndBefore(stop, part->body_offset);
    } else {
      stop = boundaries_.empty() ? Stop{} : ScanFor(part->body_offset, boundaries_.size());
      body_end = EndBefore(stop, part->body_offset);
    }
    part->body_size = body_end - part->body_offset;
    part->body_lines = static_cast<std::uint64_t>(
        std::count(raw_.data() + part->body_offset, raw_.data() + body_end, '\n'));
    return stop;
  }

  Stop ParseMultipartBody(Part* part, const std::string& boundary, int depth) {
    part->multipart = true;
    bool digest = EqualsIgnoreAsciiCase(part->subtype, "digest");
    std::size_t outer = boundaries_.size();
    boundaries_.push_back(boundary);
    // Preamble.
    Stop stop = ScanFor(part->body_offset, outer + 1);
    while (stop.found && stop.level == outer && !stop.close) {
      if (parts_ >= kMaxParts) {
        // Out of parts: the rest of this multipart stays unparsed.
        part->truncated = true;
        do {
          stop = ScanFor(stop.next, outer + 1);
        } while (stop.found && stop.level == outer && !stop.close);
        break;
      }
      ++parts_;
      Part child;
      stop = ParseEntity(&child, stop.next, depth + 1, /*is_message=*/false, digest);
      part->children.push_back(std::move(child));
    }
    if (stop.found && stop.level == outer && stop.close) {
      // Epilogue: runs to a delimiter of an enclosing multipart.
      stop = outer == 0 ? Stop{} : ScanFor(stop.next, outer);
    }
    boundaries_.pop_back();
    return stop;
  }

  std::string_view raw_;
  std::vector<std::string_view> boundaries_;  // outermost first
  std::size_t parts_ = 1;
};

}  // namespace

Part ParseMessage(std::string_view raw) { return Parser(raw).Parse(); }

}  // namespace pillarbox::mime
