// libFuzzer target for the SMTP and LMTP session: one connection per input
// against a store (opened once per process) with users alice/secret, bob/pw,
// carol (a small quota) and dave@example.com (named by full address).
//
// Input: byte 0 picks the configuration (LMTP or SMTP, catch-all,
// auto-created users, AUTH required, STARTTLS available, loopback, local
// domains, slow client), byte 1 seeds the split of the rest into pieces; the
// rest is what the client sends. Every reply line must be a well-formed
// "ddd" / "ddd-" / "ddd " line ending in CRLF. After an input that wrote to
// the store, the store's invariants are checked and the users recreated, so
// every input starts alike.
//
// Build: cmake -DPILLARBOX_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ ...
// Run:   ./smtp_session_fuzz -max_len=8192 corpus_dir (seeds in
//        tests/fuzz/corpus/smtp_session_fuzz)
#include <cctype>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.h"
#include "protocols/smtp/smtp_session.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace pillarbox;  // NOLINT: a fuzz entry point, not a header

constexpr storage::UnixTime kNow = 1795000000;

struct World {
  fuzz::FuzzStore store;
  protocols::SessionRegistry registry;
};
World* world = nullptr;

void Populate() {
  fuzz::FuzzStore& fs = world->store;
  fs.AddUsers({{"alice", "secret"}, {"bob", "pw"}, {"carol", "pw"}, {"dave@example.com", "pw"}});
  fs.SetQuota("carol", 600);
}

// Every line is "ddd" followed by ' ', '-' or CRLF, and ends in CRLF; a
// bare CR or LF inside a line would let client text forge replies.
void CheckReplies(std::string_view out) {
  std::size_t pos = 0;
  while (pos < out.size()) {
    std::size_t end = out.find("\r\n", pos);
    fuzz::Check(end != std::string_view::npos, "reply without CRLF");
    std::string_view line = out.substr(pos, end - pos);
    fuzz::Check(line.size() >= 3 && std::isdigit(static_cast<unsigned char>(line[0])) &&
                    std::isdigit(static_cast<unsigned char>(line[1])) &&
                    std::isdigit(static_cast<unsigned char>(line[2])),
                "reply line without a code");
    fuzz::Check(line.size() == 3 || line[3] == ' ' || line[3] == '-', "bad reply separator");
    fuzz::Check(line.find_first_of("\r\n") == std::string_view::npos, "CR or LF inside a reply");
    pos = end + 2;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  world = new World;
  Populate();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t flags = data[0];
  const std::uint8_t split = data[1];
  std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

  const bool lmtp = (flags & 1) != 0;
  config::Config cfg;
  cfg.limits.max_message_size = 4096;
  cfg.limits.smtp_max_recipients = 4;
  cfg.auth.failure_delay = std::chrono::milliseconds(1000);
  cfg.smtp.catch_all = (flags & 2) != 0;
  cfg.dev.auto_create_users = (flags & 4) != 0;
  if (cfg.smtp.catch_all && !cfg.dev.auto_create_users) cfg.smtp.catch_all_user = "bob";
  if (cfg.dev.auto_create_users) cfg.dev.auto_create_password = "pw";
  cfg.smtp.auth_required = (flags & 8) != 0;
  if ((flags & 0x40) != 0) cfg.delivery.domains = {"example.com", "example.org"};

  protocols::AuthThrottle throttle(cfg.auth);
  pillarbox::testing::FakeTimers timers;
  protocols::SessionContext ctx;
  ctx.store = &world->store.store();
  ctx.config = &cfg;
  ctx.registry = &world->registry;
  ctx.throttle = &throttle;
  ctx.timer = timers.Fn();
  ctx.hostname = "mx.test";

  protocols::ConnectionInfo info;
  info.peer_ip = "127.0.0.1";
  info.peer_port = 40000;
  info.tls_available = (flags & 0x10) != 0;
  info.loopback = (flags & 0x20) == 0;

  fuzz::FuzzOutput out;
  out.slow = (flags & 0x80) != 0;
  smtp::SessionOptions options;
  options.now = [] { return kNow; };
  int ids = 0;
  options.make_id = [&ids] { return "ID" + std::to_string(++ids); };
  {
    auto session = smtp::MakeSession(ctx, info, out, lmtp, options);
    fuzz::SessionDriver driver(world->store, timers, out, info);
    fuzz::Ending ending = split % 3 == 1   ? fuzz::Ending::kIdleTimeout
                          : split % 3 == 2 ? fuzz::Ending::kShutdown
                                           : fuzz::Ending::kDrop;
    driver.Run(*session, input, split, ending);
  }
  fuzz::Check(world->registry.size() == 0, "a session stayed registered");
  CheckReplies(out.written);

  if (world->store.store().mutated()) {
    world->store.CheckConsistency();
    world->store.DeleteAllUsers();
    Populate();
    world->store.store().clear_mutated();
  }
  return 0;
}
