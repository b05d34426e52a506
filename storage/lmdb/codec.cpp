#include "storage/lmdb/codec.h"

#include <openssl/evp.h>

namespace pillarbox::storage::lmdb {

BlobId Sha256(std::string_view bytes) {
  BlobId id;
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), id.bytes, &len, EVP_sha256(), nullptr);
  return id;
}

std::string U64Key(std::uint64_t v) {
  std::string k;
  PutBigEndian64(k, v);
  return k;
}

namespace {
std::string HashIfLong(std::string key, std::size_t prefix) {
  if (key.size() <= kMaxKeyBytes) return key;
  BlobId h = Sha256(std::string_view(key).substr(prefix));
  key.resize(prefix);
  key.push_back('\xff');
  key.append(reinterpret_cast<const char*>(h.bytes), sizeof h.bytes);
  return key;
}
}  // namespace

std::string UserNameKey(std::uint64_t user, std::string_view name) {
  std::string k;
  PutBigEndian64(k, user);
  k.append(name);
  return HashIfLong(std::move(k), 8);
}

std::string UserIndexKey(std::string_view folded_name) {
  return HashIfLong(std::string(folded_name), 0);
}

std::string MessageKey(MailboxId mailbox, Uid uid) {
  std::string k;
  PutBigEndian64(k, mailbox);
  PutBigEndian32(k, uid);
  return k;
}

std::string ChangeKey(MailboxId mailbox, ModSeq modseq) {
  std::string k;
  PutBigEndian64(k, mailbox);
  PutBigEndian64(k, modseq);
  return k;
}

std::string JournalKey(UserId user, UnixTime time, std::uint64_t seq) {
  std::string k;
  PutBigEndian64(k, user);
  PutOrderedInt64(k, time);
  PutBigEndian64(k, seq);
  return k;
}

std::string LiveSessionKey(std::uint64_t pid, std::uint64_t id) {
  std::string k;
  PutBigEndian64(k, pid);
  PutBigEndian64(k, id);
  return k;
}

std::string_view BlobKey(const BlobId& id) {
  return std::string_view(reinterpret_cast<const char*>(id.bytes), sizeof id.bytes);
}

std::string EncodeUser(const UserRecord& u) {
  Encoder e;
  e.Str(u.name).Str(u.password_hash).U64(u.quota_bytes).U64(u.quota_messages);
  e.U64(u.used_bytes).U64(u.used_messages).I64(u.created);
  e.U32(static_cast<std::uint32_t>(u.settings.size()));
  for (const auto& [k, v] : u.settings) e.Str(k).Str(v);
  return e.Take();
}

bool DecodeUser(std::string_view v, UserRecord* u) {
  Decoder d(v);
  u->name = d.Str();
  u->password_hash = d.Str();
  u->quota_bytes = d.U64();
  u->quota_messages = d.U64();
  u->used_bytes = d.U64();
  u->used_messages = d.U64();
  u->created = d.I64();
  std::uint32_t n = d.U32();
  u->settings.clear();
  for (std::uint32_t i = 0; i < n && d.ok(); ++i) {
    std::string key(d.Str());
    u->settings[key] = std::string(d.Str());
  }
  return d.done();
}

std::string EncodeMailbox(const MailboxRow& m) {
  const MailboxRecord& r = m.rec;
  Encoder e;
  e.U64(r.user).Str(r.name).U8(static_cast<std::uint8_t>(r.special_use)).U32(r.uidvalidity);
  e.U32(r.uidnext).U64(r.highest_modseq).U32(r.messages).U32(r.unseen).U32(r.deleted);
  e.U64(r.size).I64(r.expire_after_days).U32(m.first_recent).I64(m.created);
  return e.Take();
}

bool DecodeMailbox(std::string_view v, MailboxRow* m) {
  MailboxRecord& r = m->rec;
  Decoder d(v);
  r.user = d.U64();
  r.name = d.Str();
  std::uint8_t use = d.U8();
  if (use > static_cast<std::uint8_t>(SpecialUse::kArchive)) return false;
  r.special_use = static_cast<SpecialUse>(use);
  r.uidvalidity = d.U32();
  r.uidnext = d.U32();
  r.highest_modseq = d.U64();
  r.messages = d.U32();
  r.unseen = d.U32();
  r.deleted = d.U32();
  r.size = d.U64();
  r.expire_after_days = d.I64();
  m->first_recent = d.U32();
  m->created = d.I64();
  return d.done();
}

std::string EncodeMessage(const MessageRecord& m) {
  Encoder e;
  e.Raw(BlobKey(m.blob)).U32(m.flags.system).I64(m.internal_date).I32(m.internal_date_tz);
  e.I64(m.saved).U64(m.size).U64(m.modseq).U64(m.guid);
  e.U8(m.pop3.hidden ? 1 : 0).I64(m.pop3.retrieved);
  e.U32(static_cast<std::uint32_t>(m.flags.keywords.size()));
  for (const auto& k : m.flags.keywords) e.Str(k);
  // Version 2: an optional trailing field, written only when set.
  if (!m.pop3_uidl.empty()) e.Str(m.pop3_uidl);
  return e.Take();
}

bool DecodeMessage(std::string_view v, MessageRecord* m) {
  Decoder d(v);
  auto blob = d.Raw(32);
  if (!d.ok()) return false;
  std::copy(blob.begin(), blob.end(), reinterpret_cast<char*>(m->blob.bytes));
  m->flags.system = d.U32();
  m->internal_date = d.I64();
  m->internal_date_tz = d.I32();
  m->saved = d.I64();
  m->size = d.U64();
  m->modseq = d.U64();
  m->guid = d.U64();
  m->pop3.hidden = d.U8() != 0;
  m->pop3.retrieved = d.I64();
  std::uint32_t n = d.U32();
  m->flags.keywords.clear();
  for (std::uint32_t i = 0; i < n && d.ok(); ++i) m->flags.keywords.emplace_back(d.Str());
  m->pop3_uidl.clear();
  if (d.ok() && !d.done()) m->pop3_uidl = d.Str();
  return d.done();
}

std::string EncodeChange(Change::Kind kind, Uid uid) {
  Encoder e;
  e.U8(static_cast<std::uint8_t>(kind)).U32(uid);
  return e.Take();
}

bool DecodeChange(std::string_view v, Change* c) {
  Decoder d(v);
  std::uint8_t kind = d.U8();
  if (kind > static_cast<std::uint8_t>(Change::Kind::kExpunge)) return false;
  c->kind = static_cast<Change::Kind>(kind);
  c->uid = d.U32();
  return d.done();
}

std::string EncodeJournal(const JournalEvent& ev) {
  Encoder e;
  e.U8(static_cast<std::uint8_t>(ev.kind)).Str(ev.origin.protocol).U64(ev.origin.session);
  e.Str(ev.origin.peer).Str(ev.mailbox).U32(ev.uid).U64(ev.guid).Str(ev.subject).Str(ev.detail);
  return e.Take();
}

bool DecodeJournal(std::string_view v, JournalEvent* ev) {
  Decoder d(v);
  std::uint8_t kind = d.U8();
  if (kind > static_cast<std::uint8_t>(kLastJournalKind)) return false;
  ev->kind = static_cast<JournalKind>(kind);
  ev->origin.protocol = d.Str();
  ev->origin.session = d.U64();
  ev->origin.peer = d.Str();
  ev->mailbox = d.Str();
  ev->uid = d.U32();
  ev->guid = d.U64();
  ev->subject = d.Str();
  ev->detail = d.Str();
  return d.done();
}

std::string EncodeLiveSession(const ReadView::LiveSession& s) {
  Encoder e;
  e.U64(s.user).Str(s.protocol).Str(s.peer).Str(s.mailbox).U8(s.holds_pop3_lock ? 1 : 0);
  e.I64(s.since);
  // Optional (FORMAT.md): absent in rows written before it existed.
  if (!s.client_id.empty()) e.Str(s.client_id);
  return e.Take();
}

bool DecodeLiveSession(std::string_view v, ReadView::LiveSession* s) {
  Decoder d(v);
  s->user = d.U64();
  s->protocol = d.Str();
  s->peer = d.Str();
  s->mailbox = d.Str();
  s->holds_pop3_lock = d.U8() != 0;
  s->since = d.I64();
  s->client_id.clear();
  if (d.ok() && !d.done()) s->client_id = d.Str();
  return d.done();
}

std::string EncodeStructure(std::string_view subject, std::string_view structure) {
  Encoder e;
  e.Str(subject).Raw(structure);
  return e.Take();
}

bool DecodeStructure(std::string_view v, std::string_view* subject, std::string_view* structure) {
  Decoder d(v);
  *subject = d.Str();
  *structure = d.Rest();
  return d.ok();
}

}  // namespace pillarbox::storage::lmdb
