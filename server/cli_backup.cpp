// `pillarbox backup FILE`, `pillarbox restore FILE` and `pillarbox verify`
// (storage/maintenance.h). Backup and verify read the store while a server
// runs; restore needs it stopped.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "server/cli_internal.h"
#include "server/paths.h"
#include "server/store_options.h"
#include "storage/maintenance.h"

namespace pillarbox::server::cli {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string Summary(const storage::ConsistencyReport& r) {
  return std::to_string(r.users) + " users, " + std::to_string(r.mailboxes) + " mailboxes, " +
         std::to_string(r.messages) + " messages, " + std::to_string(r.blobs) +
         " message bodies (" + FormatBytes(r.blob_bytes) + ")";
}

// Prints the report on stdout; true when the store is consistent.
bool PrintReport(const std::string& dir, const storage::ConsistencyReport& r) {
  std::printf("store in %s: %s\n", dir.c_str(), Summary(r).c_str());
  for (const auto& n : r.notes) std::printf("note: %s\n", n.c_str());
  if (r.ok()) {
    std::printf("no problems found\n");
    return true;
  }
  std::printf("%llu problem%s found:\n", static_cast<unsigned long long>(r.problem_count()),
              r.problem_count() == 1 ? "" : "s");
  for (const auto& p : r.problems) std::printf("  %s\n", p.c_str());
  if (r.problems_not_listed > 0) {
    std::printf("  ... and %llu more\n", static_cast<unsigned long long>(r.problems_not_listed));
  }
  return false;
}

int ExitFor(const Status& s) {
  switch (s.code()) {
    case Code::kNotFound:
      return kExitNoStore;
    case Code::kInUse:
      return kExitTempFail;
    case Code::kExists:
      return kExitCantCreate;
    case Code::kCorruption:
    case Code::kUnsupported:
      return kExitDataErr;
    default:
      return kExitIoErr;
  }
}

std::string AbsoluteStoreDir(const config::Config& config) {
  return AbsoluteDataDir(config) + "/store";
}

}  // namespace

int Backup(const config::Config& config, const BackupArgs& args) {
  NoteDataDir(config);
  std::error_code ec;
  if (!args.force && std::filesystem::exists(args.file, ec)) {
    PrintError("backup: " + args.file + " exists; pass --force to replace it");
    return kExitCantCreate;
  }
  auto start = std::chrono::steady_clock::now();
  auto info = storage::BackupStore(AbsoluteStoreDir(config), args.file);
  if (!info.ok()) {
    PrintError("backup: " + info.status().message() + InDataDir(config));
    return ExitFor(info.status());
  }
  std::printf("backup of %s written to %s: %s in %.1f s, sha256 %s\n",
              AbsoluteStoreDir(config).c_str(), args.file.c_str(),
              FormatBytes(info->file_bytes).c_str(), SecondsSince(start), info->sha256.c_str());
  return kExitOk;
}

int Restore(const config::Config& config, const RestoreArgs& args) {
  NoteDataDir(config);
  std::string data_dir = AbsoluteDataDir(config);
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  // The running server holds the data directory's lock (LockDataDir); ours,
  // held until we are done, also keeps a server from starting meanwhile.
  std::string lock_path = LockFile(data_dir);
  int lock = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock < 0) {
    PrintError("restore: cannot open " + lock_path + ": " + std::strerror(errno));
    return kExitIoErr;
  }
  if (::flock(lock, LOCK_EX | LOCK_NB) != 0) {
    char buf[32] = {};
    ssize_t n = ::pread(lock, buf, sizeof buf - 1, 0);
    ::close(lock);
    std::string pid = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    PrintError("restore: a pillarbox server" + (pid.empty() ? "" : " (pid " + pid + ")") +
               " is using the data directory " + data_dir +
               "; stop it first: restore never replaces a live store");
    return kExitTempFail;
  }
  auto start = std::chrono::steady_clock::now();
  std::string store_dir = AbsoluteStoreDir(config);
  auto info = storage::RestoreStore(args.file, store_dir, args.force);
  if (!info.ok()) {
    ::close(lock);
    PrintError("restore: " + info.status().message());
    return ExitFor(info.status());
  }
  std::printf("restored %s (backup of %s, checksum verified) into %s in %.1f s\n",
              args.file.c_str(), IsoTime(info->created).c_str(), store_dir.c_str(),
              SecondsSince(start));
  // The backup was a consistent snapshot; say so of the restored store too.
  auto report = storage::VerifyStore(store_dir);
  ::close(lock);
  if (!report.ok()) {
    PrintError("restore: the restored store cannot be verified: " + report.status().message());
    return kExitIoErr;
  }
  if (!PrintReport(store_dir, *report)) {
    PrintError("warning: the backup holds a store with the problems above");
  }
  return kExitOk;
}

int Verify(const config::Config& config) {
  NoteDataDir(config);
  std::string store_dir = AbsoluteStoreDir(config);
  auto report = storage::VerifyStore(store_dir);
  if (!report.ok()) {
    PrintError("verify: " + report.status().message() + InDataDir(config));
    return ExitFor(report.status());
  }
  return PrintReport(store_dir, *report) ? kExitOk : kExitFailure;
}

}  // namespace pillarbox::server::cli
