// The keys IMAP SORT and THREAD (RFC 5256, RFC 5957) need from a message's
// header, computed once when the message is stored (the store keeps them
// next to the structure, opaque to it) and read back without re-parsing.
//
// What is kept, all folded for comparison (SortFold):
// - the base subject (RFC 5256 2.1) and whether extracting it removed a
//   reply/forward marker ("Re:", "Fwd:", "(fwd)", "[fwd: ...]");
// - the sent date (Date:, as UTC seconds) when it parses;
// - the local part of the first From, To and Cc address (SORT FROM/TO/CC);
// - the display name of the first From and To address, or its addr-spec
//   when it has none (SORT DISPLAYFROM/DISPLAYTO, RFC 5957); a group counts
//   by its name, as Dovecot does;
// - the Message-ID and the ids of References (or, without any, the first of
//   In-Reply-To), for THREAD=REFERENCES.
// Each header field is taken from its first occurrence.
//
// Encoded form (version 1): u8 version (1), u8 flags (1 sent date present,
// 2 subject was a reply/forward), i64 sent date (big-endian), then seven
// strs (subject, from, to, cc, display from, display to, message-id) and
// one str of reference ids separated by spaces (ids have their white space
// removed), oldest first; a str is a LEB128 varint length and the bytes.
// A reader that finds another version or a malformed value computes the
// keys again from the message (ComputeSortKeys).
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pillarbox::mime {

inline constexpr std::uint8_t kSortKeysVersion = 1;
// Bytes of one folded key kept (subjects and names longer than this sort by
// their prefix): keeps the stored keys small whatever the header holds.
inline constexpr std::size_t kMaxSortKeyBytes = 512;
// Reference ids kept per message (the last ones: the parent is last).
inline constexpr std::size_t kMaxSortReferences = 64;
// Bytes of one message id kept; longer ids are cut (still unique enough).
inline constexpr std::size_t kMaxMessageIdBytes = 250;

struct SortKeys {
  bool has_date = false;
  bool reply = false;                    // the base subject came from a reply/forward
  std::int64_t date = 0;                 // sent date, UTC seconds, when has_date
  std::string subject;                   // base subject, folded
  std::string from, to, cc;              // local part of the first address, folded
  std::string display_from, display_to;  // folded
  std::string message_id;                // without < >
  std::string references;                // ids separated by ' '
};

// The same, pointing into an encoded value (valid while it is).
struct SortKeysView {
  bool has_date = false;
  bool reply = false;
  std::int64_t date = 0;
  std::string_view subject, from, to, cc, display_from, display_to, message_id, references;
};

// Computes the keys from the raw message (its header only).
SortKeys ComputeSortKeys(std::string_view raw_message);
std::string EncodeSortKeys(const SortKeys& keys);
// nullopt for another version or a malformed value.
std::optional<SortKeysView> DecodeSortKeys(std::string_view encoded);

// RFC 5256 2.1 base subject of a decoded (UTF-8) subject, not folded.
// `reply` (may be null) is set when a reply/forward marker was removed.
std::string BaseSubject(std::string_view decoded, bool* reply);

// The comparison form of the i;unicode-casemap collation (RFC 5051), as far
// as this server goes: letters mapped to upper case (ASCII, Latin-1, Latin
// Extended-A, Greek, Cyrillic) and the accented Latin-1 letters decomposed
// into base letter and combining mark, so "é" sorts between "E" and "F".
// Compare results bytewise.
std::string SortFold(std::string_view utf8);

}  // namespace pillarbox::mime
