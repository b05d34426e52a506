// libFuzzer target for the HTTP session and the API behind it: one
// connection per input against a store (opened once per process) holding
// alice/secret with a plain and a multipart message, answered by the real
// routes (server/http_api.cpp, [http] auth = "none" unless byte 0 says
// otherwise), so that a seed naming a route reaches its handler.
//
// Input: byte 0 picks the configuration (1: auth = "token" with the token
// "t", 2: slow client, bits 6-7 how the connection ends), byte 1 seeds the
// split of the rest into pieces; the rest is what the client sends. Every
// response must start with a status line, and after an input that wrote to
// the store (POST, PATCH, DELETE) its invariants are checked and the users
// recreated. An event stream's timer fires a bounded number of times.
//
// Build: cmake -DPILLARBOX_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ ...
// Run:   ./http_session_fuzz -max_len=8192 corpus_dir (seeds in
//        tests/fuzz/corpus/http_session_fuzz)
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "protocols/http/http_session.h"
#include "server/http_api.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace pillarbox;  // NOLINT: a fuzz entry point, not a header

struct World {
  fuzz::FuzzStore store;
  protocols::SessionRegistry registry;
};
World* world = nullptr;

void Populate() {
  static const std::vector<std::string> messages = {
      "From: Bob <bob@example.org>\r\nTo: alice@example.com\r\nSubject: hi\r\n"
      "Date: Wed, 18 Nov 2026 11:06:40 +0000\r\n\r\nHello\r\n",
      "From: carol@example.net\r\nSubject: =?UTF-8?B?w6l0w6k=?=\r\n"
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
      "Content-Type: text/plain\r\n\r\npart one\r\n--b\r\nContent-Type: "
      "application/octet-stream; name=x.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n"
      "AAECAwQF\r\n--b--\r\n",
  };
  auto users = world->store.AddUsers({{"alice", "secret"}});
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
  cfg.http.auth = (flags & 1) ? "token" : "none";
  server::HttpApi api(cfg, "t");

  pillarbox::testing::FakeTimers timers;
  protocols::SessionContext ctx;
  ctx.store = &world->store.store();
  ctx.config = &cfg;
  ctx.registry = &world->registry;
  // An event stream re-arms its timer for as long as the connection lives;
  // the driver settles by firing timers until none is left, so past a bound
  // new timers are dropped (the stream then stays quiet until the end).
  constexpr int kMaxTimers = 64;
  int timers_armed = 0;
  ctx.timer = [fn = timers.Fn(), &timers_armed](std::chrono::milliseconds delay,
                                                std::function<void()> cb) {
    if (++timers_armed <= kMaxTimers) fn(delay, std::move(cb));
  };

  protocols::ConnectionInfo info;
  info.peer_ip = "127.0.0.1";
  info.peer_port = 40000;
  info.loopback = true;

  fuzz::FuzzOutput out;
  out.slow = (flags & 2) != 0;
  fuzz::Ending ending = (flags >> 6) == 1   ? fuzz::Ending::kIdleTimeout
                        : (flags >> 6) == 2 ? fuzz::Ending::kShutdown
                                            : fuzz::Ending::kDrop;
  {
    auto session = api.Factory()(ctx, info, out);
    fuzz::SessionDriver driver(world->store, timers, out, info);
    driver.Run(*session, input, split, ending);
  }
  fuzz::Check(world->registry.size() == 0, "a session stayed registered");
  fuzz::Check(out.written.empty() || out.written.starts_with("HTTP/1.1 "),
              "the output does not start with a status line");

  if (world->store.store().mutated()) {
    world->store.CheckConsistency();
    world->store.DeleteAllUsers();
    Populate();
    world->store.store().clear_mutated();
  }
  return 0;
}
