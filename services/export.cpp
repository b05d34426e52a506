// Export (services/transfer.h): writes each mailbox as a Maildir folder
// (with dovecot-uidlist and dovecot-keywords), an mbox file, or a folder of
// .eml files. Reads one message at a time through short read views.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>

#include "services/mailfmt.h"
#include "services/transfer.h"
#include "storage/uidl.h"

namespace pillarbox::services {
namespace {

namespace fs = std::filesystem;

// A name component that is no file name as it is ("", ".", "..") gets a
// prefix; others are kept.
std::string SafeComponent(std::string c) {
  if (c.empty() || c == "." || c == "..") return "_" + c;
  return c;
}

std::vector<std::string> Components(const std::string& name) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    std::size_t slash = name.find('/', start);
    out.push_back(name.substr(start, slash == std::string::npos ? slash : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return out;
}

// Writes `bytes` to `path` through a temporary file (no half-written file
// under the final name) and sets its modification time.
Status WriteFile(const fs::path& path, const fs::path& tmp, std::string_view bytes,
                 storage::UnixTime mtime) {
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return Status::IOError(tmp.string() + ": " + std::strerror(errno));
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  ok = std::fclose(f) == 0 && ok;
  if (!ok) return Status::IOError(tmp.string() + ": write failed");
  struct timespec times[2] = {{mtime, 0}, {mtime, 0}};
  ::utimensat(AT_FDCWD, tmp.c_str(), times, 0);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::IOError(path.string() + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

class Exporter {
 public:
  Exporter(storage::Store& store, const ExportOptions& o, TransferReport* r)
      : store_(store), o_(o), r_(*r) {}
  Outcome Run();

 private:
  Status ExportMailbox(const storage::MailboxRecord& mb, TransferMailboxReport& rep);
  fs::path MaildirFolder(const std::string& name);
  void Progress(bool force = false);

  storage::Store& store_;
  const ExportOptions& o_;
  TransferReport& r_;
  TransferProgress progress_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_{};
};

void Exporter::Progress(bool force) {
  if (!o_.progress) return;
  auto now = std::chrono::steady_clock::now();
  if (!force && now - last_ < std::chrono::milliseconds(500)) return;
  last_ = now;
  progress_.seconds = std::chrono::duration<double>(now - start_).count();
  o_.progress(progress_);
}

fs::path Exporter::MaildirFolder(const std::string& name) {
  if (name == "INBOX") return fs::path(o_.dir);
  // Maildir++: ".A.B" with each level in modified UTF-7; a '.' inside a
  // level is written as its UTF-7 form so that it is no separator.
  std::string folder;
  for (const auto& c : Components(name)) {
    std::string enc = c;
    if (o_.names.encode) {
      if (auto e = o_.names.encode(c)) enc = *e;
    }
    std::string out;
    for (char ch : enc) {
      if (ch == '.') {
        out += "&AC4-";
      } else {
        out += ch;
      }
    }
    folder += "." + out;
  }
  return fs::path(o_.dir) / folder;
}

Status Exporter::ExportMailbox(const storage::MailboxRecord& mb, TransferMailboxReport& rep) {
  std::vector<storage::MessageRecord> messages = store_.Read()->ListMessages(mb.id);
  std::error_code ec;
  fs::path folder;
  std::FILE* mbox = nullptr;
  std::map<std::string, int> letters;  // keyword -> index (Maildir)
  std::string uidlist;
  if (o_.format == ExportFormat::kMaildir) {
    folder = MaildirFolder(mb.name);
    for (const char* sub : {"cur", "new", "tmp"}) fs::create_directories(folder / sub, ec);
    if (ec) return Status::IOError(folder.string() + ": " + ec.message());
    char guid[40];
    std::snprintf(guid, sizeof guid, "%016llx%016llx", static_cast<unsigned long long>(mb.id),
                  static_cast<unsigned long long>(mb.uidvalidity));
    uidlist = "3 V" + std::to_string(mb.uidvalidity) + " N" + std::to_string(mb.uidnext) + " G" +
              guid + "\n";
    for (const auto& m : messages) {
      for (const auto& k : m.flags.keywords) {
        if (letters.contains(k)) continue;
        if (letters.size() >= 26) {
          r_.warnings.push_back(mb.name + ": keyword " + k +
                                " not written (a Maildir holds 26 keywords per folder)");
          letters[k] = -1;
          continue;
        }
        int next = 0;
        for (const auto& [name, i] : letters) next = std::max(next, i + 1);
        letters[k] = next;
      }
    }
  } else if (o_.format == ExportFormat::kMbox) {
    fs::path p = fs::path(o_.dir);
    auto parts = Components(mb.name);
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) p /= SafeComponent(parts[i]);
    fs::create_directories(p, ec);
    p /= SafeComponent(parts.back()) + ".mbox";
    mbox = std::fopen(p.c_str(), "wb");
    if (!mbox) return Status::IOError(p.string() + ": " + std::strerror(errno));
    rep.source = p.string();
  } else {
    folder = fs::path(o_.dir);
    for (const auto& c : Components(mb.name)) folder /= SafeComponent(c);
    fs::create_directories(folder, ec);
    if (ec) return Status::IOError(folder.string() + ": " + ec.message());
  }
  if (o_.format != ExportFormat::kMbox) rep.source = folder.string();

  Status result;
  bool first = true;
  for (const auto& m : messages) {
    std::string bytes;
    {
      auto view = store_.Read();
      auto blob = view->Blob(m.blob);
      if (!blob.ok()) {
        r_.failed.push_back(mb.name + " uid " + std::to_string(m.uid) + ": " +
                            blob.status().message());
        continue;
      }
      bytes = mailfmt::ToLf(*blob);
    }
    progress_.bytes += m.size;
    if (o_.format == ExportFormat::kMaildir) {
      std::string letter_set;
      for (const auto& k : m.flags.keywords) {
        int i = letters[k];
        if (i >= 0) letter_set += static_cast<char>('a' + i);
      }
      std::string base = std::to_string(m.internal_date) + ".P" + std::to_string(m.uid) + "G" +
                         std::to_string(m.guid) + ".pillarbox,S=" + std::to_string(bytes.size()) +
                         ",W=" + std::to_string(m.size);
      std::string file = base + ":" + mailfmt::FormatMaildirInfo(m.flags.system, false, letter_set);
      result = WriteFile(folder / "cur" / file, folder / "tmp" / base, bytes, m.internal_date);
      if (!result.ok()) break;
      uidlist += std::to_string(m.uid) + " P" + storage::MessageUidl(m) + " :" + base + "\n";
    } else if (o_.format == ExportFormat::kMbox) {
      mailfmt::MboxMeta meta;
      meta.flags = m.flags;
      meta.uid = m.uid;
      meta.uidl = storage::MessageUidl(m);
      if (first) {
        meta.base_uidvalidity = mb.uidvalidity;
        meta.base_uidnext = mb.uidnext;
      }
      std::string head = mailfmt::FormatMboxMeta(meta);
      // The status lines go at the end of the header.
      std::size_t end = bytes.starts_with("\n") ? 0 : bytes.find("\n\n");
      std::string entry;
      if (end == std::string::npos) {
        entry = bytes;
        if (!entry.empty() && entry.back() != '\n') entry += '\n';
        entry += head;
      } else {
        std::size_t at = end == 0 ? 0 : end + 1;
        entry = bytes.substr(0, at) + head + bytes.substr(at);
      }
      std::string out = mailfmt::FormatFromLine("MAILER-DAEMON", m.internal_date) + "\n" +
                        mailfmt::EscapeMboxrd(entry) + "\n";
      if (std::fwrite(out.data(), 1, out.size(), mbox) != out.size()) {
        result = Status::IOError(rep.source + ": write failed");
        break;
      }
    } else {
      char name[32];
      std::snprintf(name, sizeof name, "%010u.eml", m.uid);
      result = WriteFile(folder / name, folder / (std::string(".") + name + ".tmp"), bytes,
                         m.internal_date);
      if (!result.ok()) break;
    }
    first = false;
    ++rep.messages;
    ++r_.messages;
    r_.bytes += m.size;
    ++progress_.messages;
    Progress();
  }
  if (mbox && std::fclose(mbox) != 0 && result.ok()) {
    result = Status::IOError(rep.source + ": write failed");
  }
  if (result.ok() && o_.format == ExportFormat::kMaildir) {
    std::string kw;
    for (const auto& [k, i] : letters) {
      if (i >= 0) kw += std::to_string(i) + " " + k + "\n";
    }
    if (!kw.empty()) {
      result = WriteFile(folder / "dovecot-keywords", folder / "tmp" / ".dovecot-keywords", kw,
                         std::time(nullptr));
    }
    if (result.ok()) {
      result = WriteFile(folder / "dovecot-uidlist", folder / "tmp" / ".dovecot-uidlist", uidlist,
                         std::time(nullptr));
    }
    if (result.ok() && mb.name != "INBOX") {
      // Maildir++ marks a folder with an empty maildirfolder file.
      result = WriteFile(folder / "maildirfolder", folder / "tmp" / ".maildirfolder", "",
                         std::time(nullptr));
    }
  }
  return result;
}

Outcome Exporter::Run() {
  auto view = store_.Read();
  auto user = view->FindUser(o_.user);
  if (!user.ok()) {
    if (user.status().code() == pillarbox::Code::kNotFound) {
      return {Code::kNoSuchUser, "no such user: " + o_.user};
    }
    return Outcome::FromStore(user.status());
  }
  std::vector<storage::MailboxRecord> boxes = view->ListMailboxes(user->id);
  view.reset();
  if (!o_.mailbox.empty()) {
    std::erase_if(boxes, [&](const storage::MailboxRecord& b) { return b.name != o_.mailbox; });
    if (boxes.empty()) return {Code::kBadMailbox, "no mailbox " + o_.mailbox};
  }
  std::error_code ec;
  fs::create_directories(o_.dir, ec);
  if (ec || ::access(o_.dir.c_str(), W_OK) != 0) {
    return {Code::kBadInput, o_.dir + ": cannot write there" + (ec ? ": " + ec.message() : "")};
  }
  for (const auto& b : boxes) progress_.total_bytes += b.size;
  for (const auto& b : boxes) {
    TransferMailboxReport rep;
    rep.name = b.name;
    rep.uids_kept = o_.format != ExportFormat::kEml;
    Status s = ExportMailbox(b, rep);
    r_.mailboxes.push_back(rep);
    if (!s.ok()) return {Code::kBadInput, s.message()};
  }
  Progress(true);
  return Outcome::Ok();
}

}  // namespace

std::optional<ExportFormat> ParseExportFormat(std::string_view name) {
  if (name == "maildir") return ExportFormat::kMaildir;
  if (name == "mbox") return ExportFormat::kMbox;
  if (name == "eml") return ExportFormat::kEml;
  return std::nullopt;
}

Outcome Export(storage::Store& store, const ExportOptions& options, TransferReport* report) {
  Exporter e(store, options, report);
  return e.Run();
}

}  // namespace pillarbox::services
