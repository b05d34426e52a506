// `pillarbox import NAME PATH` and `pillarbox export NAME DIR`: the command
// line of services/transfer.h. The store is opened like every other command
// (the server may be running; its sessions see the new mail). A progress
// line goes to stderr when it is a terminal.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "protocols/imap/mutf7.h"
#include "server/cli_internal.h"
#include "services/transfer.h"

namespace pillarbox::server::cli {
namespace {

services::NameCodec ImapNames() {
  services::NameCodec c;
  c.decode = [](std::string_view s) { return imap::Mutf7ToUtf8(s); };
  c.encode = [](std::string_view s) { return imap::Utf8ToMutf7(s); };
  return c;
}

// "12034 messages, 850.2 MiB, 2100 msg/s 41.0 MiB/s, ETA 0:12".
std::function<void(const services::TransferProgress&)> ProgressLine(bool* printed) {
  if (!::isatty(STDERR_FILENO)) return {};
  return [printed](const services::TransferProgress& p) {
    double secs = p.seconds > 0.001 ? p.seconds : 0.001;
    std::string line = std::to_string(p.messages) + " messages, " + FormatBytes(p.bytes);
    char rate[96];
    std::snprintf(rate, sizeof rate, ", %.0f msg/s %.1f MiB/s", p.messages / secs,
                  p.bytes / secs / (1024.0 * 1024.0));
    line += rate;
    if (p.total_bytes > p.bytes && p.bytes > 0) {
      auto eta = static_cast<long long>((p.total_bytes - p.bytes) / (p.bytes / secs));
      char buf[48];
      std::snprintf(buf, sizeof buf, ", ETA %lld:%02lld", eta / 60, eta % 60);
      line += buf;
    }
    std::fprintf(stderr, "\r%-78s", line.c_str());
    std::fflush(stderr);
    *printed = true;
  };
}

void PrintReport(const char* verb, const services::TransferReport& r, bool dry_run) {
  for (const auto& m : r.mailboxes) {
    std::string line = std::string("  ") + m.name + ": " + std::to_string(m.messages) + " " +
                       (dry_run ? "to import" : verb);
    if (m.skipped) line += ", " + std::to_string(m.skipped) + " already there";
    if (m.uids_kept) line += ", UIDs kept";
    if (!m.note.empty()) line += " (" + m.note + ")";
    line += "  <- " + m.source;
    std::printf("%s\n", line.c_str());
  }
  std::printf("%s: %llu messages (%s)%s%s\n", dry_run ? "dry run" : verb,
              static_cast<unsigned long long>(r.messages), FormatBytes(r.bytes).c_str(),
              r.skipped ? (", " + std::to_string(r.skipped) + " already there").c_str() : "",
              r.failed.empty() ? "" : (", " + std::to_string(r.failed.size()) + " failed").c_str());
  for (const auto& w : r.warnings) PrintError("warning: " + w);
  for (const auto& f : r.failed) PrintError("failed: " + f);
}

}  // namespace

int Import(const config::Config& config, const ImportArgs& args) {
  auto admin = OpenStoreOrReport(config);
  if (!admin) return kExitTempFail;
  services::ImportOptions o;
  o.user = args.user;
  o.path = args.path;
  o.mailbox = args.mailbox;
  o.dry_run = args.dry_run;
  o.create_user = args.create_user;
  if (!args.pop3_uidl_format.empty()) o.pop3_uidl_format = args.pop3_uidl_format;
  o.max_message_size = config.limits.max_message_size;
  o.names = ImapNames();
  o.wait = [&admin](const std::function<bool()>& done) { admin->WaitUntil(done); };
  bool printed = false;
  o.progress = ProgressLine(&printed);
  services::TransferReport report;
  services::Outcome out = services::Import(admin->store(), o, &report);
  if (printed) std::fprintf(stderr, "\n");
  if (!out.ok()) {
    PrintError("import: " + out.message() +
               (out.code() == services::Code::kNoSuchUser
                    ? InDataDir(config) + " (--create-user creates it)"
                    : ""));
    return out.code() == services::Code::kNoSuchUser ? kExitNoUser
           : out.code() == services::Code::kBadInput ? kExitDataErr
                                                     : kExitTempFail;
  }
  if (report.user_created) {
    std::printf("%s user %s\n", args.dry_run ? "would create" : "created", args.user.c_str());
  }
  PrintReport("imported", report, args.dry_run);
  return report.failed.empty() ? kExitOk : kExitDataErr;
}

int Export(const config::Config& config, const ExportArgs& args) {
  auto format = services::ParseExportFormat(args.format);
  if (!format) {
    PrintError("export: --format must be maildir, mbox or eml");
    return kExitUsage;
  }
  auto admin = OpenStoreOrReport(config);
  if (!admin) return kExitTempFail;
  services::ExportOptions o;
  o.user = args.user;
  o.dir = args.dir;
  o.format = *format;
  o.mailbox = args.mailbox;
  o.names = ImapNames();
  bool printed = false;
  o.progress = ProgressLine(&printed);
  services::TransferReport report;
  services::Outcome out = services::Export(admin->store(), o, &report);
  if (printed) std::fprintf(stderr, "\n");
  if (!out.ok()) {
    PrintError("export: " + out.message());
    return out.code() == services::Code::kNoSuchUser   ? kExitNoUser
           : out.code() == services::Code::kBadMailbox ? kExitFailure
                                                       : kExitCantCreate;
  }
  PrintReport("exported", report, false);
  return report.failed.empty() ? kExitOk : kExitDataErr;
}

}  // namespace pillarbox::server::cli
