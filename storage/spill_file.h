// A message being received that is too large to keep in memory: its bytes
// go to an anonymous file under a temporary directory (<data_dir>/tmp), and
// the store reads them back when it commits the message (AppendRequest::
// spill). The file has no name (O_TMPFILE, or unlinked at once where that
// is not supported), so it disappears when the last holder closes it, even
// after a crash.
//
// Threads: written by one thread (the session's), then, once handed to the
// store, only read (on the store's preparation threads, before the message
// is queued for the writer); never both at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace pillarbox::storage {

class SpillFile {
 public:
  // Creates the file in `dir` (made if missing, mode 0700).
  static Result<std::shared_ptr<SpillFile>> Create(const std::string& dir);

  ~SpillFile();
  SpillFile(const SpillFile&) = delete;
  SpillFile& operator=(const SpillFile&) = delete;

  // Appends `bytes` (one write() loop; no fsync: the file is scratch).
  Status Append(std::string_view bytes);
  std::uint64_t size() const { return size_; }
  // The whole content.
  Result<std::string> ReadAll() const;
  // The content in pieces of at most `chunk` bytes, in order, through one
  // buffer of that size; stops at the first error `fn` returns.
  Status ReadChunks(std::size_t chunk, const std::function<Status(std::string_view)>& fn) const;

 private:
  explicit SpillFile(int fd) : fd_(fd) {}
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

}  // namespace pillarbox::storage
