#include "storage/lmdb/txn.h"

#include <algorithm>
#include <ctime>

#include "common/log.h"
#include "common/strings.h"

namespace pillarbox::storage::lmdb {
namespace {

constexpr std::uint32_t kKnownSystemFlags =
    kFlagSeen | kFlagAnswered | kFlagFlagged | kFlagDeleted | kFlagDraft;
// Journal subjects are for people reading a log line, not for search.
constexpr std::size_t kMaxJournalSubjectBytes = 200;

MDB_val Val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view View(const MDB_val& v) {
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

std::string TruncateUtf8(std::string_view s, std::size_t max) {
  if (s.size() <= max) return std::string(s);
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n));
}

}  // namespace

UnixTime Now() { return static_cast<UnixTime>(std::time(nullptr)); }

Status MdbStatus(int rc, std::string_view what) {
  if (rc == MDB_SUCCESS) return Status::Ok();
  std::string msg(what);
  msg += ": ";
  msg += mdb_strerror(rc);
  if (rc == MDB_NOTFOUND) return Status::NotFound(std::move(msg));
  if (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_INVALID ||
      rc == MDB_VERSION_MISMATCH) {
    return Status::Corruption(std::move(msg));
  }
  return Status::IOError(std::move(msg));
}

Result<std::string> NormalizeMailboxName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("empty mailbox name");
  if (name.size() > kMaxMailboxNameBytes) return Status::Limit("mailbox name too long");
  int depth = 0;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return Status::InvalidArgument("control character in mailbox name");
    if (c == '/') ++depth;
  }
  if (depth > kMaxMailboxDepth) return Status::Limit("mailbox hierarchy too deep");
  if (name.front() == '/' || name.back() == '/' || name.find("//") != std::string_view::npos) {
    return Status::InvalidArgument("empty hierarchy level in mailbox name");
  }
  std::string out(name);
  auto slash = out.find('/');
  std::string_view first = std::string_view(out).substr(0, slash);
  if (EqualsIgnoreAsciiCase(first, "INBOX")) out.replace(0, 5, "INBOX");
  return out;
}

Flags NormalizeFlags(Flags flags) {
  flags.system &= kKnownSystemFlags;
  auto& kw = flags.keywords;
  std::stable_sort(kw.begin(), kw.end(), [](const std::string& a, const std::string& b) {
    return CompareIgnoreAsciiCase(a, b) < 0;
  });
  kw.erase(std::unique(kw.begin(), kw.end(),
                       [](const std::string& a, const std::string& b) {
                         return EqualsIgnoreAsciiCase(a, b);
                       }),
           kw.end());
  kw.erase(std::remove_if(kw.begin(), kw.end(), [](const std::string& k) { return k.empty(); }),
           kw.end());
  return flags;
}

std::string DescribeFlagChange(const Flags& before, const Flags& after) {
  static constexpr std::pair<std::uint32_t, const char*> kNames[] = {{kFlagSeen, "\\Seen"},
                                                                     {kFlagAnswered, "\\Answered"},
                                                                     {kFlagFlagged, "\\Flagged"},
                                                                     {kFlagDeleted, "\\Deleted"},
                                                                     {kFlagDraft, "\\Draft"}};
  std::string out;
  auto add = [&](char sign, std::string_view name) {
    if (!out.empty()) out += ' ';
    out += sign;
    out += name;
  };
  for (const auto& [bit, name] : kNames) {
    bool was = before.system & bit, is = after.system & bit;
    if (!was && is) add('+', name);
    if (was && !is) add('-', name);
  }
  auto has = [](const Flags& f, const std::string& k) {
    return std::any_of(f.keywords.begin(), f.keywords.end(),
                       [&](const std::string& x) { return EqualsIgnoreAsciiCase(x, k); });
  };
  for (const auto& k : after.keywords)
    if (!has(before, k)) add('+', k);
  for (const auto& k : before.keywords)
    if (!has(after, k)) add('-', k);
  return out;
}

// --- TxnOps ------------------------------------------------------------------

Result<std::string_view> TxnOps::Get(MDB_dbi dbi, std::string_view key) {
  MDB_val k = Val(key), v;
  int rc = mdb_get(txn_, dbi, &k, &v);
  if (rc != MDB_SUCCESS) return Check(rc, "get");
  return View(v);
}

Status TxnOps::Scan(MDB_dbi dbi, std::string_view prefix, const ScanFn& fn,
                    std::string_view start) {
  MDB_cursor* cur = nullptr;
  int rc = mdb_cursor_open(txn_, dbi, &cur);
  if (rc != MDB_SUCCESS) return Check(rc, "cursor open");
  std::string_view from = start.empty() ? prefix : start;
  MDB_val k = Val(from), v;
  rc = from.empty() ? mdb_cursor_get(cur, &k, &v, MDB_FIRST)
                    : mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  while (rc == MDB_SUCCESS) {
    std::string_view key = View(k);
    if (key.substr(0, prefix.size()) != prefix) break;
    if (!fn(key, View(v))) break;
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return Check(rc, "cursor scan");
  return Status::Ok();
}

Status TxnOps::ScanBackward(MDB_dbi dbi, std::string_view prefix, const ScanFn& fn,
                            std::string_view before) {
  MDB_cursor* cur = nullptr;
  int rc = mdb_cursor_open(txn_, dbi, &cur);
  if (rc != MDB_SUCCESS) return Check(rc, "cursor open");
  // Position after the prefix range: the prefix followed by 0xFF... bytes
  // is not a valid key prefix end, so seek to the successor of the prefix
  // (or to `before`, and step back from the first key at or after it).
  std::string succ(before.empty() ? prefix : before);
  if (before.empty()) {
    while (!succ.empty() && static_cast<unsigned char>(succ.back()) == 0xff) succ.pop_back();
  }
  MDB_val k, v;
  if (succ.empty()) {
    rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
  } else {
    if (before.empty()) {
      succ.back() = static_cast<char>(static_cast<unsigned char>(succ.back()) + 1);
    }
    k = Val(succ);
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (rc == MDB_SUCCESS) {
      rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
    } else if (rc == MDB_NOTFOUND) {
      rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    }
  }
  while (rc == MDB_SUCCESS) {
    std::string_view key = View(k);
    if (key.substr(0, prefix.size()) != prefix) break;
    if (!fn(key, View(v))) break;
    rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
  }
  mdb_cursor_close(cur);
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return Check(rc, "cursor scan");
  return Status::Ok();
}

Result<UserRecord> TxnOps::LoadUser(UserId id) {
  auto v = Get(db_->users, U64Key(id));
  if (!v.ok()) {
    if (v.status().code() == Code::kNotFound) return Status::NotFound("no such user");
    return v.status();
  }
  UserRecord u;
  if (!DecodeUser(*v, &u)) return Status::Corruption("bad user record");
  u.id = id;
  return u;
}

Result<UserId> TxnOps::FindUserId(std::string_view name) {
  auto v = Get(db_->user_names, UserIndexKey(AsciiFold(name)));
  if (!v.ok()) {
    if (v.status().code() == Code::kNotFound) return Status::NotFound("no such user");
    return v.status();
  }
  if (v->size() != 8) return Status::Corruption("bad user index entry");
  return GetBigEndian64(v->data());
}

Result<MailboxRow> TxnOps::LoadMailbox(MailboxId id) {
  auto v = Get(db_->mailbox_meta, U64Key(id));
  if (!v.ok()) {
    if (v.status().code() == Code::kNotFound) return Status::NotFound("no such mailbox");
    return v.status();
  }
  MailboxRow m;
  if (!DecodeMailbox(*v, &m)) return Status::Corruption("bad mailbox record");
  m.rec.id = id;
  return m;
}

Result<MailboxId> TxnOps::FindMailboxId(UserId user, std::string_view name) {
  auto v = Get(db_->mailboxes, UserNameKey(user, name));
  if (!v.ok()) {
    if (v.status().code() == Code::kNotFound) return Status::NotFound("no such mailbox");
    return v.status();
  }
  if (v->size() != 8) return Status::Corruption("bad mailbox index entry");
  return GetBigEndian64(v->data());
}

Result<std::vector<MailboxRow>> TxnOps::UserMailboxes(UserId user) {
  std::vector<MailboxId> ids;
  Status s = Scan(db_->mailboxes, U64Key(user), [&](std::string_view, std::string_view v) {
    if (v.size() == 8) ids.push_back(GetBigEndian64(v.data()));
    return true;
  });
  if (!s.ok()) return s;
  std::vector<MailboxRow> out;
  out.reserve(ids.size());
  for (MailboxId id : ids) {
    auto m = LoadMailbox(id);
    if (!m.ok())
      return m.status().code() == Code::kNotFound
                 ? Status::Corruption("mailbox index points to nothing")
                 : m.status();
    out.push_back(std::move(*m));
  }
  return out;
}

Result<MessageRecord> TxnOps::LoadMessage(MailboxId mailbox, Uid uid) {
  auto v = Get(db_->messages, MessageKey(mailbox, uid));
  if (!v.ok()) {
    if (v.status().code() == Code::kNotFound) return Status::NotFound("no such message");
    return v.status();
  }
  MessageRecord m;
  if (!DecodeMessage(*v, &m)) return Status::Corruption("bad message record");
  m.uid = uid;
  return m;
}

Result<std::vector<MessageRecord>> TxnOps::MailboxMessages(MailboxId mailbox) {
  std::vector<MessageRecord> out;
  bool bad = false;
  Status s = Scan(db_->messages, U64Key(mailbox), [&](std::string_view k, std::string_view v) {
    MessageRecord m;
    if (k.size() != 12 || !DecodeMessage(v, &m)) {
      bad = true;
      return false;
    }
    m.uid = GetBigEndian32(k.data() + 8);
    out.push_back(std::move(m));
    return true;
  });
  if (!s.ok()) return s;
  if (bad) return Status::Corruption("bad message record");
  return out;
}

Result<std::vector<MessageRecord>> TxnOps::MailboxMessagesNewestFirst(MailboxId mailbox, Uid below,
                                                                      std::size_t skip,
                                                                      std::size_t limit) {
  std::vector<MessageRecord> out;
  if (limit == 0 || below == 1) return out;
  bool bad = false;
  std::size_t passed = 0;
  // UID 0 is never stored, so MessageKey(mailbox, 0) is "below every UID".
  std::string before = below == 0 ? std::string() : MessageKey(mailbox, below);
  Status s = ScanBackward(
      db_->messages, U64Key(mailbox),
      [&](std::string_view k, std::string_view v) {
        if (passed < skip) {
          ++passed;
          return true;
        }
        MessageRecord m;
        if (k.size() != 12 || !DecodeMessage(v, &m)) {
          bad = true;
          return false;
        }
        m.uid = GetBigEndian32(k.data() + 8);
        out.push_back(std::move(m));
        return out.size() < limit;
      },
      before);
  if (!s.ok()) return s;
  if (bad) return Status::Corruption("bad message record");
  return out;
}

std::string TxnOps::SubjectOf(const BlobId& blob) {
  auto v = Get(db_->structure, BlobKey(blob));
  if (!v.ok()) return {};
  std::string_view subject, structure;
  if (!DecodeStructure(*v, &subject, &structure)) return {};
  return std::string(subject);
}

Result<std::uint64_t> TxnOps::Counter(std::string_view name) {
  auto v = Get(db_->meta, name);
  if (!v.ok()) {
    if (v.status().code() == Code::kNotFound) return std::uint64_t{0};
    return v.status();
  }
  if (v->size() != 8) return Status::Corruption("bad counter");
  return GetBigEndian64(v->data());
}

// --- WriteOps ----------------------------------------------------------------

Status WriteOps::Put(MDB_dbi dbi, std::string_view key, std::string_view value) {
  MDB_val k = Val(key), v = Val(value);
  return Check(mdb_put(txn_, dbi, &k, &v, 0), "put");
}

Status WriteOps::Del(MDB_dbi dbi, std::string_view key) {
  MDB_val k = Val(key);
  int rc = mdb_del(txn_, dbi, &k, nullptr);
  if (rc == MDB_NOTFOUND) return Status::Ok();
  return Check(rc, "del");
}

Status WriteOps::DelPrefix(MDB_dbi dbi, std::string_view prefix) {
  std::vector<std::string> keys;
  PB_RETURN_IF_ERROR(Scan(dbi, prefix, [&](std::string_view k, std::string_view) {
    keys.emplace_back(k);
    return true;
  }));
  for (const auto& k : keys) PB_RETURN_IF_ERROR(Del(dbi, k));
  return Status::Ok();
}

Result<std::uint64_t> WriteOps::NextCounter(std::string_view name) {
  auto cur = Counter(name);
  if (!cur.ok()) return cur;
  std::uint64_t next = *cur + 1;
  PB_RETURN_IF_ERROR(Put(db_->meta, name, U64Key(next)));
  return next;
}

Result<std::uint32_t> WriteOps::NextUidValidity() {
  if (options_->deterministic) return 1;
  auto last = Counter("last_uidvalidity");
  if (!last.ok()) return last.status();
  std::uint64_t v = std::max<std::uint64_t>(static_cast<std::uint64_t>(Now()), *last + 1);
  if (v > 0xffffffffu) return Status::Internal("UIDVALIDITY space exhausted");
  PB_RETURN_IF_ERROR(Put(db_->meta, "last_uidvalidity", U64Key(v)));
  return static_cast<std::uint32_t>(v);
}

Status WriteOps::SaveUser(const UserRecord& u) {
  return Put(db_->users, U64Key(u.id), EncodeUser(u));
}

Status WriteOps::SaveMailbox(const MailboxRow& m) {
  return Put(db_->mailbox_meta, U64Key(m.rec.id), EncodeMailbox(m));
}

Status WriteOps::SaveMessage(MailboxId mailbox, const MessageRecord& m) {
  return Put(db_->messages, MessageKey(mailbox, m.uid), EncodeMessage(m));
}

Result<MailboxRow> WriteOps::CreateMailbox(UserId user, const std::string& name, SpecialUse use,
                                           bool subscribe) {
  auto existing = FindMailboxId(user, name);
  if (existing.ok()) return Status::Exists("mailbox exists");
  if (existing.status().code() != Code::kNotFound) return existing.status();
  auto id = NextCounter("next_mailbox_id");
  if (!id.ok()) return id.status();
  auto uidvalidity = NextUidValidity();
  if (!uidvalidity.ok()) return uidvalidity.status();
  MailboxRow row;
  row.rec.id = *id;
  row.rec.user = user;
  row.rec.name = name;
  row.rec.special_use = use;
  row.rec.uidvalidity = *uidvalidity;
  row.rec.uidnext = 1;
  row.rec.highest_modseq = 1;
  row.created = Now();
  PB_RETURN_IF_ERROR(Put(db_->mailboxes, UserNameKey(user, name), U64Key(*id)));
  PB_RETURN_IF_ERROR(SaveMailbox(row));
  if (subscribe) PB_RETURN_IF_ERROR(Put(db_->subscriptions, UserNameKey(user, name), name));
  TouchUser(user);
  return row;
}

Result<MailboxRow> WriteOps::CreateMailboxWithParents(UserId user, const std::string& name,
                                                      SpecialUse use, bool subscribe) {
  for (std::size_t pos = name.find('/'); pos != std::string::npos; pos = name.find('/', pos + 1)) {
    std::string parent = name.substr(0, pos);
    auto found = FindMailboxId(user, parent);
    if (found.ok()) continue;
    if (found.status().code() != Code::kNotFound) return found.status();
    auto made = CreateMailbox(user, parent, SpecialUse::kNone, false);
    if (!made.ok()) return made.status();
  }
  return CreateMailbox(user, name, use, subscribe);
}

Result<std::string> WriteOps::AddBlob(const BlobId& id, std::string_view bytes,
                                      const AnalyzedMessage* analyzed) {
  auto refs = Get(db_->blob_refs, BlobKey(id));
  if (refs.ok()) {
    if (refs->size() != 8) return Status::Corruption("bad blob refcount");
    PB_RETURN_IF_ERROR(Put(db_->blob_refs, BlobKey(id), U64Key(GetBigEndian64(refs->data()) + 1)));
    return SubjectOf(id);
  }
  if (refs.status().code() != Code::kNotFound) return refs.status();
  PB_RETURN_IF_ERROR(Put(db_->blobs, BlobKey(id), bytes));
  PB_RETURN_IF_ERROR(Put(db_->blob_refs, BlobKey(id), U64Key(1)));
  if (analyzed == nullptr) return std::string();
  std::string subject = TruncateUtf8(analyzed->subject, kMaxJournalSubjectBytes);
  PB_RETURN_IF_ERROR(
      Put(db_->structure, BlobKey(id), EncodeStructure(subject, analyzed->structure)));
  if (!analyzed->sort_keys.empty()) {
    PB_RETURN_IF_ERROR(Put(db_->sort_keys, BlobKey(id), analyzed->sort_keys));
  }
  return subject;
}

Status WriteOps::IncBlobRef(const BlobId& id) {
  auto refs = Get(db_->blob_refs, BlobKey(id));
  if (!refs.ok()) {
    return refs.status().code() == Code::kNotFound ? Status::Corruption("blob without refcount")
                                                   : refs.status();
  }
  if (refs->size() != 8) return Status::Corruption("bad blob refcount");
  return Put(db_->blob_refs, BlobKey(id), U64Key(GetBigEndian64(refs->data()) + 1));
}

Status WriteOps::DecBlobRef(const BlobId& id) {
  auto refs = Get(db_->blob_refs, BlobKey(id));
  if (!refs.ok()) {
    return refs.status().code() == Code::kNotFound ? Status::Corruption("blob without refcount")
                                                   : refs.status();
  }
  if (refs->size() != 8) return Status::Corruption("bad blob refcount");
  std::uint64_t n = GetBigEndian64(refs->data());
  if (n > 1) return Put(db_->blob_refs, BlobKey(id), U64Key(n - 1));
  PB_RETURN_IF_ERROR(Del(db_->blob_refs, BlobKey(id)));
  PB_RETURN_IF_ERROR(Del(db_->blobs, BlobKey(id)));
  PB_RETURN_IF_ERROR(Del(db_->sort_keys, BlobKey(id)));
  return Del(db_->structure, BlobKey(id));
}

Status WriteOps::AddMessage(MailboxRow& mb, UserRecord& user, MessageRecord& msg, Uid uid) {
  MailboxRecord& r = mb.rec;
  if (uid != 0 && uid < r.uidnext) {
    return Status::Exists("uid " + std::to_string(uid) + " is below the mailbox's uidnext " +
                          std::to_string(r.uidnext));
  }
  if (uid != 0) r.uidnext = uid;
  if (r.uidnext == 0xffffffffu) return Status::Limit("mailbox UID space exhausted");
  msg.uid = r.uidnext++;
  msg.modseq = ++r.highest_modseq;
  PB_RETURN_IF_ERROR(SaveMessage(r.id, msg));
  PB_RETURN_IF_ERROR(
      Put(db_->changes, ChangeKey(r.id, msg.modseq), EncodeChange(Change::Kind::kNew, msg.uid)));
  r.messages++;
  if (!(msg.flags.system & kFlagSeen)) r.unseen++;
  if (msg.flags.system & kFlagDeleted) r.deleted++;
  r.size += msg.size;
  user.used_bytes += msg.size;
  user.used_messages++;
  Touch(r.id);
  return Status::Ok();
}

namespace {
template <typename T>
void Decrease(T& v, T by) {
  v = v >= by ? v - by : 0;
}
}  // namespace

Status WriteOps::RemoveMessage(MailboxRow& mb, UserRecord& user, const MessageRecord& msg) {
  MailboxRecord& r = mb.rec;
  PB_RETURN_IF_ERROR(Del(db_->messages, MessageKey(r.id, msg.uid)));
  // The message's latest change row (new or flags) is superseded by the
  // expunge row; older rows of it were already superseded.
  auto old = Get(db_->changes, ChangeKey(r.id, msg.modseq));
  if (old.ok()) {
    Change c;
    if (DecodeChange(*old, &c) && c.uid == msg.uid && c.kind != Change::Kind::kExpunge) {
      PB_RETURN_IF_ERROR(Del(db_->changes, ChangeKey(r.id, msg.modseq)));
    }
  } else if (old.status().code() != Code::kNotFound) {
    return old.status();
  }
  ModSeq modseq = ++r.highest_modseq;
  PB_RETURN_IF_ERROR(
      Put(db_->changes, ChangeKey(r.id, modseq), EncodeChange(Change::Kind::kExpunge, msg.uid)));
  Decrease<std::uint32_t>(r.messages, 1);
  if (!(msg.flags.system & kFlagSeen)) Decrease<std::uint32_t>(r.unseen, 1);
  if (msg.flags.system & kFlagDeleted) Decrease<std::uint32_t>(r.deleted, 1);
  Decrease<std::uint64_t>(r.size, msg.size);
  Decrease<std::uint64_t>(user.used_bytes, msg.size);
  Decrease<std::uint64_t>(user.used_messages, 1);
  Touch(r.id);
  return Status::Ok();
}

Status WriteOps::ChangeFlags(MailboxRow& mb, MessageRecord& msg, const Flags& flags) {
  MailboxRecord& r = mb.rec;
  // A flags row is superseded by the next flags row of the same message.
  auto old = Get(db_->changes, ChangeKey(r.id, msg.modseq));
  if (old.ok()) {
    Change c;
    if (DecodeChange(*old, &c) && c.uid == msg.uid && c.kind == Change::Kind::kFlags) {
      PB_RETURN_IF_ERROR(Del(db_->changes, ChangeKey(r.id, msg.modseq)));
    }
  } else if (old.status().code() != Code::kNotFound) {
    return old.status();
  }
  bool was_seen = msg.flags.system & kFlagSeen, was_deleted = msg.flags.system & kFlagDeleted;
  msg.flags = flags;
  msg.modseq = ++r.highest_modseq;
  PB_RETURN_IF_ERROR(SaveMessage(r.id, msg));
  PB_RETURN_IF_ERROR(
      Put(db_->changes, ChangeKey(r.id, msg.modseq), EncodeChange(Change::Kind::kFlags, msg.uid)));
  bool is_seen = flags.system & kFlagSeen, is_deleted = flags.system & kFlagDeleted;
  if (was_seen && !is_seen) r.unseen++;
  if (!was_seen && is_seen) Decrease<std::uint32_t>(r.unseen, 1);
  if (!was_deleted && is_deleted) r.deleted++;
  if (was_deleted && !is_deleted) Decrease<std::uint32_t>(r.deleted, 1);
  Touch(r.id);
  return Status::Ok();
}

Status WriteOps::Journal(UserId user, JournalEvent ev) {
  if (ev.time == 0) ev.time = Now();
  auto seq = NextCounter("journal_seq");
  if (!seq.ok()) return seq.status();
  ev.seq = *seq;
  ev.subject = TruncateUtf8(ev.subject, kMaxJournalSubjectBytes);
  PB_RETURN_IF_ERROR(Put(db_->journal, JournalKey(user, ev.time, ev.seq), EncodeJournal(ev)));
  auto count_v = Get(db_->journal_counts, U64Key(user));
  std::uint64_t count = 0;
  if (count_v.ok() && count_v->size() == 8) count = GetBigEndian64(count_v->data());
  if (!count_v.ok() && count_v.status().code() != Code::kNotFound) return count_v.status();
  ++count;
  std::uint64_t max = options_->journal_max_events_per_user;
  if (max > 0 && count > max) {
    // Drop the oldest events beyond the bound.
    std::vector<std::string> drop;
    std::uint64_t excess = count - max;
    PB_RETURN_IF_ERROR(Scan(db_->journal, U64Key(user), [&](std::string_view k, std::string_view) {
      drop.emplace_back(k);
      return drop.size() < excess;
    }));
    for (const auto& k : drop) PB_RETURN_IF_ERROR(Del(db_->journal, k));
    count -= drop.size();
  }
  return Put(db_->journal_counts, U64Key(user), U64Key(count));
}

Status WriteOps::JournalMessage(UserId user, JournalKind kind, const Origin& origin,
                                const std::string& mailbox, const MessageRecord& msg,
                                std::string detail) {
  JournalEvent ev;
  ev.kind = kind;
  ev.origin = origin;
  ev.mailbox = mailbox;
  ev.uid = msg.uid;
  ev.guid = msg.guid;
  ev.subject = SubjectOf(msg.blob);
  ev.detail = std::move(detail);
  return Journal(user, std::move(ev));
}

Status WriteOps::PruneJournal(UserId user, UnixTime cutoff) {
  std::vector<std::string> drop;
  std::string prefix = U64Key(user);
  PB_RETURN_IF_ERROR(Scan(db_->journal, prefix, [&](std::string_view k, std::string_view) {
    if (k.size() < 16 || GetOrderedInt64(k.data() + 8) >= cutoff) return false;
    drop.emplace_back(k);
    return true;
  }));
  if (drop.empty()) return Status::Ok();
  for (const auto& k : drop) PB_RETURN_IF_ERROR(Del(db_->journal, k));
  std::uint64_t count = 0;
  auto count_v = Get(db_->journal_counts, prefix);
  if (count_v.ok() && count_v->size() == 8) count = GetBigEndian64(count_v->data());
  count = count >= drop.size() ? count - drop.size() : 0;
  return Put(db_->journal_counts, prefix, U64Key(count));
}

Result<std::uint32_t> WriteOps::DestroyMailbox(MailboxRow& mb, UserRecord& user) {
  auto msgs = MailboxMessages(mb.rec.id);
  if (!msgs.ok()) return msgs.status();
  for (const auto& m : *msgs) {
    PB_RETURN_IF_ERROR(DecBlobRef(m.blob));
    Decrease<std::uint64_t>(user.used_bytes, m.size);
    Decrease<std::uint64_t>(user.used_messages, 1);
  }
  PB_RETURN_IF_ERROR(DelPrefix(db_->messages, U64Key(mb.rec.id)));
  PB_RETURN_IF_ERROR(DelPrefix(db_->changes, U64Key(mb.rec.id)));
  PB_RETURN_IF_ERROR(Del(db_->mailbox_meta, U64Key(mb.rec.id)));
  PB_RETURN_IF_ERROR(Del(db_->mailboxes, UserNameKey(mb.rec.user, mb.rec.name)));
  Touch(mb.rec.id);
  TouchUser(mb.rec.user);
  return static_cast<std::uint32_t>(msgs->size());
}

Status WriteOps::CheckQuota(const UserRecord& user, std::uint64_t add_bytes,
                            std::uint64_t add_messages) {
  return storage::CheckQuota(user,
                             {options_->default_quota_bytes, options_->default_quota_messages},
                             add_bytes, add_messages);
}

}  // namespace pillarbox::storage::lmdb
