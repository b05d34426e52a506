// storage/maintenance.h on LMDB: read-only openings of the environment for
// verify and backup, the backup file (FORMAT.md, "Backup file") and restore.
#include "storage/maintenance.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>

#include "common/strings.h"
#include "storage/lmdb/codec.h"
#include "storage/lmdb/consistency.h"
#include "storage/lmdb/env.h"

namespace pillarbox::storage {
namespace {

using lmdb::Dbis;
using lmdb::MdbStatus;

constexpr std::string_view kMagic = "PBBACKUP";
constexpr std::string_view kEndMagic = "PBBAKEND";
constexpr std::uint32_t kContainerVersion = 1;
// magic, container version, store format version, created.
constexpr std::size_t kHeaderBytes = 8 + 4 + 4 + 8;
// payload length, SHA-256, end magic.
constexpr std::size_t kTrailerBytes = 8 + 32 + 8;
// Reads and writes of the backup go through a buffer of this size.
constexpr std::size_t kChunkBytes = 1u << 20;
// Attempts of a read transaction or copy that meets a map another process
// has just grown (MDB_MAP_RESIZED), adopting the new size between them.
constexpr int kResizeAttempts = 3;

std::string Errno(std::string_view what, const std::string& path) {
  return std::string(what) + " " + path + ": " + std::strerror(errno);
}

std::string Hex(const unsigned char* p, std::size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 15];
  }
  return out;
}

// An fd closed on scope exit.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { Close(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int Close() {
    int rc = fd_ >= 0 ? ::close(fd_) : 0;
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(const void* p, std::size_t n) { EVP_DigestUpdate(ctx_, p, n); }
  std::string Final() {
    unsigned char out[32];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx_, out, &len);
    return std::string(reinterpret_cast<char*>(out), 32);
  }

 private:
  EVP_MD_CTX* ctx_;
};

Status WriteAll(int fd, const char* p, std::size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return Status::IOError(Errno("cannot write", path));
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return Status::Ok();
}

// Reads exactly n bytes at `offset` (fewer only at the end of the file).
Result<std::size_t> ReadAt(int fd, char* p, std::size_t n, std::uint64_t offset,
                           const std::string& path) {
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, p + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Status::IOError(Errno("cannot read", path));
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  return got;
}

Status FsyncDir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0) return Status::IOError(Errno("cannot fsync", dir));
  return Status::Ok();
}

std::string ParentDir(const std::string& file) {
  std::string parent = std::filesystem::path(file).parent_path().string();
  return parent.empty() ? "." : parent;
}

// The environment opened read-only: works beside a running server (LMDB is
// multi-process), never writes to data.mdb.
class ReadOnlyEnv {
 public:
  ~ReadOnlyEnv() {
    if (env_ != nullptr) mdb_env_close(env_);
  }

  static Result<std::unique_ptr<ReadOnlyEnv>> Open(const std::string& dir) {
    std::error_code ec;
    if (!std::filesystem::exists(dir + "/data.mdb", ec)) {
      return Status::NotFound("no store in " + dir);
    }
    std::unique_ptr<ReadOnlyEnv> e(new ReadOnlyEnv());
    int rc = mdb_env_create(&e->env_);
    if (rc != MDB_SUCCESS) return MdbStatus(rc, "mdb_env_create");
    mdb_env_set_maxdbs(e->env_, lmdb::kMaxDbs);
    mdb_env_set_maxreaders(e->env_, lmdb::kMaxReaders);
    rc = mdb_env_open(e->env_, dir.c_str(), MDB_RDONLY | MDB_NOTLS, 0600);
    if (rc != MDB_SUCCESS) return MdbStatus(rc, "opening the store in " + dir);
    return e;
  }

  MDB_env* env() { return env_; }

  // A read transaction, adopting a map another process has grown.
  Result<MDB_txn*> BeginRead() {
    int rc = MDB_SUCCESS;
    for (int i = 0; i < kResizeAttempts; ++i) {
      MDB_txn* txn = nullptr;
      rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
      if (rc == MDB_SUCCESS) return txn;
      if (rc != MDB_MAP_RESIZED) break;
      mdb_env_set_mapsize(env_, 0);
    }
    return MdbStatus(rc, "beginning a read transaction");
  }

 private:
  ReadOnlyEnv() = default;
  MDB_env* env_ = nullptr;
};

// The store format version of the environment's current snapshot.
Result<std::uint32_t> FormatVersion(ReadOnlyEnv& env) {
  auto txn = env.BeginRead();
  if (!txn.ok()) return txn.status();
  Dbis dbis;
  Status s = lmdb::OpenDbis(*txn, /*create=*/false, &dbis);
  std::uint32_t version = 0;
  if (s.ok()) {
    lmdb::TxnOps ops(*txn, &dbis);
    auto v = ops.Get(dbis.meta, "format_version");
    if (!v.ok()) {
      s = v.status();
    } else if (v->size() != 4) {
      s = Status::Corruption("bad format_version in the store");
    } else {
      version = GetBigEndian32(v->data());
    }
  }
  mdb_txn_abort(*txn);
  if (!s.ok()) return s;
  return version;
}

// True when the store has no users and no messages, as `init` (or the
// container's entry point, which runs it) leaves it.
Result<bool> IsEmpty(ReadOnlyEnv& env) {
  auto txn = env.BeginRead();
  if (!txn.ok()) return txn.status();
  Dbis dbis;
  Status s = lmdb::OpenDbis(*txn, /*create=*/false, &dbis);
  MDB_stat users{}, messages{};
  if (s.ok()) s = MdbStatus(mdb_stat(*txn, dbis.users, &users), "mdb_stat users");
  if (s.ok()) s = MdbStatus(mdb_stat(*txn, dbis.messages, &messages), "mdb_stat messages");
  mdb_txn_abort(*txn);
  if (!s.ok()) return s;
  return users.ms_entries == 0 && messages.ms_entries == 0;
}

// Reads the backup `file` whole, checking its layout and checksum, and
// copies the payload (the store's data.mdb) to `out` when out >= 0.
Result<BackupInfo> ReadBackup(const std::string& file, int out, const std::string& out_path) {
  Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Status::NotFound(Errno("cannot open", file));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::IOError(Errno("cannot stat", file));
  BackupInfo info;
  info.file_bytes = static_cast<std::uint64_t>(st.st_size);
  char header[kHeaderBytes];
  auto got = ReadAt(fd.get(), header, kHeaderBytes, 0, file);
  if (!got.ok()) return got.status();
  if (*got < kHeaderBytes || std::string_view(header, 8) != kMagic) {
    return Status::Corruption(file + " is not a Pillarbox backup (no " + std::string(kMagic) +
                              " header)");
  }
  std::uint32_t container = GetBigEndian32(header + 8);
  if (container != kContainerVersion) {
    return Status::Unsupported(file + " is a backup of container version " +
                               std::to_string(container) + "; this Pillarbox reads version " +
                               std::to_string(kContainerVersion));
  }
  info.store_format_version = GetBigEndian32(header + 12);
  info.created = static_cast<std::int64_t>(GetBigEndian64(header + 16));
  char trailer[kTrailerBytes];
  bool whole = info.file_bytes >= kHeaderBytes + kTrailerBytes;
  if (whole) {
    got = ReadAt(fd.get(), trailer, kTrailerBytes, info.file_bytes - kTrailerBytes, file);
    if (!got.ok()) return got.status();
    whole = *got == kTrailerBytes && std::string_view(trailer + 40, 8) == kEndMagic &&
            GetBigEndian64(trailer) == info.file_bytes - kHeaderBytes - kTrailerBytes;
  }
  if (!whole) {
    return Status::Corruption(file + " is truncated or damaged: its trailer is missing or does " +
                              "not match its size; nothing was restored");
  }
  info.store_bytes = GetBigEndian64(trailer);
  // The checksum covers the header, the payload and the length field.
  Sha256 sha;
  sha.Update(header, kHeaderBytes);
  std::unique_ptr<char[]> buf(new char[kChunkBytes]);
  std::uint64_t offset = kHeaderBytes;
  std::uint64_t end = kHeaderBytes + info.store_bytes;
  while (offset < end) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kChunkBytes, end - offset));
    got = ReadAt(fd.get(), buf.get(), n, offset, file);
    if (!got.ok()) return got.status();
    if (*got != n) return Status::Corruption(file + " became shorter while it was read");
    sha.Update(buf.get(), n);
    if (out >= 0) PB_RETURN_IF_ERROR(WriteAll(out, buf.get(), n, out_path));
    offset += n;
  }
  sha.Update(trailer, 8);
  std::string digest = sha.Final();
  info.sha256 = Hex(reinterpret_cast<const unsigned char*>(digest.data()), digest.size());
  if (std::string_view(trailer + 8, 32) != digest) {
    return Status::Corruption(file + " is damaged: its SHA-256 checksum does not match (stored " +
                              Hex(reinterpret_cast<const unsigned char*>(trailer + 8), 32) +
                              ", computed " + info.sha256 + "); nothing was restored");
  }
  return info;
}

// fcntl lock of byte 0 of lock.mdb: LMDB's openers hold it shared while
// their environment is open (and exclusive for a moment while the first of
// them sets the lock file up).
struct flock LmdbLock(short type) {
  struct flock l;
  std::memset(&l, 0, sizeof l);
  l.l_type = type;
  l.l_whence = SEEK_SET;
  l.l_start = 0;
  l.l_len = 1;
  return l;
}

Result<std::uint64_t> HolderOf(int lock_fd, const std::string& path) {
  struct flock l = LmdbLock(F_WRLCK);
  if (::fcntl(lock_fd, F_GETLK, &l) != 0) return Status::IOError(Errno("cannot test", path));
  if (l.l_type == F_UNLCK) return std::uint64_t{0};
  return static_cast<std::uint64_t>(l.l_pid > 0 ? l.l_pid : 1);
}

Status InUse(const std::string& dir, std::uint64_t pid) {
  return Status::InUse("the store in " + dir + " is open by process " + std::to_string(pid) +
                       " (a running server or pillarbox command); stop it first");
}

}  // namespace

Result<ConsistencyReport> VerifyStore(const std::string& dir) {
  auto env = ReadOnlyEnv::Open(dir);
  if (!env.ok()) return env.status();
  auto txn = (*env)->BeginRead();
  if (!txn.ok()) return txn.status();
  Dbis dbis;
  std::vector<std::string> absent;
  Status s = lmdb::OpenDbis(*txn, /*create=*/false, &dbis, &absent);
  if (!s.ok()) {
    mdb_txn_abort(*txn);
    return Status::Corruption("the store in " + dir + " is incomplete: " + s.message());
  }
  ConsistencyReport report;
  for (const auto& name : absent) {
    report.notes.push_back("no " + name +
                           " database (a store made before it existed): read as empty; the " +
                           "server adds it when it next opens the store");
  }
  lmdb::TxnOps ops(*txn, &dbis);
  lmdb::CheckInvariants(ops, &report);
  mdb_txn_abort(*txn);
  return report;
}

Result<BackupInfo> BackupStore(const std::string& dir, const std::string& file) {
  // A backup written into the store's folder could replace data.mdb under
  // the running server.
  std::error_code ec;
  auto parent = std::filesystem::weakly_canonical(ParentDir(file), ec);
  auto store = std::filesystem::weakly_canonical(dir, ec);
  if (!ec && parent == store) {
    return Status::InvalidArgument("a backup cannot go into the store's own folder " + dir);
  }
  auto env = ReadOnlyEnv::Open(dir);
  if (!env.ok()) return env.status();
  auto version = FormatVersion(**env);
  if (!version.ok()) return version.status();

  std::string tmp = file + ".tmp." + std::to_string(::getpid());
  ::unlink(tmp.c_str());  // left by an earlier process of the same pid
  Fd fd(::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0) return Status::IOError(Errno("cannot create", tmp));
  auto fail = [&tmp](Status s) -> Status {
    ::unlink(tmp.c_str());
    return s;
  };
  std::string header(kMagic);
  PutBigEndian32(header, kContainerVersion);
  PutBigEndian32(header, *version);
  PutBigEndian64(header, static_cast<std::uint64_t>(std::time(nullptr)));

  // The copy runs in one read transaction of its own: a consistent
  // snapshot, however many commits the server makes meanwhile. LMDB writes
  // it at the fd's offset with write(2), after our header.
  int rc = MDB_SUCCESS;
  for (int i = 0; i < kResizeAttempts; ++i) {
    if (::ftruncate(fd.get(), 0) != 0 || ::lseek(fd.get(), 0, SEEK_SET) != 0) {
      return fail(Status::IOError(Errno("cannot truncate", tmp)));
    }
    if (Status s = WriteAll(fd.get(), header.data(), header.size(), tmp); !s.ok()) return fail(s);
    rc = mdb_env_copyfd2((*env)->env(), fd.get(), MDB_CP_COMPACT);
    if (rc != MDB_MAP_RESIZED) break;
    mdb_env_set_mapsize((*env)->env(), 0);
  }
  if (rc != MDB_SUCCESS) return fail(MdbStatus(rc, "copying the store to " + tmp));
  off_t end = ::lseek(fd.get(), 0, SEEK_END);
  if (end < static_cast<off_t>(kHeaderBytes))
    return fail(Status::IOError(Errno("cannot seek", tmp)));

  BackupInfo info;
  info.store_format_version = *version;
  info.created = static_cast<std::int64_t>(GetBigEndian64(header.data() + 16));
  info.store_bytes = static_cast<std::uint64_t>(end) - kHeaderBytes;
  // The checksum is of the bytes as they are in the file, read back.
  Sha256 sha;
  std::unique_ptr<char[]> buf(new char[kChunkBytes]);
  for (std::uint64_t off = 0; off < static_cast<std::uint64_t>(end);) {
    std::size_t n = static_cast<std::size_t>(
        std::min<std::uint64_t>(kChunkBytes, static_cast<std::uint64_t>(end) - off));
    auto got = ReadAt(fd.get(), buf.get(), n, off, tmp);
    if (!got.ok()) return fail(got.status());
    if (*got != n) return fail(Status::IOError(tmp + " became shorter while it was read"));
    sha.Update(buf.get(), n);
    off += n;
  }
  std::string trailer;
  PutBigEndian64(trailer, info.store_bytes);
  sha.Update(trailer.data(), 8);
  std::string digest = sha.Final();
  info.sha256 = Hex(reinterpret_cast<const unsigned char*>(digest.data()), digest.size());
  trailer += digest;
  trailer += kEndMagic;
  if (Status s = WriteAll(fd.get(), trailer.data(), trailer.size(), tmp); !s.ok()) return fail(s);
  info.file_bytes = static_cast<std::uint64_t>(end) + trailer.size();
  if (::fsync(fd.get()) != 0) return fail(Status::IOError(Errno("cannot fsync", tmp)));
  if (fd.Close() != 0) return fail(Status::IOError(Errno("cannot close", tmp)));
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    return fail(Status::IOError(Errno("cannot rename " + tmp + " to", file)));
  }
  PB_RETURN_IF_ERROR(FsyncDir(ParentDir(file)));
  return info;
}

Result<BackupInfo> CheckBackupFile(const std::string& file) { return ReadBackup(file, -1, {}); }

Result<BackupInfo> RestoreStore(const std::string& file, const std::string& dir, bool replace) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError("cannot create " + dir + ": " + ec.message());
  std::string data = dir + "/data.mdb";
  // An empty store (what `init` makes) may be replaced without asking.
  // Checked before the lock below: our own opening of the environment would
  // drop that lock when it closes (fcntl locks are per process and file).
  if (!replace && std::filesystem::exists(data, ec)) {
    auto env = ReadOnlyEnv::Open(dir);
    if (!env.ok()) return env.status();
    auto empty = IsEmpty(**env);
    if (!empty.ok()) return empty.status();
    if (!*empty) {
      return Status::Exists(dir + " already holds a store with users or mail; pass --force to " +
                            "replace it");
    }
  }
  std::string lock_path = dir + "/lock.mdb";
  Fd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (lock.get() < 0) return Status::IOError(Errno("cannot open", lock_path));
  // Held until we return: no process opens the store meanwhile (they wait).
  struct flock l = LmdbLock(F_WRLCK);
  if (::fcntl(lock.get(), F_SETLK, &l) != 0) {
    if (errno != EACCES && errno != EAGAIN) return Status::IOError(Errno("cannot lock", lock_path));
    auto pid = HolderOf(lock.get(), lock_path);
    if (!pid.ok()) return pid.status();
    return InUse(dir, *pid ? *pid : 1);
  }
  std::string tmp = data + ".restore";
  ::unlink(tmp.c_str());  // left by an interrupted restore
  Fd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (out.get() < 0) return Status::IOError(Errno("cannot create", tmp));
  auto fail = [&tmp](Status s) -> Status {
    ::unlink(tmp.c_str());
    return s;
  };
  auto info = ReadBackup(file, out.get(), tmp);
  if (!info.ok()) return fail(info.status());
  if (info->store_format_version > lmdb::kFormatVersion) {
    return fail(Status::Unsupported(
        file + " holds a store of format version " + std::to_string(info->store_format_version) +
        ", newer than this Pillarbox supports (" + std::to_string(lmdb::kFormatVersion) +
        "); restore it with a newer Pillarbox"));
  }
  if (::fsync(out.get()) != 0) return fail(Status::IOError(Errno("cannot fsync", tmp)));
  if (out.Close() != 0) return fail(Status::IOError(Errno("cannot close", tmp)));
  if (::rename(tmp.c_str(), data.c_str()) != 0) {
    return fail(Status::IOError(Errno("cannot rename " + tmp + " to", data)));
  }
  PB_RETURN_IF_ERROR(FsyncDir(dir));
  // The lock file describes the old data file (its last transaction id,
  // reader slots). Emptied, it is set up afresh by the next opener; one
  // that waited for our lock finds it empty and fails instead of using it.
  if (::ftruncate(lock.get(), 0) != 0) return Status::IOError(Errno("cannot truncate", lock_path));
  return info;
}

Result<std::uint64_t> StoreOpenedBy(const std::string& dir) {
  std::string path = dir + "/lock.mdb";
  Fd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::uint64_t{0};
    return Status::IOError(Errno("cannot open", path));
  }
  return HolderOf(fd.get(), path);
}

}  // namespace pillarbox::storage
