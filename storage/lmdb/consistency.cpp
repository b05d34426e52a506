// CheckInvariants: every invariant of FORMAT.md, checked row by row so that
// one bad row is one line of the report and the check goes on.
#include "storage/lmdb/consistency.h"

#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "common/strings.h"

namespace pillarbox::storage::lmdb {
namespace {

std::string Num(std::uint64_t v) { return std::to_string(v); }

std::string Hex(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

// A blob key for a person: the first 12 hex digits of its SHA-256.
std::string BlobName(std::string_view key) { return "blob " + Hex(key.substr(0, 6)); }

struct MailboxState {
  MailboxRow row;
  bool indexed = false;  // the name index points at it
  // Recount of its messages.
  std::uint64_t messages = 0, unseen = 0, deleted = 0, size = 0;
};

class Checker {
 public:
  Checker(TxnOps& ops, ConsistencyReport* report) : ops_(ops), db_(ops.db()), report_(report) {}

  void Run() {
    if (!Meta()) return;
    Users();
    UserNames();
    Mailboxes();
    MailboxIndex();
    Messages();
    MailboxCounts();
    Usage();
    Changes();
    BlobRefs();
    Blobs();
    Structures();
  }

 private:
  void Add(std::string problem) { report_->Add(std::move(problem)); }
  // A scan that could not run at all (an LMDB error) is a problem too.
  void Scan(MDB_dbi dbi, const char* what, const TxnOps::ScanFn& fn) {
    Status s = ops_.Scan(dbi, {}, fn);
    if (!s.ok()) Add(std::string("cannot read ") + what + ": " + s.message());
  }
  std::uint64_t Counter(const char* name) {
    auto v = ops_.Counter(name);
    if (!v.ok()) {
      Add(std::string("meta ") + name + ": " + v.status().message());
      return ~std::uint64_t{0};  // unknown: no id is checked against it
    }
    return *v;
  }
  std::string UserName(UserId id) {
    auto it = users_.find(id);
    return it == users_.end() ? "user " + Num(id) : it->second.name;
  }
  std::string MailboxName(MailboxId id) {
    auto it = mailboxes_.find(id);
    if (it == mailboxes_.end()) return "mailbox " + Num(id);
    return "mailbox " + Num(id) + " (" + UserName(it->second.row.rec.user) + "/" +
           it->second.row.rec.name + ")";
  }

  bool Meta() {
    auto version = ops_.Get(db_.meta, "format_version");
    if (!version.ok()) {
      Add("meta format_version: " + version.status().message());
    } else if (version->size() != 4 || GetBigEndian32(version->data()) > kFormatVersion ||
               GetBigEndian32(version->data()) < kOldestFormatVersion) {
      Add("meta format_version is not " + Num(kFormatVersion) + ": this build cannot check it");
      return false;
    } else if (std::uint32_t v = GetBigEndian32(version->data()); v < kFormatVersion) {
      // Every record of an older version is a valid record of this one
      // (FORMAT.md, "Version check"): checked the same way.
      report_->notes.push_back("format version " + Num(v) + ", older than this build's " +
                               Num(kFormatVersion) + ": the server marks it " +
                               Num(kFormatVersion) + " when it next opens the store");
    }
    next_user_ = Counter("next_user_id");
    next_mailbox_ = Counter("next_mailbox_id");
    next_guid_ = Counter("next_guid");
    return true;
  }

  void Users() {
    Scan(db_.users, "users", [&](std::string_view k, std::string_view v) {
      UserRecord u;
      if (k.size() != 8) {
        Add("users: key of " + Num(k.size()) + " bytes");
        return true;
      }
      u.id = GetBigEndian64(k.data());
      if (!DecodeUser(v, &u)) {
        Add("user " + Num(u.id) + ": record cannot be decoded");
        return true;
      }
      if (u.id == 0 || u.id > next_user_) {
        Add("user " + u.name + ": id " + Num(u.id) + " beyond next_user_id " + Num(next_user_));
      }
      auto by_name = ops_.FindUserId(u.name);
      if (!by_name.ok() || *by_name != u.id) {
        Add("user " + u.name + ": missing from the name index");
      }
      users_.emplace(u.id, std::move(u));
      return true;
    });
    report_->users = users_.size();
  }

  // Every name index entry points at a user of that name.
  void UserNames() {
    Scan(db_.user_names, "user_names", [&](std::string_view k, std::string_view v) {
      if (v.size() != 8) {
        Add("user name index: entry of " + Num(v.size()) + " bytes");
        return true;
      }
      UserId id = GetBigEndian64(v.data());
      auto it = users_.find(id);
      if (it == users_.end()) {
        Add("user name index: entry points at missing user " + Num(id));
      } else if (UserIndexKey(AsciiFold(it->second.name)) != k) {
        Add("user name index: entry for user " + it->second.name + " under another name");
      }
      return true;
    });
  }

  void Mailboxes() {
    Scan(db_.mailbox_meta, "mailbox_meta", [&](std::string_view k, std::string_view v) {
      if (k.size() != 8) {
        Add("mailbox_meta: key of " + Num(k.size()) + " bytes");
        return true;
      }
      MailboxState st;
      if (!DecodeMailbox(v, &st.row)) {
        Add("mailbox " + Num(GetBigEndian64(k.data())) + ": record cannot be decoded");
        return true;
      }
      st.row.rec.id = GetBigEndian64(k.data());
      mailboxes_.emplace(st.row.rec.id, std::move(st));
      return true;
    });
    report_->mailboxes = mailboxes_.size();
    std::unordered_set<UserId> with_inbox;
    for (auto& [id, st] : mailboxes_) {
      const MailboxRecord& r = st.row.rec;
      std::string where = MailboxName(id);
      if (!users_.count(r.user)) Add(where + ": belongs to missing user " + Num(r.user));
      if (id == 0 || id > next_mailbox_) {
        Add(where + ": id beyond next_mailbox_id " + Num(next_mailbox_));
      }
      if (r.uidnext == 0) Add(where + ": uidnext is 0");
      auto back = ops_.FindMailboxId(r.user, r.name);
      if (!back.ok() || *back != id) Add(where + ": missing from the name index");
      if (r.name == "INBOX") with_inbox.insert(r.user);
    }
    for (const auto& [id, u] : users_) {
      if (!with_inbox.count(id)) Add("user " + u.name + ": has no INBOX");
    }
  }

  // Every mailbox name index entry points at a mailbox of that user.
  void MailboxIndex() {
    Scan(db_.mailboxes, "mailboxes", [&](std::string_view k, std::string_view v) {
      if (k.size() < 8 || v.size() != 8) {
        Add("mailbox name index: malformed entry");
        return true;
      }
      UserId user = GetBigEndian64(k.data());
      MailboxId id = GetBigEndian64(v.data());
      auto it = mailboxes_.find(id);
      if (it == mailboxes_.end()) {
        Add("mailbox name index: entry of " + UserName(user) + " points at missing mailbox " +
            Num(id));
      } else if (it->second.row.rec.user != user) {
        Add("mailbox name index: entry of " + UserName(user) + " points at " + MailboxName(id) +
            " of another user");
      } else {
        it->second.indexed = true;
      }
      return true;
    });
  }

  void Messages() {
    std::unordered_set<std::uint64_t> guids;
    Scan(db_.messages, "messages", [&](std::string_view k, std::string_view v) {
      if (k.size() != 12) {
        Add("messages: key of " + Num(k.size()) + " bytes");
        return true;
      }
      ++report_->messages;
      MailboxId mb = GetBigEndian64(k.data());
      Uid uid = GetBigEndian32(k.data() + 8);
      auto it = mailboxes_.find(mb);
      std::string where = MailboxName(mb) + " uid " + Num(uid);
      MessageRecord m;
      if (!DecodeMessage(v, &m)) {
        Add(where + ": record cannot be decoded");
        return true;
      }
      if (it == mailboxes_.end()) {
        Add(where + ": message of a missing mailbox");
      } else {
        MailboxState& st = it->second;
        if (uid == 0 || uid >= st.row.rec.uidnext) {
          Add(where + ": uid not below uidnext " + Num(st.row.rec.uidnext));
        }
        if (m.modseq == 0 || m.modseq > st.row.rec.highest_modseq) {
          Add(where + ": modseq " + Num(m.modseq) + " beyond highest_modseq " +
              Num(st.row.rec.highest_modseq));
        }
        ++st.messages;
        if (!(m.flags.system & kFlagSeen)) ++st.unseen;
        if (m.flags.system & kFlagDeleted) ++st.deleted;
        st.size += m.size;
      }
      if (m.guid == 0 || m.guid > next_guid_) {
        Add(where + ": guid " + Num(m.guid) + " beyond next_guid " + Num(next_guid_));
      } else if (!guids.insert(m.guid).second) {
        Add(where + ": guid " + Num(m.guid) + " used twice");
      }
      std::string key(BlobKey(m.blob));
      auto blob = ops_.Get(db_.blobs, key);
      if (!blob.ok()) {
        Add(where + ": its " + BlobName(key) + " is missing");
      } else if (blob->size() != m.size) {
        Add(where + ": size " + Num(m.size) + " differs from its blob's " + Num(blob->size()));
      }
      refs_[key]++;
      return true;
    });
  }

  void MailboxCounts() {
    for (auto& entry : mailboxes_) {
      // Named, not structured bindings: the lambda uses them (clang 14).
      const auto id = entry.first;
      auto& st = entry.second;
      const MailboxRecord& r = st.row.rec;
      auto differs = [&](const char* what, std::uint64_t stored, std::uint64_t counted) {
        if (stored != counted) {
          Add(MailboxName(id) + ": " + what + " is " + Num(stored) + ", a recount gives " +
              Num(counted));
        }
      };
      differs("messages", r.messages, st.messages);
      differs("unseen", r.unseen, st.unseen);
      differs("deleted", r.deleted, st.deleted);
      differs("size", r.size, st.size);
      if (!st.indexed) Add(MailboxName(id) + ": no name index entry points at it");
    }
  }

  // A user's usage is the sum over their mailboxes' recounts.
  void Usage() {
    std::unordered_map<UserId, std::pair<std::uint64_t, std::uint64_t>> sums;
    for (const auto& [id, st] : mailboxes_) {
      auto& s = sums[st.row.rec.user];
      s.first += st.size;
      s.second += st.messages;
    }
    for (const auto& [id, u] : users_) {
      auto s = sums[id];
      if (u.used_bytes != s.first || u.used_messages != s.second) {
        Add("user " + u.name + ": usage " + Num(u.used_bytes) + " bytes in " +
            Num(u.used_messages) + " messages, its mailboxes hold " + Num(s.first) + " bytes in " +
            Num(s.second));
      }
    }
  }

  void Changes() {
    MailboxId reported_missing = 0;
    Scan(db_.changes, "changes", [&](std::string_view k, std::string_view v) {
      if (k.size() != 16) {
        Add("changes: key of " + Num(k.size()) + " bytes");
        return true;
      }
      MailboxId mb = GetBigEndian64(k.data());
      ModSeq modseq = GetBigEndian64(k.data() + 8);
      auto it = mailboxes_.find(mb);
      if (it == mailboxes_.end()) {
        // One line per missing mailbox, not per row (keys are in order).
        if (reported_missing != mb) Add("changes: rows of missing mailbox " + Num(mb));
        reported_missing = mb;
        return true;
      }
      Change c;
      if (!DecodeChange(v, &c)) {
        Add(MailboxName(mb) + ": change row " + Num(modseq) + " cannot be decoded");
      } else if (modseq > it->second.row.rec.highest_modseq) {
        Add(MailboxName(mb) + ": change row modseq " + Num(modseq) + " beyond highest_modseq " +
            Num(it->second.row.rec.highest_modseq));
      }
      return true;
    });
  }

  // blob_refs equals the references found; every referenced blob has one.
  void BlobRefs() {
    std::unordered_set<std::string> seen;
    Scan(db_.blob_refs, "blob_refs", [&](std::string_view k, std::string_view v) {
      std::string key(k);
      auto it = refs_.find(key);
      std::uint64_t found = it == refs_.end() ? 0 : it->second;
      if (v.size() != 8) {
        Add(BlobName(k) + ": refcount of " + Num(v.size()) + " bytes");
      } else if (GetBigEndian64(v.data()) != found) {
        Add(BlobName(k) + ": refcount " + Num(GetBigEndian64(v.data())) + ", referenced by " +
            Num(found) + " messages");
      }
      seen.insert(std::move(key));
      return true;
    });
    for (const auto& [key, n] : refs_) {
      if (!seen.count(key))
        Add(BlobName(key) + ": referenced by " + Num(n) + " messages, no refcount");
    }
  }

  // No orphan blobs; each blob's bytes still hash to its key.
  void Blobs() {
    Scan(db_.blobs, "blobs", [&](std::string_view k, std::string_view v) {
      ++report_->blobs;
      report_->blob_bytes += v.size();
      if (!refs_.count(std::string(k))) Add(BlobName(k) + ": orphan (no message references it)");
      BlobId id = Sha256(v);
      if (BlobKey(id) != k) Add(BlobName(k) + ": its bytes do not match its SHA-256");
      return true;
    });
  }

  void Structures() {
    Scan(db_.structure, "structure", [&](std::string_view k, std::string_view) {
      if (!refs_.count(std::string(k))) Add(BlobName(k) + ": orphan structure");
      return true;
    });
  }

  TxnOps& ops_;
  const Dbis& db_;
  ConsistencyReport* report_;
  std::uint64_t next_user_ = 0, next_mailbox_ = 0, next_guid_ = 0;
  std::map<UserId, UserRecord> users_;
  std::map<MailboxId, MailboxState> mailboxes_;
  std::unordered_map<std::string, std::uint64_t> refs_;  // blob key -> references
};

}  // namespace

void CheckInvariants(TxnOps& ops, ConsistencyReport* report) { Checker(ops, report).Run(); }

}  // namespace pillarbox::storage::lmdb

namespace pillarbox::storage {

void ConsistencyReport::Add(std::string problem) {
  if (problems.size() < kMaxListedProblems) {
    problems.push_back(std::move(problem));
  } else {
    ++problems_not_listed;
  }
}

}  // namespace pillarbox::storage
