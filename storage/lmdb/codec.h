// Key and value layouts of the LMDB databases (see FORMAT.md, which is the
// reference; keep both in step). Pure functions over bytes: no LMDB here.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/strings.h"
#include "storage/store.h"
#include "storage/types.h"

namespace pillarbox::storage::lmdb {

// Bumped whenever a layout below changes incompatibly. Checked at open.
constexpr std::uint32_t kFormatVersion = 2;
// The oldest version this build opens (and upgrades in place at open: every
// version-1 record is a valid version-2 record).
constexpr std::uint32_t kOldestFormatVersion = 1;
// LMDB's default maximum key size; longer keys are replaced by a hash.
constexpr std::size_t kMaxKeyBytes = 511;

// Appends fixed-width big-endian fields and length-prefixed strings.
class Encoder {
 public:
  Encoder& U8(std::uint8_t v) {
    s_.push_back(static_cast<char>(v));
    return *this;
  }
  Encoder& U32(std::uint32_t v) {
    PutBigEndian32(s_, v);
    return *this;
  }
  Encoder& U64(std::uint64_t v) {
    PutBigEndian64(s_, v);
    return *this;
  }
  Encoder& I64(std::int64_t v) { return U64(static_cast<std::uint64_t>(v)); }
  Encoder& I32(std::int32_t v) { return U32(static_cast<std::uint32_t>(v)); }
  Encoder& Str(std::string_view v) {
    U32(static_cast<std::uint32_t>(v.size()));
    s_.append(v);
    return *this;
  }
  Encoder& Raw(std::string_view v) {
    s_.append(v);
    return *this;
  }
  std::string Take() { return std::move(s_); }
  const std::string& str() const { return s_; }

 private:
  std::string s_;
};

// Reads what Encoder wrote; any overrun sets !ok() and yields zeros.
class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}
  std::uint8_t U8() {
    if (!Need(1)) return 0;
    auto v = static_cast<std::uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return v;
  }
  std::uint32_t U32() {
    if (!Need(4)) return 0;
    auto v = GetBigEndian32(in_.data());
    in_.remove_prefix(4);
    return v;
  }
  std::uint64_t U64() {
    if (!Need(8)) return 0;
    auto v = GetBigEndian64(in_.data());
    in_.remove_prefix(8);
    return v;
  }
  std::int64_t I64() { return static_cast<std::int64_t>(U64()); }
  std::int32_t I32() { return static_cast<std::int32_t>(U32()); }
  std::string_view Str() {
    std::uint32_t n = U32();
    return Raw(n);
  }
  std::string_view Raw(std::size_t n) {
    if (!Need(n)) return {};
    auto v = in_.substr(0, n);
    in_.remove_prefix(n);
    return v;
  }
  std::string_view Rest() {
    auto v = in_;
    in_ = {};
    return v;
  }
  bool ok() const { return ok_; }
  bool done() const { return ok_ && in_.empty(); }

 private:
  bool Need(std::size_t n) {
    if (!ok_ || in_.size() < n) {
      ok_ = false;
      return false;
    }
    return true;
  }
  std::string_view in_;
  bool ok_ = true;
};

// The mailbox row: the public record plus what only the store needs.
struct MailboxRow {
  MailboxRecord rec;
  Uid first_recent = 1;  // \Recent: first UID not yet claimed by a session
  UnixTime created = 0;
};

// --- keys --------------------------------------------------------------------
std::string U64Key(std::uint64_t v);
// (user id, name); names too long for a key become 0xFF + SHA-256(name)
// (0xFF never occurs in UTF-8, so hashed keys cannot collide with names).
std::string UserNameKey(std::uint64_t user, std::string_view name);
std::string UserIndexKey(std::string_view folded_name);
std::string MessageKey(MailboxId mailbox, Uid uid);
std::string ChangeKey(MailboxId mailbox, ModSeq modseq);
std::string JournalKey(UserId user, UnixTime time, std::uint64_t seq);
std::string LiveSessionKey(std::uint64_t pid, std::uint64_t id);
std::string_view BlobKey(const BlobId& id);

// --- values ------------------------------------------------------------------
std::string EncodeUser(const UserRecord& u);
bool DecodeUser(std::string_view v, UserRecord* u);
std::string EncodeMailbox(const MailboxRow& m);
bool DecodeMailbox(std::string_view v, MailboxRow* m);
std::string EncodeMessage(const MessageRecord& m);
bool DecodeMessage(std::string_view v, MessageRecord* m);
std::string EncodeChange(Change::Kind kind, Uid uid);
bool DecodeChange(std::string_view v, Change* c);
std::string EncodeJournal(const JournalEvent& e);
bool DecodeJournal(std::string_view v, JournalEvent* e);
std::string EncodeLiveSession(const ReadView::LiveSession& s);
bool DecodeLiveSession(std::string_view v, ReadView::LiveSession* s);
// structure db: subject then the analyzer's bytes.
std::string EncodeStructure(std::string_view subject, std::string_view structure);
bool DecodeStructure(std::string_view v, std::string_view* subject, std::string_view* structure);

// SHA-256 (OpenSSL EVP).
BlobId Sha256(std::string_view bytes);

}  // namespace pillarbox::storage::lmdb
