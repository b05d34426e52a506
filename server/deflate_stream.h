// Raw DEFLATE (RFC 1951, no zlib or gzip framing) in both directions of one
// connection: IMAP COMPRESS=DEFLATE (RFC 4978). It sits between the session
// and TLS: the session's output is compressed before it is encrypted, and
// decrypted input is inflated before the session sees it.
//
// Input is inflated on demand, at most a given number of bytes per call, so
// that a small compressed input that expands enormously (a "zip bomb") never
// becomes more than the caller asked for; what is not inflated yet stays
// compressed in pending_input().
//
// Threads: one owner thread (the loop).
#pragma once

#include <zlib.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace pillarbox::server {

class DeflateStream {
 public:
  static Result<std::unique_ptr<DeflateStream>> Make();
  ~DeflateStream();
  DeflateStream(const DeflateStream&) = delete;
  DeflateStream& operator=(const DeflateStream&) = delete;

  // --- output --------------------------------------------------------------
  // Compresses `plain`, appending what zlib emits to `*out`. Some bytes may
  // stay inside zlib until Flush().
  Status Compress(std::string_view plain, std::string* out);
  // Z_SYNC_FLUSH: everything compressed so far becomes decodable by the
  // peer. A no-op when nothing was compressed since the last flush.
  Status Flush(std::string* out);
  bool flush_needed() const { return unflushed_; }

  // --- input ---------------------------------------------------------------
  // Queues compressed bytes from the peer.
  void Feed(std::string_view compressed) { in_.append(compressed); }
  // Inflates queued input, appending at most `max_out` bytes to `*out`.
  // Corrupt input or data after the end of the stream is an error.
  Status Inflate(std::size_t max_out, std::string* out);
  // Compressed bytes queued and not yet inflated.
  std::size_t pending_input() const { return in_.size() - in_pos_; }
  // Inflate() has more to give (queued input, or output held in zlib).
  bool input_pending() const { return pending_input() > 0 || more_out_; }

  // Totals, for the log line at close.
  std::uint64_t plain_out() const { return plain_out_; }
  std::uint64_t wire_out() const { return wire_out_; }
  std::uint64_t wire_in() const { return wire_in_; }
  std::uint64_t plain_in() const { return plain_in_; }

 private:
  DeflateStream() = default;
  Status Run(std::string_view plain, int flush, std::string* out);

  z_stream deflate_{};
  z_stream inflate_{};
  bool deflate_ready_ = false;
  bool inflate_ready_ = false;
  bool unflushed_ = false;
  bool ended_ = false;     // the peer ended its stream
  bool more_out_ = false;  // the last inflate() filled its output
  std::string in_;
  std::size_t in_pos_ = 0;
  std::uint64_t plain_out_ = 0, wire_out_ = 0, wire_in_ = 0, plain_in_ = 0;
};

}  // namespace pillarbox::server
