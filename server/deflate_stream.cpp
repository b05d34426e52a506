#include "server/deflate_stream.h"

#include <algorithm>

namespace pillarbox::server {
namespace {

// Raw deflate: negative window bits, no zlib header (RFC 4978 section 3).
constexpr int kWindowBits = -15;
// zlib's default memory level (8) and level (6): Dovecot's defaults too.
constexpr int kMemLevel = 8;
constexpr int kLevel = 6;
// Output grown per zlib call.
constexpr std::size_t kStep = 16 * 1024;
// Compressed input kept before the consumed part is dropped from in_.
constexpr std::size_t kCompactAt = 64 * 1024;

}  // namespace

Result<std::unique_ptr<DeflateStream>> DeflateStream::Make() {
  std::unique_ptr<DeflateStream> d(new DeflateStream());
  if (deflateInit2(&d->deflate_, kLevel, Z_DEFLATED, kWindowBits, kMemLevel, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return Status::Internal("deflateInit2 failed");
  }
  d->deflate_ready_ = true;
  if (inflateInit2(&d->inflate_, kWindowBits) != Z_OK) {
    return Status::Internal("inflateInit2 failed");
  }
  d->inflate_ready_ = true;
  return d;
}

DeflateStream::~DeflateStream() {
  if (deflate_ready_) deflateEnd(&deflate_);
  if (inflate_ready_) inflateEnd(&inflate_);
}

Status DeflateStream::Run(std::string_view plain, int flush, std::string* out) {
  deflate_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
  deflate_.avail_in = static_cast<uInt>(plain.size());
  for (;;) {
    std::size_t before = out->size();
    out->resize(before + kStep);
    deflate_.next_out = reinterpret_cast<Bytef*>(out->data() + before);
    deflate_.avail_out = static_cast<uInt>(kStep);
    int rc = deflate(&deflate_, flush);
    out->resize(before + (kStep - deflate_.avail_out));
    wire_out_ += kStep - deflate_.avail_out;
    if (rc == Z_STREAM_ERROR) return Status::Internal("deflate failed");
    // Done when zlib took all input and did not fill the output space (for
    // a flush: the whole flush marker is out).
    if (deflate_.avail_in == 0 && deflate_.avail_out != 0) break;
  }
  return Status::Ok();
}

Status DeflateStream::Compress(std::string_view plain, std::string* out) {
  if (plain.empty()) return Status::Ok();
  plain_out_ += plain.size();
  unflushed_ = true;
  // Large writes (a FETCH literal chunk) are given to zlib whole; zlib
  // does not copy more than its window.
  return Run(plain, Z_NO_FLUSH, out);
}

Status DeflateStream::Flush(std::string* out) {
  if (!unflushed_) return Status::Ok();
  unflushed_ = false;
  return Run({}, Z_SYNC_FLUSH, out);
}

Status DeflateStream::Inflate(std::size_t max_out, std::string* out) {
  while (max_out > 0 && (in_pos_ < in_.size() || more_out_)) {
    if (ended_) return Status::InvalidArgument("data after the end of the compressed stream");
    std::size_t step = std::min(max_out, kStep);
    std::size_t before = out->size();
    out->resize(before + step);
    inflate_.next_in = reinterpret_cast<Bytef*>(in_.data() + in_pos_);
    inflate_.avail_in = static_cast<uInt>(in_.size() - in_pos_);
    inflate_.next_out = reinterpret_cast<Bytef*>(out->data() + before);
    inflate_.avail_out = static_cast<uInt>(step);
    int rc = inflate(&inflate_, Z_SYNC_FLUSH);
    std::size_t used = (in_.size() - in_pos_) - inflate_.avail_in;
    std::size_t made = step - inflate_.avail_out;
    in_pos_ += used;
    wire_in_ += used;
    plain_in_ += made;
    out->resize(before + made);
    max_out -= made;
    // A full output buffer may leave decoded bytes inside zlib.
    more_out_ = inflate_.avail_out == 0;
    if (rc == Z_STREAM_END) {
      ended_ = true;
    } else if (rc == Z_BUF_ERROR) {
      break;  // no progress possible: more input needed
    } else if (rc != Z_OK) {
      return Status::InvalidArgument("corrupt compressed input");
    }
    if (used == 0 && made == 0) break;
  }
  if (in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  } else if (in_pos_ >= kCompactAt) {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
  return Status::Ok();
}

}  // namespace pillarbox::server
