// libFuzzer target for the POP3 session: one connection per input against a
// store (opened once per process) holding alice/secret with three messages
// and bob/pw with none, so that a seed starting with USER/PASS reaches the
// TRANSACTION and UPDATE states.
//
// Input: byte 0 picks the configuration (delete mode, loopback, STARTTLS
// available, slow client, \Seen on RETR, how the connection ends), byte 1
// seeds the split of the rest into pieces; the rest is what the client
// sends. The output must consist of CRLF-terminated lines. After an input
// that wrote to the store, the store's invariants are checked and the users
// are recreated, so every input starts alike.
//
// Build: cmake -DPILLARBOX_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ ...
// Run:   ./pop3_session_fuzz -max_len=8192 corpus_dir (seeds in
//        tests/fuzz/corpus/pop3_session_fuzz)
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "protocols/pop3/pop3_session.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace pillarbox;  // NOLINT: a fuzz entry point, not a header

struct World {
  fuzz::FuzzStore store;
  protocols::SessionRegistry registry;
};
World* world = nullptr;

// The messages, built once: the big one is larger than one streaming step
// (pop3::kStreamChunk) and has no final newline.
std::vector<std::string> Messages() {
  std::string big = "Subject: big\r\n\r\n";
  while (big.size() < 70 * 1024) big += ".line of the big message, dot first\r\n";
  big += "last";
  return {
      "From: Bob <bob@example.org>\r\nTo: alice@example.com\r\nSubject: hi\r\n"
      "Date: Wed, 18 Nov 2026 11:06:40 +0000\r\n\r\nHello\r\n.\r\n..two dots\r\nbye\r\n",
      "From: carol@example.net\r\nSubject: =?UTF-8?B?w6l0w6k=?=\r\n"
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
      "Content-Type: text/plain\r\n\r\npart one\r\n--b\r\nContent-Type: "
      "application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
      "AAECAwQF\r\n--b--\r\n",
      big,
  };
}

void Populate() {
  static const std::vector<std::string> messages = Messages();
  auto users = world->store.AddUsers({{"alice", "secret"}, {"bob", "pw"}});
  world->store.Deliver(users[0].id, messages);
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

  config::Config cfg;
  switch (flags & 3) {
    case 0:
      cfg.pop3.delete_mode.mode = config::Pop3DeleteMode::kExpunge;
      break;
    case 1:
      cfg.pop3.delete_mode.mode = config::Pop3DeleteMode::kHide;
      break;
    case 2:
      cfg.pop3.delete_mode.mode = config::Pop3DeleteMode::kMove;
      cfg.pop3.delete_mode.move_target = "Archive";
      break;
    case 3:
      cfg.pop3.delete_mode.mode = config::Pop3DeleteMode::kDeny;
      break;
  }
  cfg.pop3.mark_seen_on_retr = (flags & 0x20) == 0;
  cfg.auth.failure_delay = std::chrono::milliseconds(1000);

  protocols::AuthThrottle throttle(cfg.auth);
  pillarbox::testing::FakeTimers timers;
  protocols::SessionContext ctx;
  ctx.store = &world->store.store();
  ctx.config = &cfg;
  ctx.registry = &world->registry;
  ctx.throttle = &throttle;
  ctx.timer = timers.Fn();
  ctx.hostname = "pop.test";

  protocols::ConnectionInfo info;
  info.peer_ip = "127.0.0.1";
  info.peer_port = 40000;
  info.loopback = (flags & 4) == 0;
  info.tls_available = (flags & 8) != 0;

  fuzz::FuzzOutput out;
  out.slow = (flags & 0x10) != 0;
  fuzz::Ending ending = (flags >> 6) == 1   ? fuzz::Ending::kIdleTimeout
                        : (flags >> 6) == 2 ? fuzz::Ending::kShutdown
                                            : fuzz::Ending::kDrop;
  {
    pop3::Pop3Session session(ctx, info, out);
    fuzz::SessionDriver driver(world->store, timers, out, info);
    driver.Run(session, input, split, ending);
    fuzz::Check(!session.HasPendingWork(), "the session still waits after OnClosed()");
  }
  fuzz::Check(world->registry.size() == 0, "a session stayed registered");
  fuzz::CheckCrlfOnly(out.written);

  if (world->store.store().mutated()) {
    world->store.CheckConsistency();
    world->store.DeleteAllUsers();
    Populate();
    world->store.store().clear_mutated();
  }
  return 0;
}
