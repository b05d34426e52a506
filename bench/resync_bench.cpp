// Resynchronizing a 100k-message INBOX after 100 changes (70 flag changes,
// 30 expunges) made while the client was away, two ways, through a real
// IMAP session (protocols/imap) over the store:
//
//   BM_ResyncQresync:   LOGIN, ENABLE QRESYNC, SELECT INBOX (QRESYNC (v m))
//   BM_ResyncFullFetch: LOGIN, SELECT INBOX, FETCH 1:* FLAGS
//
// Each reports the time per resync and the bytes the server wrote
// (counter "bytes"). Both pay for SELECT itself (listing the mailbox).
//
//   cmake --build build --target resync_bench && build/bench/resync_bench
//
// The store lives in $TMPDIR; filling it takes a while (100k appends in
// group commits of 1000).
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "config/config.h"
#include "protocols/analyzer.h"
#include "protocols/imap/imap_session.h"
#include "protocols/session.h"
#include "storage/store.h"
#include "tests/support/test_support.h"

namespace pillarbox::imap {
namespace {

constexpr int kMessages = 100000;
constexpr int kAppendBatch = 1000;
constexpr int kFlagChanges = 70;
constexpr int kExpunges = 30;

std::string MakeMessage(int n) {
  return "From: Bench <bench@example.com>\r\nTo: user@example.com\r\nSubject: message " +
         std::to_string(n) + "\r\n\r\n" + std::string(200, 'x') + "\r\n";
}

class Fixture {
 public:
  Fixture() : throttle_(config_.auth) {
    const char* base = getenv("TMPDIR");
    std::string templ = std::string(base && *base ? base : "/tmp") + "/pillarbox-resync-XXXXXX";
    dir_ = mkdtemp(templ.data()) ? templ : "/tmp/pillarbox-resync-bench";
    storage::StoreOptions o;
    o.dir = dir_ + "/store";
    o.post = ex_.Poster();
    o.analyzer = protocols::MakeMessageAnalyzer();
    o.initial_map_size = std::size_t{1} << 30;
    auto s = storage::Store::Open(std::move(o));
    if (!s.ok()) abort();
    store_ = std::move(*s);
    Wait([&](bool* done) {
      store_->CreateUser("bench", "{PLAIN}bench", [this, done](Result<storage::UserRecord> r) {
        if (!r.ok()) abort();
        user_ = r->id;
        *done = true;
      });
    });
    inbox_ = store_->Read()->FindMailbox(user_, "INBOX")->id;
    for (int i = 0; i < kMessages; i += kAppendBatch) Append(i, kAppendBatch);
    auto mb = store_->Read()->GetMailbox(inbox_);
    uidvalidity_ = mb->uidvalidity;
    known_modseq_ = mb->highest_modseq;
    // The 100 changes made while the client was away, spread over the box.
    std::vector<storage::Uid> flagged, expunged;
    for (int i = 0; i < kFlagChanges; ++i)
      flagged.push_back(static_cast<storage::Uid>(1 + i * 1400));
    for (int i = 0; i < kExpunges; ++i)
      expunged.push_back(static_cast<storage::Uid>(700 + i * 3000));
    storage::StoreFlagsRequest f;
    f.mailbox = inbox_;
    f.uids = flagged;
    f.flags.system = storage::kFlagFlagged;
    Wait([&](bool* done) {
      store_->StoreFlags(f, [done](Result<storage::StoreFlagsResult> r) {
        if (!r.ok()) abort();
        *done = true;
      });
    });
    storage::ExpungeRequest e;
    e.mailbox = inbox_;
    e.uids = expunged;
    e.require_deleted = false;
    Wait([&](bool* done) {
      store_->Expunge(e, [done](Result<std::vector<storage::Uid>> r) {
        if (!r.ok()) abort();
        *done = true;
      });
    });
    ctx_.store = store_.get();
    ctx_.config = &config_;
    ctx_.registry = &registry_;
    ctx_.throttle = &throttle_;
    ctx_.timer = timers_.Fn();
  }
  ~Fixture() {
    store_->Flush();
    ex_.RunPending();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Runs one client session through `commands` (tags a, b, c, ...) and
  // returns the bytes the server wrote.
  std::size_t Session(const std::vector<std::string>& commands) {
    protocols::ConnectionInfo info;
    info.peer_ip = "127.0.0.1";
    info.loopback = true;
    testing::FakeOutput out;
    auto session = MakeSession(ctx_, info, out);
    session->Start();
    std::size_t bytes = 0;
    char tag = 'a';
    for (const std::string& c : commands) {
      std::string t(1, tag++);
      session->OnInput(t + " " + c + "\r\n");
      for (int spins = 0;; ++spins) {
        const std::string& w = out.written();
        if (w.starts_with(t + " ") || w.find("\r\n" + t + " ") != std::string::npos) break;
        if (spins > 100000) abort();
        ex_.WaitAndRun(10);
        timers_.Advance(std::chrono::milliseconds(0));
      }
      if (out.written().find("\r\n" + t + " OK") == std::string::npos &&
          !out.written().starts_with(t + " OK")) {
        abort();
      }
      bytes += out.Take().size();
    }
    session->OnClosed();
    session.reset();
    ex_.RunPending();
    return bytes;
  }

  std::string QresyncSelect() const {
    return "SELECT INBOX (QRESYNC (" + std::to_string(uidvalidity_) + " " +
           std::to_string(known_modseq_) + "))";
  }

 private:
  void Wait(const std::function<void(bool*)>& start) {
    bool done = false;
    start(&done);
    while (!done) ex_.WaitAndRun(100);
  }
  void Append(int first, int n) {
    int left = n;
    for (int i = 0; i < n; ++i) {
      storage::AppendRequest req;
      req.user = user_;
      req.bytes = std::make_shared<const std::string>(MakeMessage(first + i));
      if ((first + i) % 3 == 0) req.flags.system = storage::kFlagSeen;
      req.origin.protocol = "bench";
      store_->Append(std::move(req), [&left](Result<storage::AppendResult> r) {
        if (!r.ok()) abort();
        --left;
      });
    }
    while (left > 0) ex_.WaitAndRun(100);
  }

  std::string dir_;
  storage::ManualExecutor ex_;
  std::unique_ptr<storage::Store> store_;
  storage::UserId user_ = 0;
  storage::MailboxId inbox_ = 0;
  std::uint32_t uidvalidity_ = 0;
  storage::ModSeq known_modseq_ = 0;
  config::Config config_;
  protocols::SessionRegistry registry_;
  protocols::AuthThrottle throttle_;
  testing::FakeTimers timers_;
  protocols::SessionContext ctx_;
};

Fixture& Shared() {
  static Fixture* f = new Fixture();
  return *f;
}

void BM_ResyncQresync(benchmark::State& state) {
  Fixture& f = Shared();
  std::size_t bytes = 0;
  for (auto _ : state) {
    bytes = f.Session({"LOGIN bench bench", "ENABLE QRESYNC", f.QresyncSelect(), "LOGOUT"});
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_ResyncQresync)->Unit(benchmark::kMillisecond);

void BM_ResyncFullFetch(benchmark::State& state) {
  Fixture& f = Shared();
  std::size_t bytes = 0;
  for (auto _ : state) {
    bytes = f.Session({"LOGIN bench bench", "SELECT INBOX", "FETCH 1:* FLAGS", "LOGOUT"});
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_ResyncFullFetch)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pillarbox::imap

BENCHMARK_MAIN();
