// `pillarbox import` and `pillarbox export`: mail in and out of the store in
// the formats other programs keep it in (services/mailfmt.h reads and writes
// them). Import keeps folders, flags, keywords, INTERNALDATE and, from a
// Dovecot Maildir, UIDs, UIDVALIDITY/UIDNEXT and POP3 UIDLs; export writes
// the same back (a Maildir with dovecot-uidlist and dovecot-keywords, an
// mbox per mailbox, or .eml files).
//
// Both go through the store like every other writer, so they work while the
// server runs and its sessions see the new mail. Import streams: one mbox
// message (at most limits.max_message_size) and a bounded number of pending
// appends are in memory at a time. It is idempotent: a rerun skips what an
// interrupted run already stored (by UID where UIDs are kept, else by the
// message's bytes and date).
//
// Threads: the store's owner thread (the CLI's main thread); `wait` runs the
// store's completions while it blocks.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "services/outcome.h"
#include "storage/store.h"

namespace pillarbox::services {

// How mailbox names on disk (modified UTF-7, RFC 3501 5.1.3) are read and
// written; given by the caller (the IMAP layer owns the codec).
struct NameCodec {
  std::function<std::optional<std::string>(std::string_view mutf7)> decode;
  std::function<std::optional<std::string>(std::string_view utf8)> encode;
};

struct TransferProgress {
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;        // of the source read so far
  std::uint64_t total_bytes = 0;  // of the whole source (0: unknown)
  double seconds = 0;             // since the start
};

struct ImportOptions {
  std::string user;
  std::string path;
  // One source mailbox (an mbox file, a folder of .eml files): the target
  // (default INBOX). A tree (a Maildir, a folder of mbox files): import only
  // the source mailbox of this name.
  std::string mailbox;
  bool dry_run = false;
  bool create_user = false;
  std::string pop3_uidl_format = "%08Xu%08Xv";  // Dovecot's default
  std::uint64_t max_message_size = 50u << 20;
  NameCodec names;
  // Blocks, running the store's completions, until `done()` holds.
  std::function<void(const std::function<bool()>& done)> wait;
  std::function<void(const TransferProgress&)> progress;  // every ~0.5 s; may be empty
};

struct TransferMailboxReport {
  std::string source;          // where it came from (a path), or the mailbox name (export)
  std::string name;            // the store's mailbox
  std::uint64_t messages = 0;  // imported (or exported)
  std::uint64_t skipped = 0;   // already there (an earlier run)
  bool uids_kept = false;
  std::string note;  // e.g. why UIDs were not kept
};
struct TransferReport {
  std::vector<TransferMailboxReport> mailboxes;
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
  std::uint64_t skipped = 0;
  // Messages that could not be imported, "path or mbox:offset: reason".
  std::vector<std::string> failed;
  std::vector<std::string> warnings;
  bool user_created = false;
};

// Codes: kNoSuchUser (and no create_user), kBadInput (the path cannot be
// read or is no known format; a bad --pop3-uidl-format), kTemporary (the
// store). Messages that fail alone are listed in report->failed and do not
// fail the whole.
Outcome Import(storage::Store& store, const ImportOptions& options, TransferReport* report);

enum class ExportFormat { kMaildir, kMbox, kEml };
std::optional<ExportFormat> ParseExportFormat(std::string_view name);

struct ExportOptions {
  std::string user;
  std::string dir;  // created when missing
  ExportFormat format = ExportFormat::kMaildir;
  std::string mailbox;  // only this one; empty: every mailbox
  NameCodec names;
  std::function<void(const TransferProgress&)> progress;
};
// Codes: kNoSuchUser, kBadMailbox (no such mailbox), kBadInput (the
// directory cannot be written).
Outcome Export(storage::Store& store, const ExportOptions& options, TransferReport* report);

}  // namespace pillarbox::services
