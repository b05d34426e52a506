#include "protocols/imap/fetch.h"

#include <algorithm>

#include "common/strings.h"
#include "protocols/imap/imap_format.h"
#include "protocols/imap/object_id.h"
#include "protocols/mime/decode.h"
#include "protocols/mime/header.h"
#include "protocols/mime/imap_render.h"
#include "protocols/mime/message.h"
#include "protocols/mime/section.h"
#include "protocols/mime/sort_keys.h"
#include "protocols/mime/structure_codec.h"

namespace pillarbox::imap {
namespace {

using ItemKind = FetchItem::Kind;
using Text = FetchSection::Text;

Status Bad(std::string what) { return Status::InvalidArgument(std::move(what)); }

// ---------------------------------------------------------------------------
// Parsing

bool ParseUint(std::string_view s, std::size_t& pos, std::uint64_t& out) {
  std::size_t start = pos;
  std::uint64_t v = 0;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
    if (pos - start >= 19) return false;
    v = v * 10 + static_cast<std::uint64_t>(s[pos] - '0');
    ++pos;
  }
  if (pos == start) return false;
  out = v;
  return true;
}

// Parses "[section]<o.c>" starting at '['. The section between the brackets
// follows mime::ParseSectionSpec; the partial and BINARY rules are ours.
Status ParseSection(std::string_view s, std::size_t pos, bool binary, bool allow_partial,
                    FetchSection& out) {
  if (pos >= s.size() || s[pos] != '[') return Bad("Invalid section");
  // The section ends at the last ']' (a quoted field name may hold one).
  std::size_t close = s.rfind(']');
  if (close == std::string_view::npos || close < pos) return Bad("Invalid section");
  std::string_view inner = s.substr(pos + 1, close - pos - 1);
  std::optional<mime::SectionSpec> spec = mime::ParseSectionSpec(inner);
  if (!spec) return Bad("Invalid section");
  if (binary && spec->text != mime::SectionSpec::Text::kNone) return Bad("Invalid section");
  if (spec->part.size() > kMaxSectionDepth) return Bad("Invalid section");
  if (spec->fields.size() > kMaxFetchHeaderFields) return Bad("Too many header fields");
  out.part = std::move(spec->part);
  out.text = static_cast<Text>(spec->text);
  out.fields = std::move(spec->fields);
  pos = close + 1;
  if (pos < s.size() && s[pos] == '<') {
    if (!allow_partial) return Bad("Invalid section");
    ++pos;
    std::uint64_t origin = 0, count = 0;
    if (!ParseUint(s, pos, origin)) return Bad("Invalid partial");
    if (pos >= s.size() || s[pos] != '.') return Bad("Invalid partial");
    ++pos;
    if (!ParseUint(s, pos, count)) return Bad("Invalid partial");
    if (pos >= s.size() || s[pos] != '>') return Bad("Invalid partial");
    ++pos;
    out.partial_origin = origin;
    out.partial_count = count;
  }
  if (pos != s.size()) return Bad("Invalid section");
  return Status::Ok();
}

Status ParseOneItem(const Value& v, std::vector<FetchItem>& items) {
  if (!v.IsAtom()) return Bad("Invalid fetch item");
  std::string_view s = v.text;
  std::size_t bracket = s.find('[');
  std::string name = AsciiFold(s.substr(0, bracket));
  FetchItem item;
  if (bracket == std::string_view::npos) {
    static constexpr std::pair<std::string_view, ItemKind> kSimple[] = {
        {"flags", ItemKind::kFlags},
        {"internaldate", ItemKind::kInternalDate},
        {"rfc822", ItemKind::kRfc822},
        {"rfc822.header", ItemKind::kRfc822Header},
        {"rfc822.size", ItemKind::kRfc822Size},
        {"rfc822.text", ItemKind::kRfc822Text},
        {"envelope", ItemKind::kEnvelope},
        {"body", ItemKind::kBody},
        {"bodystructure", ItemKind::kBodyStructure},
        {"uid", ItemKind::kUid},
        {"modseq", ItemKind::kModSeq},
        {"savedate", ItemKind::kSaveDate},
        {"emailid", ItemKind::kEmailId},
        {"threadid", ItemKind::kThreadId},
    };
    for (const auto& [n, kind] : kSimple) {
      if (name == n) {
        item.kind = kind;
        items.push_back(item);
        return Status::Ok();
      }
    }
    return Bad("Invalid fetch item " + std::string(s.substr(0, 40)));
  }
  bool binary = false;
  bool allow_partial = true;
  if (name == "body" || name == "body.peek") {
    item.kind = ItemKind::kBodySection;
    item.peek = name == "body.peek";
  } else if (name == "binary" || name == "binary.peek") {
    item.kind = ItemKind::kBinary;
    item.peek = name == "binary.peek";
    binary = true;
  } else if (name == "binary.size") {
    item.kind = ItemKind::kBinarySize;
    binary = true;
    allow_partial = false;
  } else {
    return Bad("Invalid fetch item " + std::string(s.substr(0, 40)));
  }
  PB_RETURN_IF_ERROR(ParseSection(s, bracket, binary, allow_partial, item.section));
  items.push_back(std::move(item));
  return Status::Ok();
}

void Finish(FetchSpec& spec) {
  std::vector<FetchItem> unique;
  for (FetchItem& item : spec.items) {
    if (std::find(unique.begin(), unique.end(), item) == unique.end()) {
      unique.push_back(std::move(item));
    }
  }
  spec.items = std::move(unique);
  for (const FetchItem& item : spec.items) {
    switch (item.kind) {
      case ItemKind::kUid:
        spec.has_uid = true;
        break;
      case ItemKind::kFlags:
        spec.has_flags = true;
        break;
      case ItemKind::kModSeq:
        spec.has_modseq = true;
        break;
      case ItemKind::kRfc822:
      case ItemKind::kRfc822Text:
        spec.sets_seen = true;
        spec.needs_blob = true;
        spec.needs_structure = true;
        break;
      case ItemKind::kRfc822Header:
        spec.needs_blob = true;
        spec.needs_structure = true;
        break;
      case ItemKind::kEnvelope:
      case ItemKind::kBody:
      case ItemKind::kBodyStructure:
        spec.needs_structure = true;
        break;
      case ItemKind::kBodySection:
      case ItemKind::kBinary:
      case ItemKind::kBinarySize:
        if (!item.peek && item.kind != ItemKind::kBinarySize) spec.sets_seen = true;
        spec.needs_blob = true;
        spec.needs_structure = true;
        break;
      case ItemKind::kInternalDate:
      case ItemKind::kRfc822Size:
      case ItemKind::kSaveDate:
      case ItemKind::kEmailId:
      case ItemKind::kThreadId:
        break;
    }
  }
}

}  // namespace

Result<FetchSpec> ParseFetchItems(const Value& items) {
  FetchSpec spec;
  if (items.IsList()) {
    if (items.items.empty()) return Bad("Invalid fetch items: empty list");
    for (const Value& v : items.items) PB_RETURN_IF_ERROR(ParseOneItem(v, spec.items));
  } else if (items.IsAtom() &&
             (items.AtomIs("ALL") || items.AtomIs("FAST") || items.AtomIs("FULL"))) {
    spec.items.push_back({ItemKind::kFlags, false, {}});
    spec.items.push_back({ItemKind::kInternalDate, false, {}});
    spec.items.push_back({ItemKind::kRfc822Size, false, {}});
    if (!items.AtomIs("FAST")) spec.items.push_back({ItemKind::kEnvelope, false, {}});
    if (items.AtomIs("FULL")) spec.items.push_back({ItemKind::kBody, false, {}});
  } else {
    PB_RETURN_IF_ERROR(ParseOneItem(items, spec.items));
  }
  Finish(spec);
  return spec;
}

Result<FetchSpec> ParseFetchItems(const std::vector<Value>& args, std::size_t start) {
  if (start >= args.size()) return Bad("Missing fetch items");
  if (start + 1 != args.size()) return Bad("Unexpected arguments after fetch items");
  return ParseFetchItems(args[start]);
}

bool FetchSetsSeen(const FetchSpec& spec, const storage::Flags& flags) {
  return spec.sets_seen && (flags.system & storage::kFlagSeen) == 0;
}

namespace {

// ---------------------------------------------------------------------------
// Rendering

// FetchSection::Text mirrors mime::SectionSpec::Text value for value.
static_assert(static_cast<int>(Text::kMime) == static_cast<int>(mime::SectionSpec::Text::kMime));
static_assert(static_cast<int>(Text::kText) == static_cast<int>(mime::SectionSpec::Text::kText));
static_assert(static_cast<int>(Text::kHeaderFieldsNot) ==
              static_cast<int>(mime::SectionSpec::Text::kHeaderFieldsNot));

mime::SectionSpec ToMime(const FetchSection& s) {
  mime::SectionSpec spec;
  spec.part = s.part;
  spec.text = static_cast<mime::SectionSpec::Text>(s.text);
  spec.fields = s.fields;
  return spec;
}

std::string SectionLabel(const FetchSection& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.part.size(); ++i) {
    if (i > 0) out += '.';
    out += std::to_string(s.part[i]);
  }
  if (s.text != Text::kNone && !s.part.empty()) out += '.';
  switch (s.text) {
    case Text::kNone:
      break;
    case Text::kHeader:
      out += "HEADER";
      break;
    case Text::kText:
      out += "TEXT";
      break;
    case Text::kMime:
      out += "MIME";
      break;
    case Text::kHeaderFields:
    case Text::kHeaderFieldsNot:
      out += s.text == Text::kHeaderFields ? "HEADER.FIELDS (" : "HEADER.FIELDS.NOT (";
      for (std::size_t i = 0; i < s.fields.size(); ++i) {
        if (i > 0) out += ' ';
        out += FormatAString(s.fields[i]);
      }
      out += ')';
      break;
  }
  out += ']';
  return out;
}

class Renderer {
 public:
  Renderer(const FetchMessage& message, storage::ReadView* view, const FetchRenderOptions& options)
      : msg_(message), record_(*message.record), view_(view), options_(options) {}

  Status Render(const FetchSpec& spec) {
    cur_ = "* ";
    cur_ += std::to_string(msg_.seq);
    cur_ += " FETCH (";
    first_ = true;
    if (options_.force_uid && !spec.has_uid) {
      Sep();
      AppendUid();
    }
    for (const FetchItem& item : spec.items) {
      Sep();
      PB_RETURN_IF_ERROR(RenderItem(item));
    }
    if (options_.force_flags && !spec.has_flags) {
      Sep();
      AppendFlags();
    }
    if (options_.force_modseq && !spec.has_modseq) {
      Sep();
      AppendModSeq();
    }
    cur_ += ")\r\n";
    FlushBytes();
    return Status::Ok();
  }

  std::vector<FetchPiece> Take() { return std::move(pieces_); }

 private:
  void Sep() {
    if (!first_) cur_ += ' ';
    first_ = false;
  }

  void FlushBytes() {
    if (cur_.empty()) return;
    FetchPiece p;
    p.bytes = std::move(cur_);
    pieces_.push_back(std::move(p));
    cur_.clear();
  }

  void AppendUid() {
    cur_ += "UID ";
    cur_ += std::to_string(record_.uid);
  }
  void AppendFlags() {
    cur_ += "FLAGS ";
    cur_ += FormatFlags(record_.flags, msg_.recent);
  }
  void AppendModSeq() {
    cur_ += "MODSEQ (";
    cur_ += std::to_string(record_.modseq);
    cur_ += ')';
  }

  Status LoadRaw() {
    if (raw_loaded_) return Status::Ok();
    if (view_ == nullptr) return Status::Internal("FETCH needs a read view");
    auto blob = view_->Blob(record_.blob);
    if (!blob.ok()) return blob.status();
    raw_ = *blob;
    raw_loaded_ = true;
    return Status::Ok();
  }

  // From the sort keys the store keeps; computed from the header for a
  // message stored before them.
  Result<std::string> ThreadIdOfMessage() {
    if (view_ == nullptr) return Status::Internal("FETCH needs a read view");
    if (auto stored = view_->SortKeys(record_.blob); stored.ok()) {
      if (auto keys = mime::DecodeSortKeys(*stored)) {
        return ThreadId(keys->message_id, keys->references, record_);
      }
    }
    PB_RETURN_IF_ERROR(LoadRaw());
    mime::SortKeys keys = mime::ComputeSortKeys(raw_);
    return ThreadId(keys.message_id, keys.references, record_);
  }

  Result<const mime::Part*> Structure() {
    if (root_) return &*root_;
    if (view_ == nullptr) return Status::Internal("FETCH needs a read view");
    auto stored = view_->Structure(record_.blob);
    if (stored.ok()) {
      auto part = mime::DeserializeStructure(*stored);
      if (part.ok()) root_ = std::move(*part);
    }
    if (!root_) {
      PB_RETURN_IF_ERROR(LoadRaw());
      root_ = mime::ParseMessage(raw_);
    }
    return &*root_;
  }

  // A literal whose content is raw_[offset, offset+length): a blob range
  // when long, else copied.
  void BlobLiteral(std::uint64_t offset, std::uint64_t length) {
    cur_ += '{';
    cur_ += std::to_string(length);
    cur_ += "}\r\n";
    if (length >= options_.inline_limit && length > 0) {
      FlushBytes();
      FetchPiece p;
      p.range = BlobRange{record_.blob, offset, length};
      pieces_.push_back(std::move(p));
    } else {
      cur_.append(raw_.substr(offset, length));
    }
  }

  void BytesLiteral(std::string_view bytes, bool binary) {
    bool nul = binary && bytes.find('\0') != std::string_view::npos;
    cur_ += nul ? "~{" : "{";
    cur_ += std::to_string(bytes.size());
    cur_ += "}\r\n";
    cur_.append(bytes);
  }

  // Applies <origin.count> to a range of `length` bytes; sets the label's
  // "<origin>" suffix.
  static void ApplyPartial(const FetchSection& s, std::uint64_t& offset, std::uint64_t& length) {
    if (!s.partial_origin) return;
    std::uint64_t origin = std::min(*s.partial_origin, length);
    std::uint64_t n = std::min(*s.partial_count, length - origin);
    offset += origin;
    length = n;
  }

  void PartialLabel(const FetchSection& s) {
    if (s.partial_origin) {
      cur_ += '<';
      cur_ += std::to_string(*s.partial_origin);
      cur_ += '>';
    }
  }

  // BODY[section] / RFC822* content (not BINARY).
  Status RenderBody(const FetchSection& s, std::string_view label, bool show_section) {
    PB_RETURN_IF_ERROR(LoadRaw());
    cur_ += label;
    if (show_section) cur_ += SectionLabel(s);
    PartialLabel(s);
    cur_ += ' ';
    if (s.part.empty() && s.text == Text::kNone) {
      // The whole message (BODY[], RFC822): no structure needed, which
      // keeps FETCH 1:* BODY.PEEK[] from decoding every structure.
      std::uint64_t offset = 0, length = raw_.size();
      ApplyPartial(s, offset, length);
      BlobLiteral(offset, length);
      return Status::Ok();
    }
    auto root = Structure();
    if (!root.ok()) return root.status();
    mime::SectionContent c = mime::ResolveSection(raw_, **root, ToMime(s));
    if (!c.found) {
      // No such part: an empty string, as Dovecot answers.
      cur_ += "{0}\r\n";
      return Status::Ok();
    }
    if (c.synthesized) {
      std::uint64_t o = 0, n = c.bytes.size();
      ApplyPartial(s, o, n);
      BytesLiteral(std::string_view(c.bytes).substr(o, n), false);
      return Status::Ok();
    }
    // Clamp to the blob (a structure from a damaged store must not make us
    // read past the bytes).
    std::uint64_t offset = std::min<std::uint64_t>(c.offset, raw_.size());
    std::uint64_t length = std::min<std::uint64_t>(c.size, raw_.size() - offset);
    ApplyPartial(s, offset, length);
    BlobLiteral(offset, length);
    return Status::Ok();
  }

  // The decoded content of a BINARY section; nullopt when the part does not
  // exist. Sets `range` instead when no decoding is needed.
  Status BinaryContent(const FetchSection& s, const mime::Part*& part, std::string& decoded,
                       bool& use_range, std::uint64_t& offset, std::uint64_t& length) {
    auto root = Structure();
    if (!root.ok()) return root.status();
    PB_RETURN_IF_ERROR(LoadRaw());
    part = nullptr;
    use_range = true;
    if (s.part.empty()) {
      part = *root;
      offset = 0;
      length = raw_.size();
      return Status::Ok();
    }
    part = mime::FindPart(**root, s.part);
    if (part == nullptr) return Status::Ok();
    offset = std::min<std::uint64_t>(part->body_offset, raw_.size());
    length = std::min<std::uint64_t>(part->body_size, raw_.size() - offset);
    if (part->IsMultipart() || part->IsMessageRfc822() || !part->encoding) return Status::Ok();
    std::string cte = AsciiFold(*part->encoding);
    if (cte == "7bit" || cte == "8bit" || cte == "binary") return Status::Ok();
    if (cte != "base64" && cte != "quoted-printable") {
      return Status::Unsupported("unknown content-transfer-encoding " + cte);
    }
    decoded = mime::DecodeTransferEncoding(raw_.substr(offset, length), part->encoding);
    use_range = false;
    return Status::Ok();
  }

  Status RenderBinary(const FetchItem& item) {
    const FetchSection& s = item.section;
    const mime::Part* part = nullptr;
    std::string decoded;
    bool use_range = true;
    std::uint64_t offset = 0, length = 0;
    PB_RETURN_IF_ERROR(BinaryContent(s, part, decoded, use_range, offset, length));
    std::string label = SectionLabel(s);
    if (item.kind == ItemKind::kBinarySize) {
      cur_ += "BINARY.SIZE";
      cur_ += label;
      cur_ += ' ';
      // No such part: size 0, as Dovecot answers.
      cur_ += part == nullptr ? "0" : std::to_string(use_range ? length : decoded.size());
      return Status::Ok();
    }
    cur_ += "BINARY";
    cur_ += label;
    PartialLabel(s);
    cur_ += ' ';
    if (part == nullptr) {
      cur_ += "{0}\r\n";
      return Status::Ok();
    }
    if (use_range) {
      ApplyPartial(s, offset, length);
      std::string_view bytes = raw_.substr(offset, length);
      if (bytes.find('\0') != std::string_view::npos) {
        BytesLiteral(bytes, true);
      } else {
        BlobLiteral(offset, length);
      }
      return Status::Ok();
    }
    std::uint64_t o = 0, n = decoded.size();
    ApplyPartial(s, o, n);
    BytesLiteral(std::string_view(decoded).substr(o, n), true);
    return Status::Ok();
  }

  Status RenderItem(const FetchItem& item) {
    switch (item.kind) {
      case ItemKind::kFlags:
        AppendFlags();
        return Status::Ok();
      case ItemKind::kUid:
        AppendUid();
        return Status::Ok();
      case ItemKind::kModSeq:
        AppendModSeq();
        return Status::Ok();
      case ItemKind::kInternalDate:
        cur_ += "INTERNALDATE ";
        cur_ += FormatInternalDate(record_.internal_date, record_.internal_date_tz);
        return Status::Ok();
      case ItemKind::kSaveDate:
        // RFC 8514: NIL where the save date is unknown (records from before
        // it was kept).
        cur_ += "SAVEDATE ";
        cur_ += record_.saved != 0 ? FormatInternalDate(record_.saved, 0) : "NIL";
        return Status::Ok();
      case ItemKind::kEmailId:
        cur_ += "EMAILID (" + EmailId(record_) + ")";
        return Status::Ok();
      case ItemKind::kThreadId: {
        auto id = ThreadIdOfMessage();
        if (!id.ok()) return id.status();
        cur_ += "THREADID (" + *id + ")";
        return Status::Ok();
      }
      case ItemKind::kRfc822Size:
        cur_ += "RFC822.SIZE ";
        cur_ += std::to_string(record_.size);
        return Status::Ok();
      case ItemKind::kEnvelope: {
        auto root = Structure();
        if (!root.ok()) return root.status();
        cur_ += "ENVELOPE ";
        const mime::Part& part = **root;
        mime::AppendEnvelope(&cur_, part.envelope ? *part.envelope : mime::Envelope{});
        return Status::Ok();
      }
      case ItemKind::kBody:
      case ItemKind::kBodyStructure: {
        auto root = Structure();
        if (!root.ok()) return root.status();
        bool extended = item.kind == ItemKind::kBodyStructure;
        cur_ += extended ? "BODYSTRUCTURE " : "BODY ";
        mime::AppendBodyStructure(&cur_, **root, extended);
        return Status::Ok();
      }
      case ItemKind::kRfc822: {
        FetchSection s;
        return RenderBody(s, "RFC822", false);
      }
      case ItemKind::kRfc822Header: {
        FetchSection s;
        s.text = Text::kHeader;
        return RenderBody(s, "RFC822.HEADER", false);
      }
      case ItemKind::kRfc822Text: {
        FetchSection s;
        s.text = Text::kText;
        return RenderBody(s, "RFC822.TEXT", false);
      }
      case ItemKind::kBodySection:
        return RenderBody(item.section, "BODY", true);
      case ItemKind::kBinary:
      case ItemKind::kBinarySize:
        return RenderBinary(item);
    }
    return Status::Internal("unknown fetch item");
  }

  const FetchMessage& msg_;
  const storage::MessageRecord& record_;
  storage::ReadView* view_;
  const FetchRenderOptions& options_;
  std::vector<FetchPiece> pieces_;
  std::string cur_;
  bool first_ = true;
  bool raw_loaded_ = false;
  std::string_view raw_;
  std::optional<mime::Part> root_;
};

}  // namespace

Result<std::vector<FetchPiece>> RenderFetch(const FetchSpec& spec, const FetchMessage& message,
                                            storage::ReadView* view,
                                            const FetchRenderOptions& options) {
  Renderer r(message, view, options);
  PB_RETURN_IF_ERROR(r.Render(spec));
  return r.Take();
}

Result<std::string> FlattenPieces(const std::vector<FetchPiece>& pieces, storage::ReadView* view) {
  std::string out;
  for (const FetchPiece& p : pieces) {
    if (!p.range) {
      out += p.bytes;
      continue;
    }
    if (view == nullptr) return Status::Internal("FlattenPieces needs a read view");
    auto blob = view->Blob(p.range->blob);
    if (!blob.ok()) return blob.status();
    if (p.range->offset > blob->size() || p.range->length > blob->size() - p.range->offset) {
      return Status::Corruption("blob range past the end");
    }
    out.append(blob->substr(p.range->offset, p.range->length));
  }
  return out;
}

}  // namespace pillarbox::imap
