#include "storage/spill_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace pillarbox::storage {

namespace {

Status Errno(const std::string& what) {
  return Status::IOError(what + ": " + std::strerror(errno));
}

}  // namespace

Result<std::shared_ptr<SpillFile>> SpillFile::Create(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return Status::IOError("creating " + dir + ": " + ec.message());
    ::chmod(dir.c_str(), 0700);
  }
  int fd = -1;
#ifdef O_TMPFILE
  fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
#endif
  if (fd < 0) {
    // File systems without O_TMPFILE: a named file, unlinked at once.
    std::string path = dir + "/spill-XXXXXX";
    fd = ::mkostemp(path.data(), O_CLOEXEC);
    if (fd < 0) return Errno("creating a spill file in " + dir);
    ::unlink(path.c_str());
  }
  return std::shared_ptr<SpillFile>(new SpillFile(fd));
}

SpillFile::~SpillFile() {
  if (fd_ >= 0) ::close(fd_);
}

Status SpillFile::Append(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("writing a spill file");
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
    size_ += static_cast<std::uint64_t>(n);
  }
  return Status::Ok();
}

Result<std::string> SpillFile::ReadAll() const {
  std::string out;
  out.resize(static_cast<std::size_t>(size_));
  std::size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("reading a spill file");
    }
    if (n == 0) return Status::IOError("spill file shorter than written");
    done += static_cast<std::size_t>(n);
  }
  return out;
}

Status SpillFile::ReadChunks(std::size_t chunk,
                             const std::function<Status(std::string_view)>& fn) const {
  std::string buf(static_cast<std::size_t>(std::min<std::uint64_t>(chunk, size_)), '\0');
  std::uint64_t done = 0;
  while (done < size_) {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size_ - done));
    ssize_t n = ::pread(fd_, buf.data(), want, static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("reading a spill file");
    }
    if (n == 0) return Status::IOError("spill file shorter than written");
    done += static_cast<std::uint64_t>(n);
    PB_RETURN_IF_ERROR(fn(std::string_view(buf.data(), static_cast<std::size_t>(n))));
  }
  return Status::Ok();
}

}  // namespace pillarbox::storage
