// Appends are prepared (spill file read, line endings normalized, SHA-256,
// analyzer) before they reach the writer, and one session's appends commit in
// the order they were submitted.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/spill_file.h"
#include "storage/store.h"
#include "tests/support/test_support.h"

namespace pillarbox::storage {
namespace {

using pillarbox::testing::StoreFixture;

std::string Msg(const std::string& subject, std::size_t body = 5) {
  return "From: a@example.com\r\nSubject: " + subject + "\r\n\r\n" + std::string(body, 'x') +
         "\r\n";
}

// An analyzer that holds every message whose subject line says "hold" until
// released, and counts its calls.
struct HoldingAnalyzer {
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
  int held = 0;
  std::atomic<int> calls{0};

  MessageAnalyzer Make() {
    return [this](std::string_view bytes) {
      ++calls;
      if (bytes.find("Subject: hold") != std::string_view::npos) {
        std::unique_lock lock(mu);
        ++held;
        cv.notify_all();
        cv.wait(lock, [&] { return released; });
      }
      AnalyzedMessage a;
      std::size_t at = bytes.find("Subject: ");
      a.subject = std::string(bytes.substr(at + 9, bytes.find("\r\n", at) - at - 9));
      a.structure = "analyzed";
      return a;
    };
  }
  void WaitHeld() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return held > 0; });
  }
  void Release() {
    {
      std::lock_guard lock(mu);
      released = true;
    }
    cv.notify_all();
  }
};

// Releases the analyzer when a test ends early, before the store joins its
// threads.
struct ReleaseAtEnd {
  HoldingAnalyzer& analyzer;
  ~ReleaseAtEnd() { analyzer.Release(); }
};

AppendRequest Request(UserId user, std::string bytes, std::uint64_t session) {
  AppendRequest req;
  req.user = user;
  req.bytes = std::make_shared<const std::string>(std::move(bytes));
  req.origin.protocol = "lmtp";
  req.origin.session = session;
  return req;
}

// The writer commits other sessions' messages while one message is still
// being analyzed: the analysis is not inside the write transaction, and the
// transaction gets the structure computed before.
TEST(PrepareTest, AnalysisRunsBeforeTheWriterAndDoesNotHoldItUp) {
  HoldingAnalyzer analyzer;
  StoreFixture f([&](StoreOptions& o) { o.analyzer = analyzer.Make(); });
  ReleaseAtEnd release{analyzer};
  auto u = f.AddUser("ana", "pw");
  const int before = analyzer.calls.load();
  std::optional<Result<AppendResult>> big, small;
  f.store().Append(Request(u.id, Msg("hold", 1 << 20), 1),
                   [&](Result<AppendResult> r) { big.emplace(std::move(r)); });
  analyzer.WaitHeld();
  f.store().Append(Request(u.id, Msg("quick"), 2),
                   [&](Result<AppendResult> r) { small.emplace(std::move(r)); });
  f.RunUntil([&] { return small.has_value(); });
  EXPECT_FALSE(big.has_value());
  ASSERT_TRUE(small->ok()) << small->status().ToString();
  EXPECT_EQ((*small)->uid, 1u);
  analyzer.Release();
  f.RunUntil([&] { return big.has_value(); });
  ASSERT_TRUE(big->ok()) << big->status().ToString();
  EXPECT_EQ((*big)->uid, 2u);
  EXPECT_EQ(analyzer.calls.load() - before, 2);
  auto view = f.store().Read();
  auto msgs = view->ListMessages((*big)->mailbox);
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(*view->Structure(msgs[1].blob), "analyzed");
  auto journal = view->Journal(u.id, 0, 10);
  ASSERT_GE(journal.size(), 2u);
  EXPECT_EQ(journal[journal.size() - 2].subject, "quick");
  EXPECT_EQ(journal.back().subject, "hold");
}

// One session's appends (IMAP MULTIAPPEND, LMTP recipients) keep their
// order however different their sizes and however long each takes to
// prepare.
TEST(PrepareTest, OneSessionsAppendsCommitInSubmissionOrder) {
  HoldingAnalyzer analyzer;
  StoreFixture f([&](StoreOptions& o) { o.analyzer = analyzer.Make(); });
  ReleaseAtEnd release{analyzer};
  auto u = f.AddUser("ana", "pw");
  std::vector<int> order;
  std::vector<Uid> uids(4);
  f.store().Append(Request(u.id, Msg("hold big", 3 << 20), 7), [&](Result<AppendResult> r) {
    ASSERT_TRUE(r.ok());
    order.push_back(0);
    uids[0] = r->uid;
  });
  analyzer.WaitHeld();
  for (int i = 1; i < 4; ++i) {
    f.store().Append(Request(u.id, Msg("small " + std::to_string(i), 10 * i), 7),
                     [&, i](Result<AppendResult> r) {
                       ASSERT_TRUE(r.ok());
                       order.push_back(i);
                       uids[i] = r->uid;
                     });
  }
  // The small ones are prepared long before the big one; none may commit.
  for (int i = 0; i < 20; ++i) f.executor().WaitAndRun(5);
  EXPECT_TRUE(order.empty());
  analyzer.Release();
  f.RunUntil([&] { return order.size() == 4; });
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(uids, (std::vector<Uid>{1, 2, 3, 4}));
}

// A spilled message (trace headers in memory, the rest in a file, with
// bare LFs and a CRLF split across read chunks) commits with the right
// bytes, and recipients sharing the file share one preparation.
TEST(PrepareTest, SpilledMessageCommitsWithTheRightBytes) {
  HoldingAnalyzer analyzer;
  StoreFixture f([&](StoreOptions& o) { o.analyzer = analyzer.Make(); });
  auto u1 = f.AddUser("ana", "pw");
  auto u2 = f.AddUser("bob", "pw");
  auto file = SpillFile::Create(f.dir() + "/tmp");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  std::string head = "Subject: spilled\n";
  std::string body = "To: x@example.com\r\n\r\n";
  std::string expect_body = body;
  // Lines ending at every offset around the 1 MiB read chunk.
  while (body.size() < (1u << 20) + 100) {
    body += std::string(77, 'y') + (body.size() % 3 == 0 ? "\n" : "\r\n");
  }
  body.resize((1u << 20) - 1);
  body += "\r\nlast line\n";
  ASSERT_TRUE((*file)->Append(body).ok());
  std::string expect = NormalizeLineEndings(head + body);
  const int before = analyzer.calls.load();
  std::shared_ptr<const SpillFile> spill = *file;
  auto headers = std::make_shared<const std::string>(head);
  std::vector<Result<AppendResult>> results;
  for (UserId user : {u1.id, u2.id}) {
    AppendRequest req;
    req.user = user;
    req.bytes = headers;
    req.spill = spill;
    req.origin.protocol = "lmtp";
    req.origin.session = 9;
    f.store().Append(std::move(req), [&](Result<AppendResult> r) { results.push_back(r); });
  }
  spill.reset();
  file->reset();
  f.RunUntil([&] { return results.size() == 2; });
  EXPECT_EQ(analyzer.calls.load() - before, 1);
  auto view = f.store().Read();
  for (auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->size, expect.size());
    auto msg = view->GetMessage(r->mailbox, r->uid);
    ASSERT_TRUE(msg.ok());
    auto blob = view->Blob(msg->blob);
    ASSERT_TRUE(blob.ok());
    EXPECT_TRUE(*blob == expect);
  }
  EXPECT_TRUE(f.store().CheckConsistency().ok());
}

TEST(PrepareTest, NormalizingInPiecesEqualsNormalizingAtOnce) {
  const std::string input = "a\rb\nc\r\nd\r\r\n\n\re\r";
  for (std::size_t cut1 = 0; cut1 <= input.size(); ++cut1) {
    for (std::size_t cut2 = cut1; cut2 <= input.size(); ++cut2) {
      std::string out;
      bool after_cr = false;
      AppendNormalized(std::string_view(input).substr(0, cut1), &after_cr, &out);
      AppendNormalized(std::string_view(input).substr(cut1, cut2 - cut1), &after_cr, &out);
      AppendNormalized(std::string_view(input).substr(cut2), &after_cr, &out);
      EXPECT_EQ(out, NormalizeLineEndings(input)) << cut1 << " " << cut2;
    }
  }
  EXPECT_TRUE(IsNormalized("a\r\nb\r\n"));
  EXPECT_TRUE(IsNormalized(""));
  EXPECT_FALSE(IsNormalized("a\nb"));
  EXPECT_FALSE(IsNormalized("a\rb"));
  EXPECT_FALSE(IsNormalized("a\r"));
  EXPECT_FALSE(IsNormalized("a\r\r\n"));
}

// SMTP's auto-created users: the hash is made on the password threads and
// posted back, never on the caller's thread.
TEST(PrepareTest, HashPasswordAsyncPostsAVerifiableHash) {
  StoreFixture f;
  std::optional<Result<std::string>> hash;
  f.store().HashPasswordAsync("devpass", [&](Result<std::string> r) { hash.emplace(r); });
  EXPECT_FALSE(hash.has_value());  // not computed inline
  f.RunUntil([&] { return hash.has_value(); });
  ASSERT_TRUE(hash->ok()) << hash->status().ToString();
  EXPECT_TRUE(VerifyPassword("devpass", **hash));
  EXPECT_FALSE(VerifyPassword("other", **hash));
}

}  // namespace
}  // namespace pillarbox::storage
