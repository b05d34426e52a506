// Import (services/transfer.h): finds the source's mailboxes, then stores
// each message through Store::Append with a bounded number in flight.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <set>

#include "services/mailfmt.h"
#include "services/transfer.h"
#include "storage/uidl.h"

namespace pillarbox::services {
namespace {

namespace fs = std::filesystem;

// Appends submitted and not yet committed: enough for the writer to commit
// them in large groups, few enough to bound memory (each holds its bytes).
constexpr std::size_t kMaxAppendsInFlight = 256;
constexpr std::uint64_t kMaxBytesInFlight = 64u << 20;
// How much of an mbox is read at a time.
constexpr std::size_t kReadChunkBytes = 1u << 20;
// HIGHESTMODSEQ given to a mailbox whose source UIDs are kept, before its
// messages are stored. The source's own value is not in the files (Dovecot
// keeps it in its index files), and a CONDSTORE/QRESYNC client that
// remembers it asks for the changes after it: were Pillarbox's lower, the
// client would miss the next changes until the counter caught up. Far above
// what a Dovecot mailbox reaches (one per change), and below 2^31 for
// clients that keep it in an int: such a client gets every message's flags
// once (unchanged, no bodies) and everything after that.
constexpr storage::ModSeq kKeptUidsModseqFloor = 1'000'000'000;

enum class Kind { kMaildir, kMbox, kEml };

struct SourceMailbox {
  Kind kind = Kind::kMaildir;
  std::string name;  // as named in the source (UTF-8), "INBOX" for the top
  fs::path path;     // Maildir folder, mbox file, or .eml folder
  std::uint64_t bytes = 0;
};

std::optional<std::string> ReadSmallFile(const fs::path& p, std::string* error) {
  std::FILE* f = std::fopen(p.c_str(), "rb");
  if (!f) {
    if (errno == ENOENT) return std::nullopt;
    *error = p.string() + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::string out;
  char buf[65536];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  bool bad = std::ferror(f);
  std::fclose(f);
  if (bad) {
    *error = p.string() + ": read error";
    return std::nullopt;
  }
  return out;
}

storage::UnixTime MTime(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return st.st_mtime;
}

// The 32 bytes of a blob id (a set of them costs half of their hex).
std::string BlobKey(const storage::BlobId& id) {
  return std::string(reinterpret_cast<const char*>(id.bytes), sizeof id.bytes);
}

bool IsMaildir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p / "cur", ec) || fs::is_directory(p / "new", ec);
}

std::string DecodeName(const NameCodec& codec, std::string_view part) {
  if (codec.decode && part.find('&') != std::string_view::npos) {
    if (auto d = codec.decode(part)) return *d;
  }
  return std::string(part);
}

class Importer {
 public:
  Importer(storage::Store& store, const ImportOptions& o, TransferReport* r)
      : store_(store), o_(o), r_(*r) {}

  Outcome Run();

 private:
  Outcome Scan(std::vector<SourceMailbox>* out);
  void ScanMaildirTree(const fs::path& root, std::vector<SourceMailbox>* out);
  Outcome ImportMailbox(const SourceMailbox& src);
  Outcome PrepareTarget(const SourceMailbox& src, storage::MailboxRecord* target);
  void ImportMaildir(const SourceMailbox& src, const storage::MailboxRecord& target,
                     TransferMailboxReport& rep);
  void ImportMbox(const SourceMailbox& src, const storage::MailboxRecord& target,
                  TransferMailboxReport& rep);
  void ImportEml(const SourceMailbox& src, const storage::MailboxRecord& target,
                 TransferMailboxReport& rep);

  // Known messages of the target (when UIDs are not kept): bytes id + date.
  void LoadKnown(const storage::MailboxRecord& target);
  bool Known(const std::string& normalized, storage::UnixTime date) const;

  struct Message {
    std::string label;  // for errors
    std::string bytes;  // as read
    storage::Flags flags;
    storage::UnixTime date = 0;
    std::optional<storage::Uid> uid;
    std::string uidl;
    std::string envelope_from;
    std::uint64_t source_bytes = 0;
  };
  // Checks, skips a known one, submits; waits while too much is in flight.
  void Store(Message m, const storage::MailboxRecord& target, bool dedupe,
             TransferMailboxReport& rep);
  void Drain();
  void Progress(bool force = false);

  storage::Store& store_;
  const ImportOptions& o_;
  TransferReport& r_;
  storage::UserRecord user_;
  std::uint64_t session_ = 0;
  std::size_t in_flight_ = 0;
  std::uint64_t bytes_in_flight_ = 0;
  std::set<std::pair<std::string, storage::UnixTime>> known_;
  std::set<std::string> source_names_;  // every mailbox of the source
  TransferProgress progress_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_progress_{};
};

Outcome Importer::Run() {
  std::error_code ec;
  if (!fs::exists(o_.path, ec)) return {Code::kBadInput, o_.path + ": no such file or directory"};
  {
    std::string err;
    mailfmt::FormatPop3Uidl(o_.pop3_uidl_format, {}, &err);
    if (!err.empty()) return {Code::kBadInput, err};
  }
  auto found = store_.Read()->FindUser(o_.user);
  if (!found.ok() && found.status().code() != pillarbox::Code::kNotFound) {
    return Outcome::FromStore(found.status());
  }
  if (!found.ok()) {
    if (!o_.create_user) return {Code::kNoSuchUser, "no such user: " + o_.user};
    if (!o_.dry_run) {
      // A random password nobody knows: set one with `pillarbox user passwd`.
      std::random_device rd;
      std::string secret;
      for (int i = 0; i < 4; ++i) secret += std::to_string(rd());
      auto hash = storage::HashPassword(secret);
      if (!hash.ok()) return Outcome::FromStore(hash.status());
      std::optional<Result<storage::UserRecord>> created;
      store_.CreateUser(o_.user, *hash,
                        [&](Result<storage::UserRecord> u) { created.emplace(std::move(u)); });
      o_.wait([&] { return created.has_value(); });
      if (!created->ok()) {
        return {Code::kBadInput,
                "cannot create user " + o_.user + ": " + created->status().message()};
      }
      user_ = **created;
      r_.user_created = true;
    } else {
      user_.name = o_.user;
      r_.user_created = true;
    }
  } else {
    user_ = *found;
  }
  session_ = store_.SessionIdBase() + 1;

  std::vector<SourceMailbox> sources;
  if (Outcome o = Scan(&sources); !o.ok()) return o;
  for (const auto& s : sources) {
    progress_.total_bytes += s.bytes;
    source_names_.insert(s.name);
  }
  for (const auto& s : sources) {
    if (Outcome o = ImportMailbox(s); !o.ok()) {
      Drain();
      return o;
    }
  }
  Drain();
  Progress(true);
  return Outcome::Ok();
}

void Importer::ScanMaildirTree(const fs::path& root, std::vector<SourceMailbox>* out) {
  auto add = [&](std::string name, const fs::path& p) {
    SourceMailbox s;
    s.kind = Kind::kMaildir;
    s.name = std::move(name);
    s.path = p;
    std::error_code ec;
    for (const char* sub : {"cur", "new"}) {
      for (fs::directory_iterator it(p / sub, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code e2;
        if (it->is_regular_file(e2)) s.bytes += it->file_size(e2);
      }
    }
    out->push_back(std::move(s));
  };
  add("INBOX", root);
  // Maildir++ folders (".Work.Projects") and layout=fs folders ("Work/Projects").
  std::vector<std::pair<fs::path, std::string>> stack{{root, ""}};
  while (!stack.empty()) {
    auto [dir, prefix] = stack.back();
    stack.pop_back();
    std::error_code ec;
    std::vector<fs::path> entries;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code e2;
      if (it->is_directory(e2)) entries.push_back(it->path());
    }
    std::sort(entries.begin(), entries.end());
    for (const auto& e : entries) {
      std::string file = e.filename().string();
      if (file == "cur" || file == "new" || file == "tmp") continue;
      if (file.size() > 1 && file[0] == '.' && prefix.empty() && dir == root) {
        if (!IsMaildir(e)) continue;
        std::string name;
        std::string_view rest = std::string_view(file).substr(1);
        while (!rest.empty()) {
          std::size_t dot = rest.find('.');
          if (!name.empty()) name += '/';
          name += DecodeName(o_.names, rest.substr(0, dot));
          rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
        }
        add(name, e);
      } else if (file[0] != '.') {
        std::string name = (prefix.empty() ? "" : prefix + "/") + DecodeName(o_.names, file);
        if (IsMaildir(e)) add(name, e);
        stack.emplace_back(e, name);
      }
    }
  }
}

Outcome Importer::Scan(std::vector<SourceMailbox>* out) {
  fs::path root(o_.path);
  std::error_code ec;
  const std::string single = o_.mailbox.empty() ? "INBOX" : o_.mailbox;
  if (fs::is_regular_file(root, ec)) {
    SourceMailbox s;
    s.kind = root.extension() == ".eml" ? Kind::kEml : Kind::kMbox;
    s.name = single;
    s.path = root;
    s.bytes = fs::file_size(root, ec);
    out->push_back(std::move(s));
    return Outcome::Ok();
  }
  if (!fs::is_directory(root, ec)) return {Code::kBadInput, o_.path + ": not a file or directory"};
  if (::access(root.c_str(), R_OK | X_OK) != 0) {
    return {Code::kBadInput, o_.path + ": " + std::strerror(errno)};
  }
  if (IsMaildir(root)) {
    ScanMaildirTree(root, out);
  } else {
    // .eml files (a folder each) or mbox files (one mailbox each).
    std::map<std::string, SourceMailbox> eml;
    std::vector<SourceMailbox> mbox;
    for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code e2;
      std::string file = it->path().filename().string();
      if (file.starts_with(".")) {
        if (it->is_directory(e2)) it.disable_recursion_pending();
        continue;
      }
      if (!it->is_regular_file(e2)) continue;
      fs::path rel = fs::relative(it->path(), root, e2);
      if (it->path().extension() == ".eml") {
        fs::path dir = rel.parent_path();
        std::string name = dir.empty() ? single : dir.generic_string();
        auto& s = eml[name];
        s.kind = Kind::kEml;
        s.name = name;
        s.path = it->path().parent_path();
        s.bytes += it->file_size(e2);
        continue;
      }
      // Index files of mail programs are not mailboxes.
      if (file.starts_with("dovecot") || it->path().extension() == ".msf" ||
          it->path().extension() == ".index") {
        continue;
      }
      std::string name = rel.generic_string();
      if (name.ends_with(".mbox")) name.resize(name.size() - 5);
      if (mailfmt::SpecialUseByName(name) == storage::SpecialUse::kNone &&
          (name == "inbox" || name == "Inbox" || name == "INBOX")) {
        name = "INBOX";
      }
      SourceMailbox s;
      s.kind = Kind::kMbox;
      s.name = name;
      s.path = it->path();
      s.bytes = it->file_size(e2);
      mbox.push_back(std::move(s));
    }
    if (ec) return {Code::kBadInput, o_.path + ": " + ec.message()};
    for (auto& [name, s] : eml) out->push_back(std::move(s));
    std::sort(mbox.begin(), mbox.end(),
              [](const SourceMailbox& a, const SourceMailbox& b) { return a.name < b.name; });
    for (auto& s : mbox) out->push_back(std::move(s));
    if (out->empty()) {
      return {Code::kBadInput, o_.path + ": no Maildir, mbox or .eml files found"};
    }
  }
  // --mailbox on a tree: that source mailbox only.
  if (!o_.mailbox.empty() && out->size() > 1) {
    std::erase_if(*out, [&](const SourceMailbox& s) { return s.name != o_.mailbox; });
    if (out->empty()) return {Code::kBadInput, "no mailbox " + o_.mailbox + " in " + o_.path};
  }
  return Outcome::Ok();
}

// The store's mailbox for a source one: the same name, or, for a name that
// suggests a special use ("Sent Items") the store's mailbox of that use when
// the name itself is not there (the default "Sent") and the source has no
// mailbox of that name: two source mailboxes are never merged into one.
Outcome Importer::PrepareTarget(const SourceMailbox& src, storage::MailboxRecord* target) {
  std::string name = src.name;
  storage::SpecialUse use = mailfmt::SpecialUseByName(name);
  auto view = store_.Read();
  std::vector<storage::MailboxRecord> boxes =
      user_.id ? view->ListMailboxes(user_.id) : std::vector<storage::MailboxRecord>{};
  bool use_taken = false;
  for (const auto& b : boxes) {
    if (use != storage::SpecialUse::kNone && b.special_use == use) use_taken = true;
  }
  auto found = user_.id ? view->FindMailbox(user_.id, name)
                        : Result<storage::MailboxRecord>(Status::NotFound("dry run"));
  if (!found.ok() && use != storage::SpecialUse::kNone && name.find('/') == std::string::npos) {
    for (const auto& b : boxes) {
      if (b.special_use == use && !source_names_.contains(b.name)) {
        name = b.name;
        found = b;
      }
    }
  }
  view.reset();
  if (found.ok()) {
    *target = *found;
    return Outcome::Ok();
  }
  target->name = name;
  if (o_.dry_run) return Outcome::Ok();
  std::optional<Result<storage::MailboxRecord>> made;
  store_.CreateMailbox(user_.id, name, use_taken ? storage::SpecialUse::kNone : use,
                       [&](Result<storage::MailboxRecord> r) { made.emplace(std::move(r)); });
  o_.wait([&] { return made.has_value(); });
  if (!made->ok()) {
    return {Code::kBadInput, "cannot create mailbox " + name + ": " + made->status().message()};
  }
  *target = **made;
  return Outcome::Ok();
}

Outcome Importer::ImportMailbox(const SourceMailbox& src) {
  storage::MailboxRecord target;
  if (Outcome o = PrepareTarget(src, &target); !o.ok()) {
    r_.failed.push_back(src.path.string() + ": " + o.message());
    return Outcome::Ok();
  }
  TransferMailboxReport rep;
  rep.source = src.path.string();
  rep.name = target.name;
  known_.clear();
  switch (src.kind) {
    case Kind::kMaildir:
      ImportMaildir(src, target, rep);
      break;
    case Kind::kMbox:
      ImportMbox(src, target, rep);
      break;
    case Kind::kEml:
      ImportEml(src, target, rep);
      break;
  }
  Drain();
  r_.mailboxes.push_back(std::move(rep));
  return Outcome::Ok();
}

void Importer::LoadKnown(const storage::MailboxRecord& target) {
  known_.clear();
  if (target.id == 0) return;
  auto view = store_.Read();
  for (const auto& m : view->ListMessages(target.id))
    known_.emplace(BlobKey(m.blob), m.internal_date);
}

bool Importer::Known(const std::string& normalized, storage::UnixTime date) const {
  if (known_.empty()) return false;
  return known_.contains({BlobKey(storage::BlobIdOf(normalized)), date});
}

void Importer::Progress(bool force) {
  if (!o_.progress) return;
  auto now = std::chrono::steady_clock::now();
  if (!force && now - last_progress_ < std::chrono::milliseconds(500)) return;
  last_progress_ = now;
  progress_.seconds = std::chrono::duration<double>(now - start_).count();
  o_.progress(progress_);
}

void Importer::Drain() {
  if (in_flight_ > 0) o_.wait([&] { return in_flight_ == 0; });
}

void Importer::Store(Message m, const storage::MailboxRecord& target, bool dedupe,
                     TransferMailboxReport& rep) {
  progress_.bytes += m.source_bytes;
  Progress();
  if (m.bytes.find_first_not_of("\r\n") == std::string::npos) {
    r_.failed.push_back(m.label + ": empty message");
    return;
  }
  std::string normalized = storage::NormalizeLineEndings(m.bytes);
  m.bytes.clear();
  if (normalized.size() > o_.max_message_size) {
    r_.failed.push_back(m.label + ": larger than limits.max_message_size (" +
                        std::to_string(o_.max_message_size) + " bytes)");
    return;
  }
  if (dedupe && Known(normalized, m.date)) {
    ++rep.skipped;
    ++r_.skipped;
    return;
  }
  if (!m.uidl.empty() && !storage::IsValidUidl(m.uidl)) {
    r_.warnings.push_back(m.label + ": POP3 UIDL \"" + m.uidl + "\" is not valid; not kept");
    m.uidl.clear();
  }
  ++progress_.messages;
  if (o_.dry_run) {
    ++rep.messages;
    ++r_.messages;
    r_.bytes += normalized.size();
    return;
  }
  storage::AppendRequest req;
  req.user = user_.id;
  req.mailbox = target.name;
  req.bytes = std::make_shared<const std::string>(std::move(normalized));
  const std::uint64_t size = req.bytes->size();
  req.flags = std::move(m.flags);
  req.internal_date = m.date;
  req.uid = m.uid;
  req.pop3_uidl = std::move(m.uidl);
  req.origin.protocol = "import";
  req.origin.session = session_;
  req.envelope_from = std::move(m.envelope_from);
  req.enforce_quota = false;
  ++in_flight_;
  bytes_in_flight_ += size;
  store_.Append(std::move(req),
                [this, &rep, size, label = std::move(m.label)](Result<storage::AppendResult> r) {
                  --in_flight_;
                  bytes_in_flight_ -= size;
                  if (r.ok()) {
                    ++rep.messages;
                    ++r_.messages;
                    r_.bytes += size;
                  } else {
                    r_.failed.push_back(label + ": " + r.status().message());
                  }
                });
  if (in_flight_ >= kMaxAppendsInFlight || bytes_in_flight_ >= kMaxBytesInFlight) {
    o_.wait([&] {
      return in_flight_ < kMaxAppendsInFlight / 2 && bytes_in_flight_ < kMaxBytesInFlight / 2;
    });
  }
}

// Sets the target's UIDVALIDITY for keeping the source's UIDs; false (and a
// note) when it cannot.
bool KeepUids(storage::Store& store, const ImportOptions& o, storage::UserId user,
              const storage::MailboxRecord& target, std::uint32_t uidvalidity,
              TransferMailboxReport& rep) {
  if (uidvalidity == 0) return false;
  if (target.messages != 0 && target.uidvalidity != uidvalidity) {
    rep.note = "UIDs not kept: the mailbox already holds other messages";
    return false;
  }
  if (o.dry_run) return true;
  // Also on a rerun (the same UIDVALIDITY): then only HIGHESTMODSEQ may grow.
  std::optional<Status> st;
  store.SetMailboxUidState(user, target.name, uidvalidity, 1, kKeptUidsModseqFloor,
                           [&](Status s) { st.emplace(std::move(s)); });
  o.wait([&] { return st.has_value(); });
  if (!st->ok()) {
    rep.note = "UIDs not kept: " + st->message();
    return false;
  }
  return true;
}

void RaiseUidNext(storage::Store& store, const ImportOptions& o, storage::UserId user,
                  const std::string& name, std::uint32_t uidvalidity, storage::Uid uidnext) {
  if (o.dry_run || uidnext == 0) return;
  std::optional<Status> st;
  store.SetMailboxUidState(user, name, uidvalidity, uidnext, /*min_highest_modseq=*/0,
                           [&](Status s) { st.emplace(std::move(s)); });
  o.wait([&] { return st.has_value(); });
}

void Importer::ImportMaildir(const SourceMailbox& src, const storage::MailboxRecord& target,
                             TransferMailboxReport& rep) {
  std::string err;
  std::optional<mailfmt::Uidlist> uidlist;
  if (auto text = ReadSmallFile(src.path / "dovecot-uidlist", &err)) {
    uidlist = mailfmt::ParseDovecotUidlist(*text);
    if (!uidlist) r_.warnings.push_back((src.path / "dovecot-uidlist").string() + ": not read");
    if (uidlist) {
      for (const auto& bad : uidlist->bad_lines) {
        r_.warnings.push_back((src.path / "dovecot-uidlist").string() + ": bad line: " + bad);
      }
    }
  }
  std::map<int, std::string> keywords;
  if (auto text = ReadSmallFile(src.path / "dovecot-keywords", &err)) {
    keywords = mailfmt::ParseDovecotKeywords(*text);
  }
  if (!err.empty()) r_.warnings.push_back(err);

  struct File {
    fs::path path;
    mailfmt::MaildirName name;
    storage::UnixTime mtime = 0;
  };
  std::map<std::string, File> files;  // by base name
  for (const char* sub : {"cur", "new"}) {
    std::error_code ec;
    for (fs::directory_iterator it(src.path / sub, ec), end; !ec && it != end; it.increment(ec)) {
      std::string file = it->path().filename().string();
      std::error_code e2;
      if (file.starts_with(".") || !it->is_regular_file(e2)) continue;
      File f{it->path(), mailfmt::ParseMaildirName(file), MTime(it->path())};
      files[f.name.base] = std::move(f);
    }
  }

  const std::uint32_t uidvalidity = uidlist ? uidlist->uidvalidity : 0;
  const bool keep = uidlist && KeepUids(store_, o_, user_.id, target, uidvalidity, rep);
  rep.uids_kept = keep;
  // Rerun: UIDs below this were stored by an earlier run (or expunged since).
  const storage::Uid done_below = keep && target.uidvalidity == uidvalidity ? target.uidnext : 1;
  if (!keep) LoadKnown(target);

  struct Item {
    File* file;
    storage::Uid source_uid = 0;
    const mailfmt::UidlistRecord* rec = nullptr;
  };
  std::vector<Item> order;
  std::set<std::string> listed;
  storage::Uid next_uid = 1;
  if (uidlist) {
    for (const auto& rec : uidlist->records) {
      auto it = files.find(rec.file_base);
      next_uid = std::max(next_uid, rec.uid + 1);
      if (it == files.end()) continue;  // expunged since the list was written
      listed.insert(rec.file_base);
      order.push_back({&it->second, rec.uid, &rec});
    }
    next_uid = std::max(next_uid, uidlist->uidnext);
  }
  // Files the list does not know yet: in delivery order, with the UIDs
  // Dovecot would give them next.
  std::vector<File*> rest;
  for (auto& [base, f] : files) {
    if (!listed.contains(base)) rest.push_back(&f);
  }
  std::sort(rest.begin(), rest.end(), [](const File* a, const File* b) {
    return a->mtime != b->mtime ? a->mtime < b->mtime : a->name.base < b->name.base;
  });
  for (File* f : rest) order.push_back({f, uidlist ? next_uid++ : 0, nullptr});

  for (const Item& item : order) {
    if (keep && item.source_uid < done_below) {
      ++rep.skipped;
      ++r_.skipped;
      progress_.bytes += item.file->name.size.value_or(0);
      continue;
    }
    Message m;
    m.label = item.file->path.string();
    std::string read_error;
    auto bytes = ReadSmallFile(item.file->path, &read_error);
    if (!bytes) {
      r_.failed.push_back(read_error.empty() ? m.label + ": vanished" : read_error);
      continue;
    }
    m.source_bytes = bytes->size();
    m.bytes = std::move(*bytes);
    m.flags.system = item.file->name.system;
    if (item.file->name.passed) m.flags.keywords.push_back("$Forwarded");
    for (char c : item.file->name.keyword_letters) {
      auto k = keywords.find(c - 'a');
      if (k != keywords.end()) m.flags.keywords.push_back(k->second);
    }
    m.date = item.file->mtime;
    if (keep) m.uid = item.source_uid;
    if (uidlist) {
      if (item.rec && item.rec->fields.contains('P')) {
        m.uidl = item.rec->fields.at('P');
      } else {
        mailfmt::UidlVars vars;
        vars.uid = item.source_uid;
        vars.uidvalidity = uidvalidity;
        vars.file_base = item.file->name.base;
        if (item.rec && item.rec->fields.contains('G')) vars.guid = item.rec->fields.at('G');
        std::string e;
        m.uidl = mailfmt::FormatPop3Uidl(o_.pop3_uidl_format, vars, &e);
      }
    }
    Store(std::move(m), target, !keep, rep);
  }
  if (keep) {
    Drain();
    RaiseUidNext(store_, o_, user_.id, target.name, uidvalidity, next_uid);
  }
}

void Importer::ImportMbox(const SourceMailbox& src, const storage::MailboxRecord& target,
                          TransferMailboxReport& rep) {
  std::FILE* f = std::fopen(src.path.c_str(), "rb");
  if (!f) {
    r_.failed.push_back(src.path.string() + ": " + std::strerror(errno));
    return;
  }
  std::vector<mailfmt::MboxMessage> ready;
  mailfmt::MboxParser parser(o_.max_message_size + o_.max_message_size / 2 + 1024,
                             [&](mailfmt::MboxMessage&& m) { ready.push_back(std::move(m)); });
  const storage::UnixTime mbox_time = MTime(src.path);
  bool first = true;
  bool keep = false;
  std::uint32_t uidvalidity = 0;
  storage::Uid done_below = 1;
  storage::Uid next_uid = 1;
  storage::Uid base_uidnext = 0;
  auto handle = [&](mailfmt::MboxMessage& mm) {
    std::string label = src.path.string() + ":" + std::to_string(mm.offset);
    if (mm.too_big) {
      progress_.bytes += mm.raw_size;
      r_.failed.push_back(label + ": larger than limits.max_message_size (" +
                          std::to_string(o_.max_message_size) + " bytes)");
      return;
    }
    mailfmt::MboxMeta meta = mailfmt::TakeMboxMeta(&mm.bytes);
    if (first) {
      first = false;
      // X-IMAPbase (Dovecot, UW-IMAP): the UIDs of X-UID headers hold.
      if (meta.base_uidvalidity != 0) {
        uidvalidity = meta.base_uidvalidity;
        base_uidnext = meta.base_uidnext;
        keep = KeepUids(store_, o_, user_.id, target, uidvalidity, rep);
        if (keep && target.uidvalidity == uidvalidity) done_below = target.uidnext;
      }
      rep.uids_kept = keep;
      // Also with UIDs kept: a message without X-UID has no UID to find it by.
      LoadKnown(target);
    }
    Message m;
    m.label = std::move(label);
    m.source_bytes = mm.raw_size;
    m.bytes = std::move(mm.bytes);
    m.flags = std::move(meta.flags);
    m.date = mm.date.value_or(0);
    m.envelope_from = std::move(mm.envelope_from);
    m.uidl = std::move(meta.uidl);
    if (keep && meta.uid && *meta.uid >= next_uid) {
      if (*meta.uid < done_below) {
        next_uid = *meta.uid + 1;
        progress_.bytes += mm.raw_size;
        ++rep.skipped;
        ++r_.skipped;
        return;
      }
      m.uid = *meta.uid;
      next_uid = *meta.uid + 1;
    } else if (keep) {
      // No usable X-UID: the next UID, as an IMAP server would give it.
      m.uid = std::max(next_uid, done_below);
      next_uid = *m.uid + 1;
    }
    // No date on the From line: the file's time, the same on a rerun.
    if (!mm.date) m.date = mbox_time;
    Store(std::move(m), target, true, rep);
  };
  std::string buf(kReadChunkBytes, '\0');
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) {
    parser.Feed(std::string_view(buf.data(), n));
    for (auto& mm : ready) handle(mm);
    ready.clear();
  }
  bool bad = std::ferror(f);
  std::fclose(f);
  parser.Finish();
  for (auto& mm : ready) handle(mm);
  ready.clear();
  if (bad) r_.failed.push_back(src.path.string() + ": read error; the rest was not imported");
  if (parser.garbage() > 0) {
    r_.warnings.push_back(src.path.string() + ": " + std::to_string(parser.garbage()) +
                          " bytes before the first \"From \" line were skipped" +
                          (first ? " (not an mbox?)" : ""));
  }
  if (keep) {
    Drain();
    RaiseUidNext(store_, o_, user_.id, target.name, uidvalidity, std::max(next_uid, base_uidnext));
  }
}

void Importer::ImportEml(const SourceMailbox& src, const storage::MailboxRecord& target,
                         TransferMailboxReport& rep) {
  std::vector<fs::path> files;
  std::error_code ec;
  if (fs::is_regular_file(src.path, ec)) {
    files.push_back(src.path);
  } else {
    for (fs::directory_iterator it(src.path, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code e2;
      if (it->path().extension() == ".eml" && it->is_regular_file(e2)) files.push_back(it->path());
    }
  }
  std::sort(files.begin(), files.end());
  LoadKnown(target);
  for (const auto& p : files) {
    Message m;
    m.label = p.string();
    std::string err;
    auto bytes = ReadSmallFile(p, &err);
    if (!bytes) {
      r_.failed.push_back(err.empty() ? m.label + ": vanished" : err);
      continue;
    }
    m.source_bytes = bytes->size();
    m.bytes = std::move(*bytes);
    m.date = MTime(p);
    Store(std::move(m), target, true, rep);
  }
}

}  // namespace

Outcome Import(storage::Store& store, const ImportOptions& options, TransferReport* report) {
  Importer importer(store, options, report);
  return importer.Run();
}

}  // namespace pillarbox::services
