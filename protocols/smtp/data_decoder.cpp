#include "protocols/smtp/data_decoder.h"

#include <algorithm>
#include <cstring>

namespace pillarbox::smtp {

void DotDecoder::Emit(std::string* out, const char* p, std::size_t n) {
  if (size_ < limit_) out->append(p, std::min(n, limit_ - size_));
  size_ += n;
}

std::size_t DotDecoder::Feed(std::string_view in, std::string* out, bool* done) {
  *done = false;
  const char* p = in.data();
  const char* end = p + in.size();
  while (p < end) {
    char c = *p;
    switch (state_) {
      case State::kMiddle: {
        // Copy up to the next CR in one go: most bytes take this path.
        const void* cr = std::memchr(p, '\r', static_cast<std::size_t>(end - p));
        const char* stop = cr ? static_cast<const char*>(cr) : end;
        Emit(out, p, static_cast<std::size_t>(stop - p));
        p = stop;
        if (p < end) {
          Emit(out, p, 1);
          ++p;
          state_ = State::kCr;
        }
        continue;
      }
      case State::kLineStart:
        if (c == '.') {
          state_ = State::kDot;
          ++p;
          continue;
        }
        state_ = State::kMiddle;
        continue;  // the byte is handled as mid-line content
      case State::kCr:
        if (c == '\n') {
          Emit(out, p, 1);
          ++p;
          state_ = State::kLineStart;
        } else {
          state_ = State::kMiddle;
        }
        continue;
      case State::kDot:
        if (c == '\r') {
          state_ = State::kDotCr;
          ++p;
          continue;
        }
        // A stuffed line: the leading dot is dropped, the rest is content.
        state_ = State::kMiddle;
        continue;
      case State::kDotCr:
        if (c == '\n') {
          ++p;
          state_ = State::kLineStart;
          *done = true;
          return static_cast<std::size_t>(p - in.data());
        }
        // "." CR then something else: the dot goes, the CR stays.
        Emit(out, "\r", 1);
        state_ = State::kCr;
        continue;
    }
  }
  return in.size();
}

}  // namespace pillarbox::smtp
