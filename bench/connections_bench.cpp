// The network core's hot paths, in memory: bytes through a Connection
// (framing, buffering, write coalescing), TLS record throughput, and full
// TLS handshakes with the generated ECDSA P-256 certificate.
//
//   build/connections_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include <deque>

#include "server/connection.h"
#include "server/tls/tls_context.h"
#include "server/tls/tls_transport.h"
#include "tests/support/test_support.h"

namespace pillarbox::server {
namespace {

class NullIo : public StreamIo {
 public:
  void StartReading() override {}
  void StopReading() override {}
  void Write(std::string bytes) override { pending.push_back(bytes.size()); }
  void Shutdown() override {}
  void Close() override {}
  std::deque<std::size_t> pending;
};

class Host : public ConnectionHost {
 public:
  void ScheduleTick(Connection* c) override { conn = c; }
  void OnConnectionClosed(Connection*) override {}
  Connection* conn = nullptr;
};

// Answers every line with a line, like a protocol session would.
class LineEcho : public protocols::Session {
 public:
  explicit LineEcho(protocols::SessionOutput& out) : out_(out) {}
  void Start() override { out_.Write("* OK\r\n"); }
  void OnInput(std::string_view data) override {
    buf_.append(data);
    std::size_t pos = 0, nl;
    while ((nl = buf_.find('\n', pos)) != std::string::npos) {
      out_.Write("* " + buf_.substr(pos, nl + 1 - pos));
      pos = nl + 1;
    }
    buf_.erase(0, pos);
  }
  void OnIdleTimeout() override {}
  void OnShutdown() override {}
  void OnClosed() override {}
  std::chrono::seconds IdleTimeout() const override { return std::chrono::seconds(60); }
  bool Authenticated() const override { return true; }
  std::uint64_t id() const override { return 1; }

 private:
  protocols::SessionOutput& out_;
  std::string buf_;
};

void BM_ConnectionLines(benchmark::State& state) {
  Host host;
  protocols::ConnectionInfo info;
  ConnectionOptions options;
  options.protocol = "bench";
  Connection conn(1, options, info, &host);
  auto io = std::make_unique<NullIo>();
  NullIo* raw = io.get();
  conn.AttachIo(std::move(io));
  conn.Start([](protocols::SessionContext&, protocols::ConnectionInfo&,
                protocols::SessionOutput& out) { return std::make_unique<LineEcho>(out); },
             protocols::SessionContext{});
  std::string input;
  while (input.size() < 16 * 1024) input += "a001 UID FETCH 1:* (FLAGS)\r\n";
  for (auto _ : state) {
    conn.OnRead(input);
    while (host.conn != nullptr) {
      host.conn = nullptr;
      conn.OnTick();
      while (!raw->pending.empty()) {
        std::size_t n = raw->pending.front();
        raw->pending.pop_front();
        conn.OnWriteDone(n, 0);
      }
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * input.size()));
}
BENCHMARK(BM_ConnectionLines);

struct TlsPair {
  testing::TempDir dir;
  tls::SslCtxPtr server_ctx, client_ctx;
  TlsPair() {
    auto paths = tls::EnsureSelfSignedCertificate(dir.path() + "/tls", "bench");
    server_ctx = *tls::MakeServerContext(paths->cert, paths->key, "1.2");
    client_ctx = *tls::MakeClientContext();
  }
};

void Handshake(tls::Transport& client, tls::Transport& server) {
  std::string a, b;
  (void)client.StartHandshake();
  for (int i = 0; i < 10; ++i) {
    std::string c = client.TakeNetworkOutput();
    std::string s = server.TakeNetworkOutput();
    if (c.empty() && s.empty()) break;
    if (!c.empty()) (void)server.OnNetworkInput(c, &b);
    if (!s.empty()) (void)client.OnNetworkInput(s, &a);
  }
}

void BM_TlsHandshakeP256(benchmark::State& state) {
  TlsPair pair;
  for (auto _ : state) {
    auto client = tls::Transport::Make(pair.client_ctx.get(), tls::Transport::Role::kClient);
    auto server = tls::Transport::Make(pair.server_ctx.get(), tls::Transport::Role::kServer);
    Handshake(**client, **server);
    if (!(*server)->handshake_done()) state.SkipWithError("handshake failed");
  }
}
BENCHMARK(BM_TlsHandshakeP256)->Unit(benchmark::kMicrosecond);

void BM_TlsServerToClient(benchmark::State& state) {
  TlsPair pair;
  auto client = tls::Transport::Make(pair.client_ctx.get(), tls::Transport::Role::kClient);
  auto server = tls::Transport::Make(pair.server_ctx.get(), tls::Transport::Role::kServer);
  Handshake(**client, **server);
  std::string payload(64 * 1024, 'x');
  std::string plain;
  for (auto _ : state) {
    (void)(*server)->Write(payload);
    std::string wire = (*server)->TakeNetworkOutput();
    plain.clear();
    (void)(*client)->OnNetworkInput(wire, &plain);
    benchmark::DoNotOptimize(plain.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * payload.size()));
}
BENCHMARK(BM_TlsServerToClient);

}  // namespace
}  // namespace pillarbox::server

BENCHMARK_MAIN();
