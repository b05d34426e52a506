#include "protocols/mime/structure_codec.h"

#include <cstdint>

namespace pillarbox::mime {

namespace {

constexpr std::uint8_t kVersion = 1;

enum : std::uint8_t {
  kFlagMultipart = 1,
  kFlagTruncated = 2,
  kFlagEnvelope = 4,
  kFlagId = 8,
  kFlagDescription = 16,
  kFlagEncoding = 32,
  kFlagMd5 = 64,
  kFlagDisposition = 128,
};
enum : std::uint8_t { kFlag2Location = 1 };

// ---------------------------------------------------------------------------
// Writing

void PutVarint(std::string* out, std::uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutString(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}

void PutParams(std::string* out, const std::vector<Param>& params) {
  PutVarint(out, params.size());
  for (const Param& p : params) {
    PutString(out, p.name);
    PutString(out, p.value);
  }
}

void PutAddresses(std::string* out, const AddressList& list) {
  PutVarint(out, list.size());
  for (const Address& a : list) {
    out->push_back(static_cast<char>(a.kind));
    std::uint8_t bits =
        (a.name ? 1 : 0) | (a.route ? 2 : 0) | (a.mailbox ? 4 : 0) | (a.host ? 8 : 0);
    out->push_back(static_cast<char>(bits));
    if (a.name) PutString(out, *a.name);
    if (a.route) PutString(out, *a.route);
    if (a.mailbox) PutString(out, *a.mailbox);
    if (a.host) PutString(out, *a.host);
  }
}

void PutEnvelope(std::string* out, const Envelope& e) {
  std::uint8_t bits =
      (e.date ? 1 : 0) | (e.subject ? 2 : 0) | (e.in_reply_to ? 4 : 0) | (e.message_id ? 8 : 0);
  out->push_back(static_cast<char>(bits));
  if (e.date) PutString(out, *e.date);
  if (e.subject) PutString(out, *e.subject);
  if (e.in_reply_to) PutString(out, *e.in_reply_to);
  if (e.message_id) PutString(out, *e.message_id);
  PutAddresses(out, e.from);
  PutAddresses(out, e.sender);
  PutAddresses(out, e.reply_to);
  PutAddresses(out, e.to);
  PutAddresses(out, e.cc);
  PutAddresses(out, e.bcc);
}

void PutPart(std::string* out, const Part& p) {
  PutVarint(out, p.header_offset);
  PutVarint(out, p.header_size);
  PutVarint(out, p.body_size);
  PutVarint(out, p.body_lines);
  std::uint8_t flags = (p.multipart ? kFlagMultipart : 0) | (p.truncated ? kFlagTruncated : 0) |
                       (p.envelope ? kFlagEnvelope : 0) | (p.id ? kFlagId : 0) |
                       (p.description ? kFlagDescription : 0) | (p.encoding ? kFlagEncoding : 0) |
                       (p.md5 ? kFlagMd5 : 0) | (p.disposition ? kFlagDisposition : 0);
  std::uint8_t flags2 = p.location ? kFlag2Location : 0;
  out->push_back(static_cast<char>(flags));
  out->push_back(static_cast<char>(flags2));
  PutString(out, p.type);
  PutString(out, p.subtype);
  PutParams(out, p.params);
  if (p.id) PutString(out, *p.id);
  if (p.description) PutString(out, *p.description);
  if (p.encoding) PutString(out, *p.encoding);
  if (p.md5) PutString(out, *p.md5);
  if (p.disposition) {
    PutString(out, *p.disposition);
    PutParams(out, p.disposition_params);
  }
  PutVarint(out, p.language.size());
  for (const std::string& l : p.language) PutString(out, l);
  if (p.location) PutString(out, *p.location);
  if (p.envelope) PutEnvelope(out, *p.envelope);
  PutVarint(out, p.children.size());
  for (const Part& c : p.children) PutPart(out, c);
}

// ---------------------------------------------------------------------------
// Reading

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool ok() const { return ok_; }
  bool AtEnd() const { return pos_ == in_.size(); }
  std::size_t remaining() const { return in_.size() - pos_; }

  std::uint64_t Varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return Fail();
      auto b = static_cast<std::uint8_t>(in_[pos_++]);
      if (shift == 63 && (b & 0x7e) != 0) return Fail();  // overflows 64 bits
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    return Fail();
  }
  std::uint8_t Byte() {
    if (pos_ >= in_.size()) return static_cast<std::uint8_t>(Fail());
    return static_cast<std::uint8_t>(in_[pos_++]);
  }
  std::string String() {
    std::uint64_t n = Varint();
    if (!ok_ || n > remaining()) {
      Fail();
      return {};
    }
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  // A count of items that each take at least `min_bytes`: bounded by the input.
  std::uint64_t Count(std::size_t min_bytes) {
    std::uint64_t n = Varint();
    if (ok_ && n > remaining() / min_bytes) Fail();
    return ok_ ? n : 0;
  }

  std::uint64_t Fail() {
    ok_ = false;
    pos_ = in_.size();
    return 0;
  }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

std::vector<Param> ReadParams(Reader* r) {
  std::vector<Param> out;
  std::uint64_t n = r->Count(2);
  out.reserve(n);
  for (std::uint64_t i = 0; i < n && r->ok(); ++i) {
    Param p;
    p.name = r->String();
    p.value = r->String();
    out.push_back(std::move(p));
  }
  return out;
}

AddressList ReadAddresses(Reader* r) {
  AddressList out;
  std::uint64_t n = r->Count(2);
  out.reserve(n);
  for (std::uint64_t i = 0; i < n && r->ok(); ++i) {
    Address a;
    std::uint8_t kind = r->Byte();
    if (kind > static_cast<std::uint8_t>(Address::Kind::kGroupEnd)) {
      r->Fail();
      break;
    }
    a.kind = static_cast<Address::Kind>(kind);
    std::uint8_t bits = r->Byte();
    if (bits & ~0x0f) {
      r->Fail();
      break;
    }
    if (bits & 1) a.name = r->String();
    if (bits & 2) a.route = r->String();
    if (bits & 4) a.mailbox = r->String();
    if (bits & 8) a.host = r->String();
    out.push_back(std::move(a));
  }
  return out;
}

void ReadEnvelope(Reader* r, Envelope* e) {
  std::uint8_t bits = r->Byte();
  if (bits & ~0x0f) {
    r->Fail();
    return;
  }
  if (bits & 1) e->date = r->String();
  if (bits & 2) e->subject = r->String();
  if (bits & 4) e->in_reply_to = r->String();
  if (bits & 8) e->message_id = r->String();
  e->from = ReadAddresses(r);
  e->sender = ReadAddresses(r);
  e->reply_to = ReadAddresses(r);
  e->to = ReadAddresses(r);
  e->cc = ReadAddresses(r);
  e->bcc = ReadAddresses(r);
}

// Nesting: every level of the parser is one multipart or message/rfc822.
constexpr int kMaxDecodeDepth = kMaxNestingDepth + 1;

void ReadPart(Reader* r, Part* p, int depth, std::size_t* parts) {
  if (depth > kMaxDecodeDepth || ++*parts > kMaxParts + 1) {
    r->Fail();
    return;
  }
  p->header_offset = r->Varint();
  p->header_size = r->Varint();
  p->body_size = r->Varint();
  p->body_lines = r->Varint();
  if (p->header_offset > UINT64_MAX / 4 || p->header_size > UINT64_MAX / 4 ||
      p->body_size > UINT64_MAX / 4) {
    r->Fail();
    return;
  }
  p->body_offset = p->header_offset + p->header_size;
  std::uint8_t flags = r->Byte();
  std::uint8_t flags2 = r->Byte();
  if (flags2 & ~kFlag2Location) {
    r->Fail();
    return;
  }
  p->multipart = flags & kFlagMultipart;
  p->truncated = flags & kFlagTruncated;
  p->type = r->String();
  p->subtype = r->String();
  p->params = ReadParams(r);
  if (flags & kFlagId) p->id = r->String();
  if (flags & kFlagDescription) p->description = r->String();
  if (flags & kFlagEncoding) p->encoding = r->String();
  if (flags & kFlagMd5) p->md5 = r->String();
  if (flags & kFlagDisposition) {
    p->disposition = r->String();
    p->disposition_params = ReadParams(r);
  }
  std::uint64_t langs = r->Count(1);
  for (std::uint64_t i = 0; i < langs && r->ok(); ++i) p->language.push_back(r->String());
  if (flags2 & kFlag2Location) p->location = r->String();
  if (flags & kFlagEnvelope) {
    p->envelope = std::make_unique<Envelope>();
    ReadEnvelope(r, p->envelope.get());
  }
  std::uint64_t children = r->Count(8);
  if (!r->ok()) return;
  // A non-multipart holds at most its embedded message.
  if (!p->multipart && children > 1) {
    r->Fail();
    return;
  }
  p->children.reserve(children);
  for (std::uint64_t i = 0; i < children && r->ok(); ++i) {
    p->children.emplace_back();
    ReadPart(r, &p->children.back(), depth + 1, parts);
  }
  // An embedded message always has its envelope.
  if (r->ok() && !p->multipart && children == 1 && !p->children[0].envelope) r->Fail();
}

}  // namespace

std::string SerializeStructure(const Part& root) {
  std::string out;
  out.push_back(static_cast<char>(kVersion));
  PutPart(&out, root);
  return out;
}

Result<Part> DeserializeStructure(std::string_view bytes) {
  if (bytes.empty() || static_cast<std::uint8_t>(bytes[0]) != kVersion) {
    return Status::Corruption("message structure: unknown format version");
  }
  Reader r(bytes.substr(1));
  Part root;
  std::size_t parts = 0;
  ReadPart(&r, &root, 0, &parts);
  if (!r.ok()) return Status::Corruption("message structure: malformed");
  if (!r.AtEnd()) return Status::Corruption("message structure: trailing bytes");
  if (!root.envelope) return Status::Corruption("message structure: root without envelope");
  return root;
}

}  // namespace pillarbox::mime
