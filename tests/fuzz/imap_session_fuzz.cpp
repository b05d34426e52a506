// libFuzzer target for the IMAP session: one connection per input against
// a store (opened once per process) holding alice/secret with three
// messages in INBOX and bob/pw with none, so that a seed starting with
// LOGIN reaches the authenticated and selected states and every command
// handler, the extension ones (CONDSTORE/QRESYNC, ESEARCH/CONTEXT, SORT/
// THREAD, NOTIFY, MULTIAPPEND/CATENATE, QUOTA, COMPRESS...) included.
//
// Input: byte 0 picks the configuration (capability profile, loopback,
// STARTTLS available, slow client, how the connection ends), byte 1 seeds
// the split of the rest into pieces; the rest is what the client sends.
// Whatever the input, the session must end cleanly: no crash or leak, no
// write after it closed, nothing left registered or pending, and the
// output ends with a line ending. After an input that wrote to the store,
// the store's invariants are checked and the users recreated, so every
// input starts alike.
//
// Build: cmake -DPILLARBOX_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ ...
// Run:   ./imap_session_fuzz -max_len=8192 corpus_dir (seeds in
//        tests/fuzz/corpus/imap_session_fuzz)
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "protocols/imap/imap_session.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace pillarbox;  // NOLINT: a fuzz entry point, not a header

struct World {
  fuzz::FuzzStore store;
  protocols::SessionRegistry registry;
};
World* world = nullptr;

std::vector<std::string> Messages() {
  std::string big =
      "Message-ID: <big@example.org>\r\nSubject: Re: big\r\n"
      "References: <one@example.org>\r\n\r\n";
  while (big.size() < 70 * 1024) big += "a line of the big message\r\n";
  big += "last";
  return {
      "From: Bob <bob@example.org>\r\nTo: alice@example.com\r\nSubject: hi\r\n"
      "Message-ID: <one@example.org>\r\nDate: Wed, 18 Nov 2026 11:06:40 +0000\r\n\r\n"
      "Hello\r\nbye\r\n",
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
      break;  // everything
    case 1:
      cfg.imap.profile = "rfc3501";
      break;
    case 2:
      cfg.imap.capabilities = "-NOTIFY -CONTEXT=SEARCH -CONDSTORE -QRESYNC -LITERAL+";
      break;
    case 3:
      cfg.imap.profile = "minimal-sync";
      break;
  }
  cfg.auth.failure_delay = std::chrono::milliseconds(1000);
  cfg.limits.max_bad_commands = 1000;  // let an input reach many commands

  protocols::AuthThrottle throttle(cfg.auth);
  pillarbox::testing::FakeTimers timers;
  protocols::SessionContext ctx;
  ctx.store = &world->store.store();
  ctx.config = &cfg;
  ctx.registry = &world->registry;
  ctx.throttle = &throttle;
  ctx.timer = timers.Fn();
  ctx.hostname = "imap.test";

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
    auto session = imap::MakeSession(ctx, info, out);
    fuzz::SessionDriver driver(world->store, timers, out, info);
    driver.Run(*session, input, split, ending);
  }
  fuzz::Check(world->registry.size() == 0, "a session stayed registered");
  // Literals carry message bytes, so lines are not checked one by one; but
  // every response ends with a line ending (COMPRESS makes the rest binary).
  if (!out.written.empty() && out.written.find("OK DEFLATE active\r\n") == std::string::npos) {
    fuzz::Check(out.written.ends_with("\r\n"), "the output does not end with CRLF");
  }

  if (world->store.store().mutated()) {
    world->store.CheckConsistency();
    world->store.DeleteAllUsers();
    Populate();
    world->store.store().clear_mutated();
  }
  return 0;
}
