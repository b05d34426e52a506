#include "protocols/postfix/socketmap.h"

#include "common/log.h"
#include "common/strings.h"
#include "protocols/smtp/routing.h"

namespace pillarbox::postfix {
namespace {

using protocols::ConnectionInfo;
using protocols::SessionContext;
using protocols::SessionOutput;

// Digits of the largest accepted length ("100000").
constexpr std::size_t kMaxLengthDigits = 6;

class SocketmapSession final : public protocols::Session {
 public:
  SocketmapSession(SessionContext& ctx, SessionOutput& out)
      : ctx_(ctx), out_(out), cfg_(*ctx.config) {
    id_ = ctx_.registry->Add(this);
  }
  ~SocketmapSession() override { ctx_.registry->Remove(id_); }

  void Start() override {}  // the client speaks first

  void OnInput(std::string_view data) override {
    if (closed_) return;
    in_.append(data);
    Pump();
  }

  void OnDrained() override {
    if (closed_ || !paused_) return;
    paused_ = false;
    out_.ResumeInput();
    Pump();
  }

  void OnIdleTimeout() override { Close(); }
  void OnShutdown() override { Close(); }
  void OnClosed() override { closed_ = true; }
  std::chrono::seconds IdleTimeout() const override { return kSocketmapIdleTimeout; }
  // The local MTA, trusted like LMTP: no login deadline.
  bool Authenticated() const override { return true; }
  std::uint64_t id() const override { return id_; }

 private:
  void Close() {
    if (closed_) return;
    closed_ = true;
    out_.Close();
  }

  void Broken(std::string_view why) {
    LOG_WARN("socketmap #{}: closing: {}", id_, why);
    Close();
  }

  // Answers every complete request in the buffer, in order.
  void Pump() {
    std::size_t pos = 0;
    while (!closed_) {
      if (out_.QueuedBytes() > cfg_.limits.output_high_water) {
        paused_ = true;
        out_.PauseInput();
        break;
      }
      std::string_view rest(in_.data() + pos, in_.size() - pos);
      std::size_t colon = rest.find(':');
      std::size_t digits = colon == std::string_view::npos ? rest.size() : colon;
      if (digits > kMaxLengthDigits) return Broken("netstring length too long");
      for (std::size_t i = 0; i < digits; ++i) {
        if (rest[i] < '0' || rest[i] > '9') return Broken("bad netstring length");
      }
      if (colon == std::string_view::npos) break;  // need more
      if (digits == 0) return Broken("bad netstring length");
      std::size_t len = 0;
      for (std::size_t i = 0; i < digits; ++i) len = len * 10 + (rest[i] - '0');
      if (len > kMaxSocketmapRequest) return Broken("request too long");
      if (rest.size() < colon + 1 + len + 1) break;  // need more
      if (rest[colon + 1 + len] != ',') return Broken("netstring without its comma");
      Answer(rest.substr(colon + 1, len));
      pos += colon + 1 + len + 1;
    }
    if (!closed_) in_.erase(0, pos);
  }

  void Answer(std::string_view request) {
    std::size_t sp = request.find(' ');
    if (sp == std::string_view::npos || sp == 0) {
      return out_.Write(Netstring("PERM expected \"name key\""));
    }
    std::string_view map = request.substr(0, sp);
    std::string_view key = request.substr(sp + 1);
    std::string answer = "NOTFOUND ";
    std::size_t at = key.rfind('@');
    smtp::Address addr;
    addr.text = std::string(key);
    addr.local = std::string(key.substr(0, at));
    if (at != std::string_view::npos) addr.domain = std::string(key.substr(at + 1));
    if (!addr.local.empty()) {
      auto view = ctx_.store->Read();
      auto d = smtp::RouteRecipient(*view, cfg_, ctx_.hostname, /*lmtp=*/true, addr);
      if (d.kind == smtp::RouteDecision::Kind::kDeliver) answer = "OK " + d.user.name;
    }
    LOG_DEBUG("socketmap #{}: {} {} -> {}", id_, LogField(map), LogField(key), answer);
    out_.Write(Netstring(answer));
  }

  SessionContext& ctx_;
  SessionOutput& out_;
  const config::Config& cfg_;
  std::uint64_t id_ = 0;
  std::string in_;
  bool paused_ = false;
  bool closed_ = false;
};

}  // namespace

std::string Netstring(std::string_view payload) {
  std::string out = std::to_string(payload.size());
  out += ':';
  out += payload;
  out += ',';
  return out;
}

std::unique_ptr<protocols::Session> MakeSocketmapSession(protocols::SessionContext& ctx,
                                                         protocols::ConnectionInfo& info,
                                                         protocols::SessionOutput& out) {
  (void)info;  // a unix socket: nothing to know about the peer
  return std::make_unique<SocketmapSession>(ctx, out);
}

}  // namespace pillarbox::postfix
