// The mutations of LmdbStore. Each builds a closure that runs on the writer
// thread inside its own nested transaction (see lmdb_store.h): it re-reads
// what it needs, so that a retried batch recomputes it from scratch.
#include <algorithm>

#include "common/log.h"
#include "common/metrics.h"
#include "common/strings.h"
#include "storage/lmdb/lmdb_store.h"
#include "storage/uidl.h"

namespace pillarbox::storage::lmdb {
namespace {

constexpr std::int64_t kSecondsPerDay = 86400;

struct DefaultMailbox {
  const char* name;
  SpecialUse use;
};
constexpr DefaultMailbox kDefaultMailboxes[] = {{"Sent", SpecialUse::kSent},
                                                {"Drafts", SpecialUse::kDrafts},
                                                {"Trash", SpecialUse::kTrash},
                                                {"Junk", SpecialUse::kJunk},
                                                {"Archive", SpecialUse::kArchive}};

Result<UserRecord> LoadUserByName(WriteOps& ops, std::string_view name) {
  auto id = ops.FindUserId(name);
  if (!id.ok()) return id.status();
  return ops.LoadUser(*id);
}

bool HasKeyword(const Flags& f, std::string_view k) {
  return std::any_of(f.keywords.begin(), f.keywords.end(),
                     [&](const std::string& x) { return EqualsIgnoreAsciiCase(x, k); });
}

Flags ApplyFlagOp(const Flags& current, FlagOp op, const Flags& given) {
  Flags out = current;
  switch (op) {
    case FlagOp::kReplace:
      out = given;
      break;
    case FlagOp::kAdd:
      out.system |= given.system;
      for (const auto& k : given.keywords)
        if (!HasKeyword(out, k)) out.keywords.push_back(k);
      break;
    case FlagOp::kRemove:
      out.system &= ~given.system;
      out.keywords.erase(std::remove_if(out.keywords.begin(), out.keywords.end(),
                                        [&](const std::string& k) { return HasKeyword(given, k); }),
                         out.keywords.end());
      break;
  }
  return NormalizeFlags(std::move(out));
}

// Journals a flag change: "imap-read" for \Seen set through IMAP, and
// "flags-changed" for everything else that changed.
Status JournalFlags(WriteOps& ops, UserId user, const Origin& origin, const std::string& mailbox,
                    const MessageRecord& msg, const Flags& before) {
  Flags rest_before = before, rest_after = msg.flags;
  bool seen_added = !(before.system & kFlagSeen) && (msg.flags.system & kFlagSeen);
  if (seen_added && origin.protocol == "imap") {
    PB_RETURN_IF_ERROR(ops.JournalMessage(user, JournalKind::kImapRead, origin, mailbox, msg, ""));
    rest_before.system |= kFlagSeen;
  }
  std::string detail = DescribeFlagChange(rest_before, rest_after);
  if (detail.empty()) return Status::Ok();
  return ops.JournalMessage(user, JournalKind::kFlagsChanged, origin, mailbox, msg,
                            std::move(detail));
}

// Moves (or copies) one message between mailboxes of the same user.
// Returns the destination record.
Result<MessageRecord> Transfer(WriteOps& ops, MailboxRow& src, MailboxRow& dst, UserRecord& user,
                               const MessageRecord& msg, bool move) {
  MessageRecord copy = msg;
  copy.saved = Now();
  if (move) {
    PB_RETURN_IF_ERROR(ops.RemoveMessage(src, user, msg));
  } else {
    auto guid = ops.NextCounter("next_guid");
    if (!guid.ok()) return guid.status();
    copy.guid = *guid;
    copy.pop3 = Pop3State{};
    copy.pop3_uidl.clear();  // a copy is another message for POP3
    PB_RETURN_IF_ERROR(ops.IncBlobRef(msg.blob));
  }
  PB_RETURN_IF_ERROR(ops.AddMessage(dst, user, copy));
  return copy;
}

}  // namespace

// --- users -------------------------------------------------------------------

void LmdbStore::CreateUser(std::string name, std::string hash, Callback<UserRecord> done) {
  bool defaults = options_.create_default_mailboxes;
  Submit<UserRecord>(
      [name = std::move(name), hash = std::move(hash),
       defaults](WriteOps& ops) -> Result<UserRecord> {
        PB_RETURN_IF_ERROR(ValidateUserName(name));
        if (!hash.empty() && !IsSupportedHash(hash)) {
          return Status::InvalidArgument("unsupported password hash");
        }
        auto existing = ops.FindUserId(name);
        if (existing.ok()) return Status::Exists("user exists");
        if (existing.status().code() != Code::kNotFound) return existing.status();
        auto id = ops.NextCounter("next_user_id");
        if (!id.ok()) return id.status();
        UserRecord u;
        u.id = *id;
        u.name = name;
        u.password_hash = hash;
        u.created = Now();
        PB_RETURN_IF_ERROR(
            ops.Put(ops.db().user_names, UserIndexKey(AsciiFold(name)), U64Key(u.id)));
        PB_RETURN_IF_ERROR(ops.SaveUser(u));
        auto inbox = ops.CreateMailbox(u.id, "INBOX", SpecialUse::kNone, true);
        if (!inbox.ok()) return inbox.status();
        if (defaults) {
          for (const auto& d : kDefaultMailboxes) {
            auto mb = ops.CreateMailbox(u.id, d.name, d.use, true);
            if (!mb.ok()) return mb.status();
          }
        }
        return u;
      },
      std::move(done));
}

void LmdbStore::SetPassword(std::string name, std::string hash, StatusCallback done) {
  SubmitStatus(
      [name = std::move(name), hash = std::move(hash)](WriteOps& ops) -> Status {
        if (!hash.empty() && !IsSupportedHash(hash)) {
          return Status::InvalidArgument("unsupported password hash");
        }
        auto u = LoadUserByName(ops, name);
        if (!u.ok()) return u.status();
        u->password_hash = hash;
        return ops.SaveUser(*u);
      },
      std::move(done));
}

void LmdbStore::DeleteUser(std::string name, StatusCallback done) {
  // The watchers of the user hear of it right after the caller, before the
  // change bus publishes its destroyed mailboxes.
  auto deleted = std::make_shared<UserId>(0);
  StatusCallback complete = [bus = bus_, deleted, done = std::move(done)](Status s) {
    if (done) done(s);
    if (s.ok() && *deleted != 0) bus->PublishUserDeleted(*deleted);
  };
  SubmitStatus(
      [name = std::move(name), deleted](WriteOps& ops) -> Status {
        auto u = LoadUserByName(ops, name);
        if (!u.ok()) return u.status();
        *deleted = u->id;
        auto rows = ops.UserMailboxes(u->id);
        if (!rows.ok()) return rows.status();
        for (auto& row : *rows) {
          auto n = ops.DestroyMailbox(row, *u);
          if (!n.ok()) return n.status();
        }
        std::string prefix = U64Key(u->id);
        PB_RETURN_IF_ERROR(ops.DelPrefix(ops.db().subscriptions, prefix));
        PB_RETURN_IF_ERROR(ops.DelPrefix(ops.db().journal, prefix));
        PB_RETURN_IF_ERROR(ops.Del(ops.db().journal_counts, prefix));
        PB_RETURN_IF_ERROR(ops.Del(ops.db().user_names, UserIndexKey(AsciiFold(u->name))));
        return ops.Del(ops.db().users, prefix);
      },
      std::move(complete));
}

void LmdbStore::SetUserSetting(std::string name, std::string key, std::string value,
                               StatusCallback done) {
  SubmitStatus(
      [name = std::move(name), key = std::move(key),
       value = std::move(value)](WriteOps& ops) -> Status {
        if (key.empty()) return Status::InvalidArgument("empty setting name");
        auto u = LoadUserByName(ops, name);
        if (!u.ok()) return u.status();
        if (value.empty()) {
          u->settings.erase(key);
        } else {
          u->settings[key] = value;
        }
        return ops.SaveUser(*u);
      },
      std::move(done));
}

void LmdbStore::SetQuota(std::string name, std::uint64_t bytes, std::uint64_t messages,
                         StatusCallback done) {
  SubmitStatus(
      [name = std::move(name), bytes, messages](WriteOps& ops) -> Status {
        auto u = LoadUserByName(ops, name);
        if (!u.ok()) return u.status();
        u->quota_bytes = bytes;
        u->quota_messages = messages;
        return ops.SaveUser(*u);
      },
      std::move(done));
}

// --- mailboxes -----------------------------------------------------------------

void LmdbStore::CreateMailbox(UserId user, std::string name, SpecialUse use,
                              Callback<MailboxRecord> done) {
  Submit<MailboxRecord>(
      [user, name = std::move(name), use](WriteOps& ops) -> Result<MailboxRecord> {
        auto norm = NormalizeMailboxName(name);
        if (!norm.ok()) return norm.status();
        auto u = ops.LoadUser(user);
        if (!u.ok()) return u.status();
        auto row = ops.CreateMailboxWithParents(user, *norm, use, false);
        if (!row.ok()) return row.status();
        return std::move(row->rec);
      },
      std::move(done));
}

void LmdbStore::DeleteMailbox(UserId user, std::string name, Origin origin, StatusCallback done) {
  SubmitStatus(
      [user, name = std::move(name), origin = std::move(origin)](WriteOps& ops) -> Status {
        auto norm = NormalizeMailboxName(name);
        if (!norm.ok()) return norm.status();
        if (*norm == "INBOX") return Status::NoPermission("INBOX cannot be deleted");
        auto u = ops.LoadUser(user);
        if (!u.ok()) return u.status();
        auto id = ops.FindMailboxId(user, *norm);
        if (!id.ok()) return id.status();
        auto row = ops.LoadMailbox(*id);
        if (!row.ok()) return row.status();
        auto n = ops.DestroyMailbox(*row, *u);
        if (!n.ok()) return n.status();
        PB_RETURN_IF_ERROR(ops.SaveUser(*u));
        if (*n > 0) {
          JournalEvent ev;
          ev.kind = JournalKind::kExpunged;
          ev.origin = origin;
          ev.mailbox = *norm;
          ev.detail = "mailbox deleted with " + std::to_string(*n) + " messages";
          PB_RETURN_IF_ERROR(ops.Journal(user, std::move(ev)));
        }
        return Status::Ok();
      },
      std::move(done));
}

void LmdbStore::RenameMailbox(UserId user, std::string from, std::string to, Origin origin,
                              StatusCallback done) {
  SubmitStatus(
      [user, from = std::move(from), to = std::move(to),
       origin = std::move(origin)](WriteOps& ops) -> Status {
        auto f = NormalizeMailboxName(from);
        if (!f.ok()) return f.status();
        auto t = NormalizeMailboxName(to);
        if (!t.ok()) return t.status();
        if (*t == "INBOX") return Status::Exists("INBOX always exists");
        auto u = ops.LoadUser(user);
        if (!u.ok()) return u.status();
        auto target = ops.FindMailboxId(user, *t);
        if (target.ok()) return Status::Exists("target mailbox exists");
        if (target.status().code() != Code::kNotFound) return target.status();

        if (*f == "INBOX") {
          // RFC 3501 6.3.5: the messages move to a new mailbox, INBOX stays
          // (empty), and INBOX's children are unaffected.
          auto inbox_id = ops.FindMailboxId(user, "INBOX");
          if (!inbox_id.ok()) return inbox_id.status();
          auto inbox = ops.LoadMailbox(*inbox_id);
          if (!inbox.ok()) return inbox.status();
          auto dst = ops.CreateMailboxWithParents(user, *t, SpecialUse::kNone, false);
          if (!dst.ok()) return dst.status();
          auto msgs = ops.MailboxMessages(*inbox_id);
          if (!msgs.ok()) return msgs.status();
          for (const auto& m : *msgs) {
            auto moved = Transfer(ops, *inbox, *dst, *u, m, true);
            if (!moved.ok()) return moved.status();
            PB_RETURN_IF_ERROR(ops.JournalMessage(user, JournalKind::kMoved, origin, *t, *moved,
                                                  "INBOX renamed to " + *t));
          }
          PB_RETURN_IF_ERROR(ops.SaveMailbox(*inbox));
          PB_RETURN_IF_ERROR(ops.SaveMailbox(*dst));
          return ops.SaveUser(*u);
        }

        if (t->size() > f->size() && t->compare(0, f->size(), *f) == 0 && (*t)[f->size()] == '/') {
          return Status::InvalidArgument("cannot rename a mailbox into itself");
        }
        auto rows = ops.UserMailboxes(user);
        if (!rows.ok()) return rows.status();
        std::vector<MailboxRow*> renamed;
        for (auto& row : *rows) {
          const std::string& n = row.rec.name;
          if (n == *f ||
              (n.size() > f->size() && n.compare(0, f->size(), *f) == 0 && n[f->size()] == '/')) {
            renamed.push_back(&row);
          }
        }
        if (std::none_of(renamed.begin(), renamed.end(),
                         [&](MailboxRow* r) { return r->rec.name == *f; })) {
          return Status::NotFound("no such mailbox");
        }
        for (MailboxRow* row : renamed) {
          std::string new_name = *t + row->rec.name.substr(f->size());
          auto clash = ops.FindMailboxId(user, new_name);
          if (clash.ok()) return Status::Exists("mailbox " + new_name + " exists");
          if (clash.status().code() != Code::kNotFound) return clash.status();
        }
        // Parents of the target first (they are not among the renamed).
        for (std::size_t pos = t->find('/'); pos != std::string::npos;
             pos = t->find('/', pos + 1)) {
          std::string parent = t->substr(0, pos);
          auto found = ops.FindMailboxId(user, parent);
          if (found.ok()) continue;
          if (found.status().code() != Code::kNotFound) return found.status();
          auto made = ops.CreateMailbox(user, parent, SpecialUse::kNone, false);
          if (!made.ok()) return made.status();
        }
        for (MailboxRow* row : renamed) {
          std::string new_name = *t + row->rec.name.substr(f->size());
          PB_RETURN_IF_ERROR(ops.Del(ops.db().mailboxes, UserNameKey(user, row->rec.name)));
          PB_RETURN_IF_ERROR(
              ops.Put(ops.db().mailboxes, UserNameKey(user, new_name), U64Key(row->rec.id)));
          row->rec.name = new_name;
          PB_RETURN_IF_ERROR(ops.SaveMailbox(*row));
          ops.Touch(row->rec.id);
        }
        // Subscriptions follow the rename (as Dovecot does).
        std::vector<std::string> subs;
        PB_RETURN_IF_ERROR(ops.Scan(ops.db().subscriptions, U64Key(user),
                                    [&](std::string_view, std::string_view v) {
                                      subs.emplace_back(v);
                                      return true;
                                    }));
        for (const auto& s : subs) {
          if (s == *f ||
              (s.size() > f->size() && s.compare(0, f->size(), *f) == 0 && s[f->size()] == '/')) {
            std::string new_name = *t + s.substr(f->size());
            PB_RETURN_IF_ERROR(ops.Del(ops.db().subscriptions, UserNameKey(user, s)));
            PB_RETURN_IF_ERROR(
                ops.Put(ops.db().subscriptions, UserNameKey(user, new_name), new_name));
          }
        }
        return Status::Ok();
      },
      std::move(done));
}

void LmdbStore::SetSubscribed(UserId user, std::string name, bool subscribed, StatusCallback done) {
  SubmitStatus(
      [user, name = std::move(name), subscribed](WriteOps& ops) -> Status {
        auto norm = NormalizeMailboxName(name);
        if (!norm.ok()) return norm.status();
        auto u = ops.LoadUser(user);
        if (!u.ok()) return u.status();
        std::string key = UserNameKey(user, *norm);
        ops.TouchUser(user);
        if (subscribed) return ops.Put(ops.db().subscriptions, key, *norm);
        return ops.Del(ops.db().subscriptions, key);
      },
      std::move(done));
}

void LmdbStore::SetMailboxRetention(UserId user, std::string name, std::int64_t days,
                                    StatusCallback done) {
  SubmitStatus(
      [user, name = std::move(name), days](WriteOps& ops) -> Status {
        if (days < 0) return Status::InvalidArgument("negative retention");
        auto norm = NormalizeMailboxName(name);
        if (!norm.ok()) return norm.status();
        auto id = ops.FindMailboxId(user, *norm);
        if (!id.ok()) return id.status();
        auto row = ops.LoadMailbox(*id);
        if (!row.ok()) return row.status();
        row->rec.expire_after_days = days;
        return ops.SaveMailbox(*row);
      },
      std::move(done));
}

void LmdbStore::SetMailboxUidState(UserId user, std::string name, std::uint32_t uidvalidity,
                                   Uid uidnext, ModSeq min_highest_modseq, StatusCallback done) {
  SubmitStatus(
      [user, name = std::move(name), uidvalidity, uidnext,
       min_highest_modseq](WriteOps& ops) -> Status {
        if (uidnext == 0) return Status::InvalidArgument("uidnext 0");
        auto norm = NormalizeMailboxName(name);
        if (!norm.ok()) return norm.status();
        auto id = ops.FindMailboxId(user, *norm);
        if (!id.ok()) return id.status();
        auto row = ops.LoadMailbox(*id);
        if (!row.ok()) return row.status();
        MailboxRecord& r = row->rec;
        bool changed = false;
        if (uidvalidity != 0 && uidvalidity != r.uidvalidity) {
          if (r.messages != 0) {
            return Status::InUse("mailbox " + r.name + " is not empty: its UIDVALIDITY stays");
          }
          // A new UID space: the old UIDs mean nothing under it.
          r.uidvalidity = uidvalidity;
          r.uidnext = uidnext;
          row->first_recent = uidnext;
          changed = true;
        } else if (uidnext > r.uidnext) {
          r.uidnext = uidnext;
          changed = true;
        }
        // No change row: nothing changed at a MODSEQ in between.
        if (min_highest_modseq > r.highest_modseq) {
          r.highest_modseq = min_highest_modseq;
          changed = true;
        }
        if (!changed) return Status::Ok();
        ops.Touch(r.id);
        return ops.SaveMailbox(*row);
      },
      std::move(done));
}

// --- messages ------------------------------------------------------------------

namespace {

// Stores one prepared message (inside the caller's transaction).
Result<AppendResult> ApplyAppend(WriteOps& ops, const AppendRequest& req,
                                 const PreparedMessage& prep) {
  // Prepared before it was queued: the transaction only writes.
  if (!prep.status.ok()) return prep.status;
  // An import's UID and POP3 UIDL (pillarbox import).
  if ((!req.pop3_uidl.empty() && !IsValidUidl(req.pop3_uidl)) || (req.uid && *req.uid == 0)) {
    return Status::InvalidArgument("bad uid or POP3 UIDL");
  }
  auto u = ops.LoadUser(req.user);
  if (!u.ok()) return u.status();
  auto norm = NormalizeMailboxName(req.mailbox);
  if (!norm.ok()) return norm.status();
  MailboxRow mb;
  auto id = ops.FindMailboxId(req.user, *norm);
  if (id.ok()) {
    auto row = ops.LoadMailbox(*id);
    if (!row.ok()) return row.status();
    mb = std::move(*row);
  } else if (id.status().code() == Code::kNotFound && req.create_mailbox) {
    auto row = ops.CreateMailboxWithParents(req.user, *norm, SpecialUse::kNone, true);
    if (!row.ok()) return row.status();
    mb = std::move(*row);
  } else {
    return id.status();
  }
  std::uint64_t size = prep.bytes->size();
  if (req.enforce_quota) PB_RETURN_IF_ERROR(ops.CheckQuota(*u, size, 1));
  auto subject = ops.AddBlob(prep.id, *prep.bytes, prep.analyzed ? &*prep.analyzed : nullptr);
  if (!subject.ok()) return subject.status();
  auto guid = ops.NextCounter("next_guid");
  if (!guid.ok()) return guid.status();
  MessageRecord msg;
  msg.blob = prep.id;
  msg.flags = NormalizeFlags(req.flags);
  msg.saved = Now();
  msg.internal_date = req.internal_date.value_or(msg.saved);
  msg.internal_date_tz = req.internal_date_tz;
  if (!req.internal_date && ops.options().deterministic && ops.options().message_date) {
    if (auto date = ops.options().message_date(*prep.bytes)) {
      msg.internal_date = date->utc;
      msg.internal_date_tz = date->tz_minutes;
    }
  }
  msg.size = size;
  msg.guid = *guid;
  msg.pop3_uidl = req.pop3_uidl;
  PB_RETURN_IF_ERROR(ops.AddMessage(mb, *u, msg, req.uid.value_or(0)));
  PB_RETURN_IF_ERROR(ops.SaveMailbox(mb));
  PB_RETURN_IF_ERROR(ops.SaveUser(*u));
  JournalEvent ev;
  ev.kind = JournalKind::kDelivered;
  ev.origin = req.origin;
  ev.mailbox = mb.rec.name;
  ev.uid = msg.uid;
  ev.guid = msg.guid;
  ev.subject = *subject;
  ev.detail = req.origin.protocol.empty() ? "append" : req.origin.protocol;
  if (!req.envelope_from.empty()) ev.detail += " from <" + req.envelope_from + ">";
  PB_RETURN_IF_ERROR(ops.Journal(req.user, std::move(ev)));
  AppendResult r;
  r.mailbox = mb.rec.id;
  r.uidvalidity = mb.rec.uidvalidity;
  r.uid = msg.uid;
  r.guid = msg.guid;
  r.size = size;
  return r;
}

}  // namespace

std::shared_ptr<PreparedMessage> LmdbStore::Prepared(AppendRequest& request) {
  // The recipients of one message (same bytes, same spill file) share one
  // preparation while it is alive.
  std::erase_if(prepared_, [](const auto& entry) { return entry.second.expired(); });
  std::pair<const void*, const void*> key(request.bytes.get(), request.spill.get());
  std::shared_ptr<PreparedMessage> prep = prepared_[key].lock();
  if (!prep) {
    prep = std::make_shared<PreparedMessage>();
    prep->source = request.bytes;
    prep->spill = request.spill;
    prep->keep_bytes = request.keep_bytes;
    prepared_[key] = prep;
  }
  request.bytes.reset();
  request.spill.reset();
  return prep;
}

void LmdbStore::Append(AppendRequest request, Callback<AppendResult> done) {
  // Counted on the owner thread when committed (GET /metrics).
  done = [proto = request.origin.protocol, done = std::move(done)](Result<AppendResult> r) {
    if (r.ok()) {
      metrics::Count("deliveries_total", metrics::Label("protocol", proto),
                     "Messages stored, by the protocol that brought them");
    }
    done(std::move(r));
  };
  if (!request.bytes && !request.spill) {
    return Submit<AppendResult>(
        [](WriteOps&) -> Result<AppendResult> {
          return Status::InvalidArgument("no message bytes");
        },
        std::move(done));
  }
  // Appends of one session commit in the order they were submitted.
  const std::uint64_t lane = request.origin.session;
  std::shared_ptr<PreparedMessage> prep = Prepared(request);
  Mutation m = MakeMutation<AppendResult>(
      [req = std::move(request), prep](WriteOps& ops) -> Result<AppendResult> {
        return ApplyAppend(ops, req, *prep);
      },
      std::move(done));
  EnqueuePrepared(lane, std::move(m), [this, prep] { Prepare(*prep); });
}

void LmdbStore::AppendMany(std::vector<AppendRequest> requests,
                           Callback<std::vector<AppendResult>> done) {
  const std::string proto = requests.empty() ? std::string() : requests[0].origin.protocol;
  done = [proto, done = std::move(done)](Result<std::vector<AppendResult>> r) {
    if (r.ok()) {
      for (std::size_t i = 0; i < r->size(); ++i) {
        metrics::Count("deliveries_total", metrics::Label("protocol", proto),
                       "Messages stored, by the protocol that brought them");
      }
    }
    done(std::move(r));
  };
  bool valid = !requests.empty();
  for (const AppendRequest& r : requests) valid = valid && r.bytes && !r.spill;
  if (!valid) {
    return Submit<std::vector<AppendResult>>(
        [](WriteOps&) -> Result<std::vector<AppendResult>> {
          return Status::InvalidArgument("no message bytes");
        },
        std::move(done));
  }
  const std::uint64_t lane = requests[0].origin.session;
  std::vector<std::shared_ptr<PreparedMessage>> preps;
  preps.reserve(requests.size());
  for (AppendRequest& r : requests) preps.push_back(Prepared(r));
  // One mutation, one nested transaction: a failure of any message (quota,
  // a mailbox deleted meanwhile) undoes the ones before it.
  Mutation m = MakeMutation<std::vector<AppendResult>>(
      [reqs = std::move(requests), preps](WriteOps& ops) -> Result<std::vector<AppendResult>> {
        std::vector<AppendResult> out;
        out.reserve(reqs.size());
        for (std::size_t i = 0; i < reqs.size(); ++i) {
          auto r = ApplyAppend(ops, reqs[i], *preps[i]);
          if (!r.ok()) return r.status();
          out.push_back(*r);
        }
        return out;
      },
      std::move(done));
  EnqueuePrepared(lane, std::move(m), [this, preps] {
    for (const auto& p : preps) Prepare(*p);
  });
}

// How much of a spill file is read at a time.
constexpr std::size_t kSpillChunkBytes = 1u << 20;

void LmdbStore::Prepare(PreparedMessage& p) {
  std::call_once(p.once, [&] {
    if (p.spill) {
      // One copy in memory: the trace headers and the file, normalized as
      // they are read.
      auto out = std::make_shared<std::string>();
      out->reserve((p.source ? p.source->size() : 0) + p.spill->size() + 2);
      bool after_cr = false;
      if (p.source) AppendNormalized(*p.source, &after_cr, out.get());
      p.status = p.spill->ReadChunks(kSpillChunkBytes, [&](std::string_view piece) {
        AppendNormalized(piece, &after_cr, out.get());
        return Status::Ok();
      });
      if (!p.status.ok()) return;
      p.bytes = std::move(out);
    } else if (p.keep_bytes || IsNormalized(*p.source)) {
      p.bytes = p.source;  // no copy
    } else {
      p.bytes = std::make_shared<const std::string>(NormalizeLineEndings(*p.source));
    }
    p.id = Sha256(*p.bytes);
    if (!options_.analyzer) return;
    // A parser bug must not lose the message: it is stored without
    // structure, and the log says which message and why.
    try {
      p.analyzed.emplace(options_.analyzer(*p.bytes));
    } catch (const std::exception& e) {
      LOG_ERROR("store: analyzing message {} ({} bytes) failed: {}; stored without structure",
                p.id.Hex(), p.bytes->size(), e.what());
      p.analyzed.emplace();
    } catch (...) {
      LOG_ERROR(
          "store: analyzing message {} ({} bytes) failed: unknown exception; stored "
          "without structure",
          p.id.Hex(), p.bytes->size());
      p.analyzed.emplace();
    }
  });
}

void LmdbStore::StoreFlags(StoreFlagsRequest request, Callback<StoreFlagsResult> done) {
  Submit<StoreFlagsResult>(
      [req = std::move(request)](WriteOps& ops) -> Result<StoreFlagsResult> {
        auto mb = ops.LoadMailbox(req.mailbox);
        if (!mb.ok()) return mb.status();
        auto u = ops.LoadUser(mb->rec.user);
        if (!u.ok()) return u.status();
        Flags given = NormalizeFlags(req.flags);
        StoreFlagsResult result;
        for (Uid uid : req.uids) {
          auto msg = ops.LoadMessage(req.mailbox, uid);
          if (!msg.ok()) {
            if (msg.status().code() == Code::kNotFound) continue;
            return msg.status();
          }
          if (req.unchanged_since && msg->modseq > *req.unchanged_since) {
            result.modified.push_back(uid);
            continue;
          }
          Flags after = ApplyFlagOp(msg->flags, req.op, given);
          if (after == msg->flags) continue;
          Flags before = msg->flags;
          PB_RETURN_IF_ERROR(ops.ChangeFlags(*mb, *msg, after));
          PB_RETURN_IF_ERROR(JournalFlags(ops, u->id, req.origin, mb->rec.name, *msg, before));
          result.changed.push_back(std::move(*msg));
        }
        PB_RETURN_IF_ERROR(ops.SaveMailbox(*mb));
        result.highest_modseq = mb->rec.highest_modseq;
        return result;
      },
      std::move(done));
}

void LmdbStore::Copy(CopyRequest request, Callback<CopyResult> done) {
  Submit<CopyResult>(
      [req = std::move(request)](WriteOps& ops) -> Result<CopyResult> {
        auto src = ops.LoadMailbox(req.from);
        if (!src.ok()) return src.status();
        std::optional<MailboxRow> dst_own;
        MailboxRow* dst = &*src;
        if (req.to != req.from) {
          auto d = ops.LoadMailbox(req.to);
          if (!d.ok()) return d.status();
          dst_own = std::move(*d);
          dst = &*dst_own;
        }
        if (dst->rec.user != src->rec.user) {
          return Status::NoPermission("cannot copy between users");
        }
        auto u = ops.LoadUser(src->rec.user);
        if (!u.ok()) return u.status();
        CopyResult result;
        result.dest_uidvalidity = dst->rec.uidvalidity;
        // Collect first: copying into the same mailbox adds UIDs.
        std::vector<MessageRecord> msgs;
        std::uint64_t bytes = 0;
        for (Uid uid : req.uids) {
          auto m = ops.LoadMessage(req.from, uid);
          if (!m.ok()) {
            if (m.status().code() == Code::kNotFound) continue;
            return m.status();
          }
          bytes += m->size;
          msgs.push_back(std::move(*m));
        }
        if (!req.move) PB_RETURN_IF_ERROR(ops.CheckQuota(*u, bytes, msgs.size()));
        std::string src_name = src->rec.name, dst_name = dst->rec.name;
        for (const auto& m : msgs) {
          auto added = Transfer(ops, *src, *dst, *u, m, req.move);
          if (!added.ok()) return added.status();
          result.source_uids.push_back(m.uid);
          result.dest_uids.push_back(added->uid);
          PB_RETURN_IF_ERROR(ops.JournalMessage(
              u->id, req.move ? JournalKind::kMoved : JournalKind::kCopied, req.origin, dst_name,
              *added, (req.move ? "moved from " : "copied from ") + src_name));
        }
        PB_RETURN_IF_ERROR(ops.SaveMailbox(*src));
        if (dst != &*src) PB_RETURN_IF_ERROR(ops.SaveMailbox(*dst));
        PB_RETURN_IF_ERROR(ops.SaveUser(*u));
        return result;
      },
      std::move(done));
}

void LmdbStore::Expunge(ExpungeRequest request, Callback<std::vector<Uid>> done) {
  Submit<std::vector<Uid>>(
      [req = std::move(request)](WriteOps& ops) -> Result<std::vector<Uid>> {
        auto mb = ops.LoadMailbox(req.mailbox);
        if (!mb.ok()) return mb.status();
        auto u = ops.LoadUser(mb->rec.user);
        if (!u.ok()) return u.status();
        std::vector<MessageRecord> msgs;
        if (req.uids) {
          for (Uid uid : *req.uids) {
            auto m = ops.LoadMessage(req.mailbox, uid);
            if (!m.ok()) {
              if (m.status().code() == Code::kNotFound) continue;
              return m.status();
            }
            msgs.push_back(std::move(*m));
          }
        } else {
          auto all = ops.MailboxMessages(req.mailbox);
          if (!all.ok()) return all.status();
          msgs = std::move(*all);
        }
        std::vector<Uid> expunged;
        for (const auto& m : msgs) {
          if (req.require_deleted && !(m.flags.system & kFlagDeleted)) continue;
          PB_RETURN_IF_ERROR(
              ops.JournalMessage(u->id, req.journal_kind, req.origin, mb->rec.name, m, ""));
          PB_RETURN_IF_ERROR(ops.RemoveMessage(*mb, *u, m));
          PB_RETURN_IF_ERROR(ops.DecBlobRef(m.blob));
          expunged.push_back(m.uid);
        }
        std::sort(expunged.begin(), expunged.end());
        PB_RETURN_IF_ERROR(ops.SaveMailbox(*mb));
        PB_RETURN_IF_ERROR(ops.SaveUser(*u));
        return expunged;
      },
      std::move(done));
}

// --- POP3 ----------------------------------------------------------------------

void LmdbStore::MarkPop3Retrieved(MailboxId mailbox, Uid uid, bool set_seen, Origin origin,
                                  std::string detail, StatusCallback done) {
  SubmitStatus(
      [mailbox, uid, set_seen, origin = std::move(origin),
       detail = std::move(detail)](WriteOps& ops) -> Status {
        auto mb = ops.LoadMailbox(mailbox);
        if (!mb.ok()) return mb.status();
        auto msg = ops.LoadMessage(mailbox, uid);
        if (!msg.ok()) {
          if (msg.status().code() == Code::kNotFound) {
            return Status::Expunged("message was expunged");
          }
          return msg.status();
        }
        msg->pop3.retrieved = Now();
        if (set_seen && !(msg->flags.system & kFlagSeen)) {
          Flags after = msg->flags;
          after.system |= kFlagSeen;
          PB_RETURN_IF_ERROR(ops.ChangeFlags(*mb, *msg, after));
          PB_RETURN_IF_ERROR(ops.SaveMailbox(*mb));
        } else {
          PB_RETURN_IF_ERROR(ops.SaveMessage(mailbox, *msg));
        }
        std::string text = detail;
        if (set_seen) text += text.empty() ? "marked \\Seen" : ", marked \\Seen";
        return ops.JournalMessage(mb->rec.user, JournalKind::kPop3Retrieved, origin, mb->rec.name,
                                  *msg, std::move(text));
      },
      std::move(done));
}

void LmdbStore::UnhidePop3(UserId user, std::optional<std::vector<Uid>> uids, Origin origin,
                           Callback<std::vector<Uid>> done) {
  Submit<std::vector<Uid>>(
      [user, uids = std::move(uids),
       origin = std::move(origin)](WriteOps& ops) -> Result<std::vector<Uid>> {
        auto u = ops.LoadUser(user);
        if (!u.ok()) return u.status();
        auto inbox_id = ops.FindMailboxId(user, "INBOX");
        if (!inbox_id.ok()) return inbox_id.status();
        auto inbox = ops.LoadMailbox(*inbox_id);
        if (!inbox.ok()) return inbox.status();
        std::vector<MessageRecord> candidates;
        if (uids) {
          for (Uid uid : *uids) {
            auto m = ops.LoadMessage(*inbox_id, uid);
            if (!m.ok()) {
              if (m.status().code() == Code::kNotFound) continue;
              return m.status();
            }
            candidates.push_back(std::move(*m));
          }
        } else {
          auto all = ops.MailboxMessages(*inbox_id);
          if (!all.ok()) return all.status();
          candidates = std::move(*all);
        }
        std::vector<Uid> unhidden;
        for (auto& m : candidates) {
          if (!m.pop3.hidden) continue;
          m.pop3.hidden = false;
          PB_RETURN_IF_ERROR(ops.SaveMessage(*inbox_id, m));
          PB_RETURN_IF_ERROR(ops.JournalMessage(user, JournalKind::kPop3Unhidden, origin,
                                                inbox->rec.name, m, "visible to POP3 again"));
          unhidden.push_back(m.uid);
        }
        std::sort(unhidden.begin(), unhidden.end());
        unhidden.erase(std::unique(unhidden.begin(), unhidden.end()), unhidden.end());
        return unhidden;
      },
      std::move(done));
}

void LmdbStore::Pop3Commit(Pop3CommitRequest request, Callback<Pop3CommitResult> done) {
  Submit<Pop3CommitResult>(
      [req = std::move(request)](WriteOps& ops) -> Result<Pop3CommitResult> {
        const Pop3DeleteMode mode = req.delete_mode;
        if (mode > Pop3DeleteMode::kDeny)
          return Status::InvalidArgument("unknown POP3 delete mode");
        if (mode == Pop3DeleteMode::kDeny) {
          return Status::NoPermission("deleting messages through POP3 is not allowed");
        }
        auto mb = ops.LoadMailbox(req.mailbox);
        if (!mb.ok()) return mb.status();
        if (mb->rec.user != req.user) return Status::NoPermission("not the user's mailbox");
        auto u = ops.LoadUser(req.user);
        if (!u.ok()) return u.status();
        std::optional<MailboxRow> target;
        std::string detail;
        switch (mode) {
          case Pop3DeleteMode::kExpunge:
            detail = "expunge";
            break;
          case Pop3DeleteMode::kHide:
            detail = "hide";
            break;
          case Pop3DeleteMode::kMove: {
            auto name = NormalizeMailboxName(req.move_target);
            if (!name.ok()) return name.status();
            if (*name == mb->rec.name) {
              return Status::InvalidArgument("POP3 move target is the mailbox itself");
            }
            auto id = ops.FindMailboxId(req.user, *name);
            if (id.ok()) {
              auto row = ops.LoadMailbox(*id);
              if (!row.ok()) return row.status();
              target = std::move(*row);
            } else if (id.status().code() == Code::kNotFound) {
              auto row = ops.CreateMailboxWithParents(req.user, *name, SpecialUse::kNone, true);
              if (!row.ok()) return row.status();
              target = std::move(*row);
            } else {
              return id.status();
            }
            detail = "move:" + *name;
            break;
          }
          case Pop3DeleteMode::kDeny:
            break;
        }
        Pop3CommitResult result;
        for (Uid uid : req.uids) {
          auto msg = ops.LoadMessage(req.mailbox, uid);
          if (!msg.ok()) {
            if (msg.status().code() == Code::kNotFound) continue;
            return msg.status();
          }
          std::string applied = detail;
          if (mode == Pop3DeleteMode::kMove) {
            auto moved = Transfer(ops, *mb, *target, *u, *msg, true);
            if (!moved.ok()) return moved.status();
            // Where it went, so that the journal can follow it.
            applied += ", now " + target->rec.name + " UID " + std::to_string(moved->uid);
          }
          PB_RETURN_IF_ERROR(ops.JournalMessage(req.user, JournalKind::kPop3Deleted, req.origin,
                                                mb->rec.name, *msg, applied));
          switch (mode) {
            case Pop3DeleteMode::kExpunge:
              PB_RETURN_IF_ERROR(ops.RemoveMessage(*mb, *u, *msg));
              PB_RETURN_IF_ERROR(ops.DecBlobRef(msg->blob));
              break;
            case Pop3DeleteMode::kHide:
              msg->pop3.hidden = true;
              PB_RETURN_IF_ERROR(ops.SaveMessage(req.mailbox, *msg));
              break;
            case Pop3DeleteMode::kMove:  // done above
            case Pop3DeleteMode::kDeny:
              break;
          }
          result.applied.push_back(uid);
        }
        PB_RETURN_IF_ERROR(ops.SaveMailbox(*mb));
        if (target) PB_RETURN_IF_ERROR(ops.SaveMailbox(*target));
        PB_RETURN_IF_ERROR(ops.SaveUser(*u));
        return result;
      },
      std::move(done));
}

// --- journal, retention --------------------------------------------------------

void LmdbStore::RecordJournal(UserId user, JournalEvent event, StatusCallback done) {
  SubmitStatus(
      [user, event = std::move(event)](WriteOps& ops) -> Status {
        auto u = ops.LoadUser(user);
        if (!u.ok()) return u.status();
        return ops.Journal(user, event);
      },
      std::move(done));
}

void LmdbStore::SweepRetention(std::vector<RetentionRule> rules, UnixTime now,
                               StatusCallback done) {
  SubmitStatus(
      [rules = std::move(rules), now](WriteOps& ops) -> Status {
        std::vector<UserId> users;
        PB_RETURN_IF_ERROR(ops.Scan(ops.db().users, {}, [&](std::string_view k, std::string_view) {
          if (k.size() == 8) users.push_back(GetBigEndian64(k.data()));
          return true;
        }));
        for (UserId uid : users) {
          auto u = ops.LoadUser(uid);
          if (!u.ok()) return u.status();
          auto rows = ops.UserMailboxes(uid);
          if (!rows.ok()) return rows.status();
          bool user_changed = false;
          for (auto& row : *rows) {
            std::int64_t days = RetentionDays(row.rec, rules);
            if (days <= 0) continue;
            UnixTime cutoff = now - days * kSecondsPerDay;
            auto msgs = ops.MailboxMessages(row.rec.id);
            if (!msgs.ok()) return msgs.status();
            bool changed = false;
            Origin origin;
            origin.protocol = "retention";
            for (const auto& m : *msgs) {
              if (m.saved >= cutoff) continue;
              PB_RETURN_IF_ERROR(ops.JournalMessage(uid, JournalKind::kExpired, origin,
                                                    row.rec.name, m,
                                                    "after " + std::to_string(days) + " days"));
              PB_RETURN_IF_ERROR(ops.RemoveMessage(row, *u, m));
              PB_RETURN_IF_ERROR(ops.DecBlobRef(m.blob));
              changed = true;
            }
            if (changed) {
              PB_RETURN_IF_ERROR(ops.SaveMailbox(row));
              user_changed = true;
            }
          }
          if (user_changed) PB_RETURN_IF_ERROR(ops.SaveUser(*u));
          if (ops.options().journal_max_age_days > 0) {
            PB_RETURN_IF_ERROR(ops.PruneJournal(
                uid, now - std::int64_t{ops.options().journal_max_age_days} * kSecondsPerDay));
          }
        }
        return Status::Ok();
      },
      std::move(done));
}

}  // namespace pillarbox::storage::lmdb
