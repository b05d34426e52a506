#include "protocols/http/http_session.h"

#include <climits>

#include "common/log.h"
#include "common/strings.h"

namespace pillarbox::http {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::map<std::string, std::string> ParseQuery(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    std::size_t amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (pair.empty()) continue;
    std::size_t eq = pair.find('=');
    std::string key = PercentDecode(pair.substr(0, eq), true);
    std::string value =
        eq == std::string_view::npos ? "" : PercentDecode(pair.substr(eq + 1), true);
    out[std::move(key)] = std::move(value);
  }
  return out;
}

}  // namespace

const std::string* Request::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return &v;
  }
  return nullptr;
}

std::string Request::Query(std::string_view name, std::string fallback) const {
  auto it = query.find(std::string(name));
  return it == query.end() ? fallback : it->second;
}

std::string_view StatusText(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

Response JsonError(int status, std::string_view message) {
  Response r;
  r.status = status;
  r.body = "{\"error\":" + QuotedString(message) + "}";
  return r;
}

std::string PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%' && i + 2 < s.size()) {
      int hi = HexDigit(s[i + 1]);
      int lo = HexDigit(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += plus_is_space && c == '+' ? ' ' : c;
  }
  return out;
}

const http_parser_settings HttpSession::kSettings = [] {
  http_parser_settings s{};
  s.on_message_begin = &HttpSession::OnMessageBegin;
  s.on_url = &HttpSession::OnUrl;
  s.on_header_field = &HttpSession::OnHeaderField;
  s.on_header_value = &HttpSession::OnHeaderValue;
  s.on_headers_complete = &HttpSession::OnHeadersComplete;
  s.on_body = &HttpSession::OnBody;
  s.on_message_complete = &HttpSession::OnMessageComplete;
  return s;
}();

HttpSession::HttpSession(protocols::SessionContext& ctx, protocols::ConnectionInfo& info,
                         protocols::SessionOutput& out, Handler handler)
    : ctx_(ctx), info_(info), out_(out), handler_(std::move(handler)) {
  id_ = ctx_.registry->Add(this);
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
}

HttpSession::~HttpSession() { ctx_.registry->Remove(id_); }

// --- parser callbacks (http_parser calls them from http_parser_execute) -------

bool HttpSession::CountHeaderBytes(std::size_t n) {
  header_bytes_ += n;
  if (header_bytes_ <= kMaxHeaderBytes) return true;
  error_status_ = 431;
  error_message_ =
      "request header too large (at most " + std::to_string(kMaxHeaderBytes) + " bytes)";
  return false;
}

int HttpSession::OnMessageBegin(http_parser* p) {
  auto* s = static_cast<HttpSession*>(p->data);
  s->request_ = Request();
  s->header_bytes_ = 0;
  s->last_was_value_ = false;
  return 0;
}

int HttpSession::OnUrl(http_parser* p, const char* at, std::size_t n) {
  auto* s = static_cast<HttpSession*>(p->data);
  if (!s->CountHeaderBytes(n)) return 1;
  s->request_.target.append(at, n);
  return 0;
}

int HttpSession::OnHeaderField(http_parser* p, const char* at, std::size_t n) {
  auto* s = static_cast<HttpSession*>(p->data);
  if (!s->CountHeaderBytes(n)) return 1;
  if (s->request_.headers.empty() || s->last_was_value_) s->request_.headers.emplace_back();
  s->last_was_value_ = false;
  std::string& name = s->request_.headers.back().first;
  for (std::size_t i = 0; i < n; ++i) name += AsciiLower(at[i]);
  return 0;
}

int HttpSession::OnHeaderValue(http_parser* p, const char* at, std::size_t n) {
  auto* s = static_cast<HttpSession*>(p->data);
  if (!s->CountHeaderBytes(n)) return 1;
  if (s->request_.headers.empty()) s->request_.headers.emplace_back();
  s->last_was_value_ = true;
  s->request_.headers.back().second.append(at, n);
  return 0;
}

int HttpSession::OnHeadersComplete(http_parser* p) {
  auto* s = static_cast<HttpSession*>(p->data);
  Request& r = s->request_;
  r.method = http_method_str(static_cast<http_method>(p->method));
  r.keep_alive = http_should_keep_alive(p) != 0;
  std::size_t q = r.target.find('?');
  r.path = r.target.substr(0, q);
  if (q != std::string::npos) r.query = ParseQuery(std::string_view(r.target).substr(q + 1));
  s->body_limit_ = s->body_limit_fn_ ? s->body_limit_fn_(r) : kMaxBodyBytes;
  // Absent length: ULLONG_MAX (chunked or none); checked in OnBody then.
  if (p->content_length != ULLONG_MAX && p->content_length > s->body_limit_) {
    s->error_status_ = 413;
    s->error_message_ =
        "request body too large (at most " + std::to_string(s->body_limit_) + " bytes)";
    return -1;
  }
  if (const std::string* expect = r.Header("expect")) {
    if (EqualsIgnoreAsciiCase(*expect, "100-continue"))
      s->out_.Write("HTTP/1.1 100 Continue\r\n\r\n");
  }
  return 0;
}

int HttpSession::OnBody(http_parser* p, const char* at, std::size_t n) {
  auto* s = static_cast<HttpSession*>(p->data);
  if (s->request_.body.size() + n > s->body_limit_) {
    s->error_status_ = 413;
    s->error_message_ =
        "request body too large (at most " + std::to_string(s->body_limit_) + " bytes)";
    return 1;
  }
  // The body of a seeded message may be large: it is counted, and refused
  // for now when the process is short of memory.
  if (!MemoryBudget::Global().Fits(n)) {
    s->error_status_ = 503;
    s->error_message_ = "server short of memory, try again later";
    return 1;
  }
  s->request_.body.append(at, n);
  s->UpdateCharge();
  return 0;
}

int HttpSession::OnMessageComplete(http_parser* p) {
  // Stop here: the request is answered before the next one is parsed.
  http_parser_pause(p, 1);
  return 0;
}

// --- input ------------------------------------------------------------------------

void HttpSession::OnInput(std::string_view data) {
  if (closed_ || closing_) return;
  if (streaming_) return;  // nothing more is read from an event stream's client
  in_.append(data);
  Parse();
  if (!closing_ && busy_ && in_.size() - in_pos_ > kMaxBufferedInput && !paused_input_) {
    paused_input_ = true;
    out_.PauseInput();
  }
}

void HttpSession::Parse() {
  if (parsing_) return;
  parsing_ = true;
  while (!busy_ && !closing_ && !closed_ && !streaming_ && in_pos_ < in_.size()) {
    std::size_t n =
        http_parser_execute(&parser_, &kSettings, in_.data() + in_pos_, in_.size() - in_pos_);
    in_pos_ += n;
    http_errno err = HTTP_PARSER_ERRNO(&parser_);
    if (err == HPE_PAUSED) {
      http_parser_pause(&parser_, 0);
      Dispatch();
      continue;
    }
    if (err != HPE_OK) {
      if (error_status_ != 0) {
        Fail(error_status_, error_message_);
      } else {
        Fail(400, std::string("malformed request: ") + http_errno_description(err));
      }
      break;
    }
  }
  // Drop what was parsed.
  if (in_pos_ > 0 && (in_pos_ == in_.size() || in_pos_ > 4096)) {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
  parsing_ = false;
  UpdateCharge();
}

void HttpSession::UpdateCharge() {
  // A closing session reads nothing more: its unparsed input is dead.
  charge_.Set((closing_ || closed_ ? 0 : in_.size()) + request_.body.size() + body_.size());
}

void HttpSession::Dispatch() {
  busy_ = true;
  ++requests_;
  head_ = request_.method == "HEAD";
  if (head_) request_.method = "GET";
  if (shutting_down_) request_.keep_alive = false;
  try {
    handler_(*this, request_);
  } catch (const std::exception& e) {
    LOG_ERROR("http session {}: {} {}: {}", id_, request_.method, LogSafe(request_.path), e.what());
    if (busy_ && !streaming_) {
      Respond(
          JsonError(500, "internal error, see server log (session " + std::to_string(id_) + ")"));
    }
  }
}

void HttpSession::Fail(int status, std::string_view message) {
  busy_ = true;
  request_.keep_alive = false;
  head_ = false;
  Respond(JsonError(status, message));
}

// --- output -------------------------------------------------------------------------

void HttpSession::Respond(Response response) {
  if (!busy_ || closed_ || streaming_ || writing_body_) return;
  close_after_ = !request_.keep_alive || shutting_down_;
  std::string head = "HTTP/1.1 " + std::to_string(response.status) + " " +
                     std::string(StatusText(response.status)) + "\r\n";
  if (!response.content_type.empty() && response.status != 204) {
    head += "Content-Type: " + response.content_type + "\r\n";
  }
  if (response.status != 204) {
    head += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  }
  for (const auto& [k, v] : response.headers) head += k + ": " + v + "\r\n";
  head += "X-Content-Type-Options: nosniff\r\n";
  if (close_after_) head += "Connection: close\r\n";
  head += "\r\n";
  out_.Write(std::move(head));
  body_ = head_ || response.status == 204 ? std::string() : std::move(response.body);
  body_pos_ = 0;
  writing_body_ = true;
  UpdateCharge();
  WriteBody();
}

void HttpSession::WriteBody() {
  const std::size_t high_water = ctx_.config->limits.output_high_water;
  while (body_pos_ < body_.size() && out_.QueuedBytes() < high_water) {
    std::size_t n = std::min(kBodyChunkBytes, body_.size() - body_pos_);
    out_.Write(body_.substr(body_pos_, n));
    body_pos_ += n;
  }
  if (body_pos_ < body_.size()) return;  // continued in OnDrained
  body_.clear();
  body_pos_ = 0;
  writing_body_ = false;
  request_.body.clear();
  UpdateCharge();
  FinishResponse();
}

void HttpSession::FinishResponse() {
  busy_ = false;
  if (close_after_) {
    Close();
    return;
  }
  if (paused_input_) {
    paused_input_ = false;
    out_.ResumeInput();
  }
  Parse();
}

void HttpSession::OnDrained() {
  if (writing_body_ && !closed_) WriteBody();
}

void HttpSession::StartStream(Response head) {
  if (!busy_ || closed_ || streaming_ || writing_body_) return;
  std::string text = "HTTP/1.1 " + std::to_string(head.status) + " " +
                     std::string(StatusText(head.status)) + "\r\n";
  text += "Content-Type: " + head.content_type + "\r\n";
  for (const auto& [k, v] : head.headers) text += k + ": " + v + "\r\n";
  // No length: the stream ends when the connection does.
  text += "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n";
  out_.Write(std::move(text));
  streaming_ = true;
  in_.clear();
  in_pos_ = 0;
}

bool HttpSession::Push(std::string bytes) {
  if (!streaming_ || closed_ || closing_) return false;
  out_.Write(std::move(bytes));
  return true;
}

void HttpSession::Close() {
  if (closing_ || closed_) return;
  closing_ = true;
  out_.Close();
  UpdateCharge();
}

// --- connection events ----------------------------------------------------------------

std::chrono::seconds HttpSession::IdleTimeout() const {
  return streaming_ ? kStreamIdleTimeout : kIdleTimeout;
}

void HttpSession::OnIdleTimeout() {
  if (busy_) return;  // the answer is on its way
  Close();
}

void HttpSession::OnLoginTimeout() {
  // The first request did not arrive whole in time.
  if (busy_) return;
  Fail(408, "request not received in time");
}

void HttpSession::OnShutdown() {
  shutting_down_ = true;
  if (!busy_ || streaming_) Close();
}

void HttpSession::OnClosed() {
  if (closed_) return;
  closed_ = true;
  busy_ = false;
  if (on_close_) {
    auto fn = std::move(on_close_);
    on_close_ = nullptr;
    fn();
  }
}

}  // namespace pillarbox::http
