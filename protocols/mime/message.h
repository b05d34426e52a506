// The MIME structure of one RFC 5322 message: a tree of parts with the byte
// offsets of every part's header and body in the raw message, the MIME fields
// IMAP's BODYSTRUCTURE needs, and the envelope of every message (the top-level
// one and each one embedded in a message/rfc822 part).
//
// ParseMessage() never fails: malformed input still yields a structure (the
// defaults of RFC 2045 fill the gaps, limits turn the rest into an opaque
// leaf). The structure is computed once per blob by the store's analyzer and
// kept serialized (see structure_codec.h).
//
// Thread-safety: values; no shared state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pillarbox::mime {

// Nesting of multipart and message/rfc822 parts below the top-level message.
// Deeper parts are kept as opaque leaves. (Dovecot allows 100; no real mail
// comes close to 50, and each level costs stack in the renderers.)
inline constexpr int kMaxNestingDepth = 50;
// Parts in one message (all levels, the message itself included). A
// multipart that reaches it keeps the parts parsed so far.
inline constexpr std::size_t kMaxParts = 10000;
// Bytes of one header block that are parsed into fields. The rest of a
// larger header is still skipped as header but its fields are ignored.
inline constexpr std::size_t kMaxHeaderBytes = 1u << 20;  // 1 MiB
// Header fields parsed per header block (same treatment as kMaxHeaderBytes).
inline constexpr std::size_t kMaxHeaderFields = 10000;

struct Param {
  std::string name;  // as written
  std::string value;
  bool operator==(const Param&) const = default;
};

// One element of an IMAP envelope address list. A group is a kGroupStart
// element (mailbox = group name), its members, then a kGroupEnd element.
struct Address {
  enum class Kind : std::uint8_t { kMailbox, kGroupStart, kGroupEnd };
  Kind kind = Kind::kMailbox;
  std::optional<std::string> name;     // display name, raw (encoded words kept)
  std::optional<std::string> route;    // obsolete source route "@a,@b"
  std::optional<std::string> mailbox;  // local part (or group name)
  std::optional<std::string> host;     // domain
  bool operator==(const Address&) const = default;
};
using AddressList = std::vector<Address>;

// The envelope fields of RFC 3501 section 7.4.2. Each comes from the last
// occurrence of its header field, as in Dovecot (the Content-* fields of a
// part use the first). nullopt / empty list: the field is absent (or, for an
// address list, has no address).
struct Envelope {
  std::optional<std::string> date;  // unfolded raw values
  std::optional<std::string> subject;
  AddressList from, sender, reply_to, to, cc, bcc;
  std::optional<std::string> in_reply_to;
  std::optional<std::string> message_id;
  bool operator==(const Envelope&) const = default;
};

struct Part {
  // Byte offsets into the raw message.
  std::uint64_t header_offset = 0;
  std::uint64_t header_size = 0;  // includes the empty line ending it, if any
  std::uint64_t body_offset = 0;  // header_offset + header_size
  std::uint64_t body_size = 0;
  // Lines of the body (counted for every part; IMAP shows it for text/* and
  // message/rfc822).
  std::uint64_t body_lines = 0;

  // Content-Type as written (case kept, as Dovecot shows it). Empty type:
  // no usable Content-Type, the RFC 2045 default text/plain applies (or
  // message/rfc822 inside multipart/digest, which the parser fills in).
  // Empty subtype with a type: the field had no "/subtype".
  std::string type;
  std::string subtype;
  // Parameters as written, in Dovecot's order: plain ones first, then the
  // RFC 2231 ones joined ("name*" with the raw ext-value when any segment
  // was extended). Use DecodedParam() (decode.h) for the text a user sees.
  std::vector<Param> params;
  std::optional<std::string> id;           // Content-ID
  std::optional<std::string> description;  // Content-Description (raw)
  std::optional<std::string> encoding;     // Content-Transfer-Encoding
  std::optional<std::string> md5;          // Content-MD5
  std::optional<std::string> disposition;  // Content-Disposition type
  std::vector<Param> disposition_params;
  std::vector<std::string> language;    // Content-Language tags
  std::optional<std::string> location;  // Content-Location
  bool multipart = false;               // see IsMultipart()
  bool truncated = false;               // a limit was hit: kept as an opaque leaf

  // Multipart: the body parts. message/rfc822: exactly one child, the
  // embedded message (whose header starts at this part's body_offset).
  std::vector<Part> children;
  // Set on a message: the top-level part and each embedded message.
  std::unique_ptr<Envelope> envelope;

  Part() = default;
  Part(Part&&) = default;
  Part& operator=(Part&&) = default;
  Part(const Part& other);
  Part& operator=(const Part& other);
  bool operator==(const Part& other) const;

  // Has body parts (a multipart with a usable boundary, within limits).
  bool IsMultipart() const { return multipart; }
  // Holds an embedded message in children[0].
  bool IsMessageRfc822() const { return !multipart && !children.empty(); }
  // text/* or no Content-Type (RFC 2045 default).
  bool IsText() const;
  // The value of a Content-Type parameter (name compared case-insensitively,
  // first match), or nullptr.
  const std::string* FindParam(std::string_view name) const;
};

// Parses raw message bytes (CRLF line endings; bare LF tolerated).
Part ParseMessage(std::string_view raw);

// raw[offset, offset + size) clamped to raw: a structure that does not match
// its blob (corruption) yields short or empty ranges, never a crash.
inline std::string_view Slice(std::string_view raw, std::uint64_t offset, std::uint64_t size) {
  if (offset >= raw.size()) return {};
  std::uint64_t avail = raw.size() - offset;
  return raw.substr(static_cast<std::size_t>(offset),
                    static_cast<std::size_t>(size < avail ? size : avail));
}

}  // namespace pillarbox::mime
