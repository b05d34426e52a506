// Tests with a second process on the same store (LMDB allows one
// environment per path per process, so the other side is a child process):
// external-change detection, map growth by another process, and the crash
// test (a child killed with SIGKILL mid-write; nothing acknowledged lost).
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <sstream>

#include "protocols/analyzer.h"
#include "storage/store.h"
#include "tests/support/test_support.h"

namespace pillarbox::storage {
namespace {

using pillarbox::testing::StoreFixture;
using pillarbox::testing::TempDir;

// Child-side helpers: no gtest assertions (they would report in the wrong
// process); failures exit with a nonzero code.
std::unique_ptr<Store> OpenChildStore(const std::string& dir, ManualExecutor& ex) {
  StoreOptions o;
  o.dir = dir;
  o.post = ex.Poster();
  o.analyzer = protocols::MakeMessageAnalyzer();
  o.initial_map_size = 1u << 20;
  auto s = Store::Open(std::move(o));
  if (!s.ok()) _exit(10);
  return std::move(*s);
}

bool WriteAll(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    ssize_t n = write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

// Runs DISABLED_Child.<name> of this test binary in a new process (spawned,
// not forked: a fork while the parent's store threads run would copy their
// locks, e.g. the allocator's, in whatever state they are) with the store
// directory in PILLARBOX_CHILD_STORE. Returns its exit status.
int RunChild(const std::string& name, const std::string& dir) {
  std::string exe = "/proc/self/exe";
  std::string filter = "--gtest_filter=DISABLED_Child." + name;
  std::string disabled = "--gtest_also_run_disabled_tests";
  std::vector<char*> argv = {exe.data(), filter.data(), disabled.data(), nullptr};
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  env.push_back("PILLARBOX_CHILD_STORE=" + dir);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid;
  if (posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv.data(), envp.data()) != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The child sides. They run only when spawned by RunChild.
TEST(DISABLED_Child, AppendLargeMessage) {
  const char* dir = getenv("PILLARBOX_CHILD_STORE");
  if (dir == nullptr) GTEST_SKIP() << "runs only as a child process";
  ManualExecutor ex;
  auto store = OpenChildStore(dir, ex);
  auto user = store->Read()->FindUser("EXT");
  if (!user.ok()) _exit(11);
  AppendRequest req;
  req.user = user->id;
  // Big enough that the map must grow beyond the parent's 1 MiB.
  req.bytes = std::make_shared<const std::string>("Subject: other process\r\n\r\n" +
                                                  std::string(3u << 20, 'o') + "\r\n");
  bool ok = false, done = false;
  store->Append(req, [&](Result<AppendResult> r) {
    ok = r.ok();
    done = true;
  });
  while (!done) ex.WaitAndRun(100);
  store.reset();
  _exit(ok ? 0 : 12);
}

TEST(DISABLED_Child, RegisterLiveSessionAndExit) {
  const char* dir = getenv("PILLARBOX_CHILD_STORE");
  if (dir == nullptr) GTEST_SKIP() << "runs only as a child process";
  ManualExecutor ex;
  auto store = OpenChildStore(dir, ex);
  ReadView::LiveSession s;
  s.id = 1;
  s.protocol = "imap";
  store->RegisterLiveSession(s);
  store->Flush();
  // Seen by the other process while we live; then exit without unregistering.
  _exit(store->Read()->LiveSessions(0).size() == 1 ? 0 : 13);
}

TEST(DISABLED_Child, DeleteUserExt) {
  const char* dir = getenv("PILLARBOX_CHILD_STORE");
  if (dir == nullptr) GTEST_SKIP() << "runs only as a child process";
  ManualExecutor ex;
  auto store = OpenChildStore(dir, ex);
  bool ok = false;
  store->DeleteUser("ext", [&](Status s) { ok = s.ok(); });
  store->Flush();
  ex.RunPending();
  _exit(ok ? 0 : 14);
}

// `pillarbox user del` runs in another process: the server's sessions of
// that user hear of it at the next poll.
TEST(ExternalChangesTest, AUserDeletedByAnotherProcessIsTold) {
  StoreFixture f([](StoreOptions& o) { o.initial_map_size = 1u << 20; });
  auto ext = f.AddUser("ext", "pw");
  auto other = f.AddUser("other", "pw");
  MailboxId inbox = f.store().Read()->FindMailbox(ext.id, "INBOX")->id;
  std::vector<std::string> events;
  f.store().WatchUser(ext.id, [&](UserId) { events.push_back("ext deleted"); });
  f.store().WatchUser(other.id, [&](UserId) { events.push_back("other deleted"); });
  f.store().Subscribe(inbox, [&](MailboxId) { events.push_back("inbox changed"); });

  ASSERT_EQ(RunChild("DeleteUserExt", f.dir() + "/store"), 0);

  f.store().PollExternalChanges();
  // The user first, then its mailboxes.
  EXPECT_EQ(events, (std::vector<std::string>{"ext deleted", "inbox changed"}));
  f.store().PollExternalChanges();
  f.Deliver(other.id, "Subject: x\r\n\r\nx\r\n");
  f.RunPending();
  EXPECT_EQ(events.size(), 2u);  // a watch fires once
}

TEST(ExternalChangesTest, CommitsOfAnotherProcessArePublished) {
  StoreFixture f([](StoreOptions& o) { o.initial_map_size = 1u << 20; });
  auto u = f.AddUser("ext", "pw");
  MailboxId inbox = f.store().Read()->FindMailbox(u.id, "INBOX")->id;
  MailboxId trash = f.store().Read()->FindMailbox(u.id, "Trash")->id;
  int calls = 0, trash_calls = 0;
  f.store().Subscribe(inbox, [&](MailboxId) { ++calls; });
  f.store().Subscribe(trash, [&](MailboxId) { ++trash_calls; });
  f.store().PollExternalChanges();
  EXPECT_EQ(calls, 0);
  f.Deliver(u.id, "Subject: own\r\n\r\nx\r\n");
  f.RunPending();
  EXPECT_EQ(calls, 1);
  f.store().PollExternalChanges();  // our own commit is not external
  EXPECT_EQ(calls, 1);

  ASSERT_EQ(RunChild("AppendLargeMessage", f.dir() + "/store"), 0);

  f.store().PollExternalChanges();
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(trash_calls, 0);  // untouched mailboxes are not published
  f.store().PollExternalChanges();
  EXPECT_EQ(calls, 2);
  {
    // Reading adopts the map size the other process grew.
    auto view = f.store().Read();
    auto mb = view->GetMailbox(inbox);
    ASSERT_TRUE(mb.ok()) << mb.status().ToString();
    EXPECT_EQ(mb->messages, 2u);
    auto msg = view->GetMessage(inbox, 2);
    ASSERT_TRUE(msg.ok());
    EXPECT_EQ(view->Blob(msg->blob)->size(), msg->size);
  }
  // And so does our writer.
  auto r = f.Deliver(u.id, "Subject: after\r\n\r\ny\r\n");
  EXPECT_EQ(r.uid, 3u);
  f.RunPending();
  EXPECT_EQ(calls, 3);
  EXPECT_TRUE(f.store().CheckConsistency().ok());
}

TEST(ExternalChangesTest, LiveSessionsOfADeadProcessAreNotListed) {
  StoreFixture f;
  ASSERT_EQ(RunChild("RegisterLiveSessionAndExit", f.dir() + "/store"), 0);
  // The child exited without unregistering: its row is stale.
  EXPECT_TRUE(f.store().Read()->LiveSessions(0).empty());
}

// The child: delivers in a loop, a few at a time (group commit), and
// writes "uid counter\n" for each acknowledged delivery to `fd`.
[[noreturn]] void DeliveryChild(const std::string& dir, int fd, int base) {
  ManualExecutor ex;
  auto store = OpenChildStore(dir, ex);
  auto user = store->Read()->FindUser("crash");
  if (!user.ok()) _exit(11);
  auto start = std::chrono::steady_clock::now();
  int counter = base;
  std::mt19937 rng(static_cast<unsigned>(base));
  while (std::chrono::steady_clock::now() - start < std::chrono::seconds(20)) {
    int pending = 0;
    std::string acks;
    for (int i = 0; i < 4; ++i) {
      int n = counter++;
      AppendRequest req;
      req.user = user->id;
      req.bytes = std::make_shared<const std::string>(
          "Subject: crash " + std::to_string(n) + "\r\n\r\ncounter " + std::to_string(n) + "\r\n" +
          std::string(rng() % 20000, 'c') + "\r\n");
      ++pending;
      store->Append(req, [&, n](Result<AppendResult> r) {
        --pending;
        if (!r.ok()) _exit(14);
        acks += std::to_string(r->uid) + " " + std::to_string(n) + "\n";
      });
    }
    // Some flag traffic on what is there.
    StoreFlagsRequest flags;
    flags.mailbox = store->Read()->FindMailbox(user->id, "INBOX")->id;
    flags.uids = {static_cast<Uid>(1 + rng() % 50), static_cast<Uid>(1 + rng() % 50)};
    flags.flags.system = kFlagSeen;
    flags.op = rng() % 2 ? FlagOp::kAdd : FlagOp::kRemove;
    store->StoreFlags(flags, nullptr);
    while (pending > 0) ex.WaitAndRun(100);
    if (!WriteAll(fd, acks)) _exit(15);
  }
  _exit(0);
}

TEST(CrashTest, AcknowledgedDeliveriesSurviveSigkill) {
  TempDir tmp;
  std::string dir = tmp.path() + "/store";
  {
    ManualExecutor ex;
    auto store = OpenChildStore(dir, ex);
    bool done = false;
    store->CreateUser("crash", "{PLAIN}pw", [&](Result<UserRecord> r) {
      EXPECT_TRUE(r.ok());
      done = true;
    });
    while (!done) ex.WaitAndRun(100);
  }
  std::mt19937 rng(20240611);
  std::map<Uid, int> acked;  // uid -> counter in its body
  constexpr int kRounds = 16;
  for (int round = 0; round < kRounds; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      DeliveryChild(dir, fds[1], (round + 1) * 1000000);
    }
    close(fds[1]);
    std::string input;
    auto read_some = [&](int timeout_ms) {
      pollfd p{fds[0], POLLIN, 0};
      if (poll(&p, 1, timeout_ms) <= 0) return false;
      char buf[4096];
      ssize_t n = read(fds[0], buf, sizeof buf);
      if (n <= 0) return false;
      input.append(buf, static_cast<std::size_t>(n));
      return true;
    };
    // Wait for the first acknowledgement, then kill at a random moment.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (input.empty() && std::chrono::steady_clock::now() < deadline) read_some(100);
    ASSERT_FALSE(input.empty()) << "child never acknowledged a delivery";
    auto kill_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(rng() % 400);
    while (std::chrono::steady_clock::now() < kill_at) read_some(5);
    kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with " << WEXITSTATUS(status);
    while (read_some(0)) {
    }
    close(fds[0]);
    std::istringstream lines(input);
    Uid uid;
    int counter;
    int new_acks = 0;
    while (lines >> uid >> counter) {
      EXPECT_FALSE(acked.count(uid)) << "UID " << uid << " acknowledged twice";
      acked[uid] = counter;
      ++new_acks;
    }
    EXPECT_GT(new_acks, 0);

    ManualExecutor ex;
    StoreOptions o;
    o.dir = dir;
    o.post = ex.Poster();
    auto store = Store::Open(std::move(o));
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    Status s = (*store)->CheckConsistency();
    ASSERT_TRUE(s.ok()) << "round " << round << ": " << s.ToString();
    auto view = (*store)->Read();
    auto user = view->FindUser("crash");
    ASSERT_TRUE(user.ok());
    auto inbox = view->FindMailbox(user->id, "INBOX");
    ASSERT_TRUE(inbox.ok());
    for (const auto& [u, c] : acked) {
      auto msg = view->GetMessage(inbox->id, u);
      ASSERT_TRUE(msg.ok()) << "acknowledged UID " << u << " lost in round " << round;
      auto blob = view->Blob(msg->blob);
      ASSERT_TRUE(blob.ok());
      EXPECT_NE(blob->find("counter " + std::to_string(c) + "\r\n"), std::string_view::npos);
    }
    EXPECT_GT(inbox->uidnext, acked.rbegin()->first);
  }
}

}  // namespace
}  // namespace pillarbox::storage
