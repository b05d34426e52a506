#include "tests/fuzz/fuzz_support.h"

#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "protocols/analyzer.h"

namespace pillarbox::fuzz {

namespace {

// Set-up and settling wait for the store's threads at most this long; a
// longer wait is a hang (libFuzzer's -timeout would catch it too, later).
constexpr auto kMaxWait = std::chrono::seconds(20);
// Rounds of timers/drains per settle: a session that keeps re-arming a
// timer or producing output forever is a finding.
constexpr int kMaxSettleRounds = 100000;
// Bytes of output kept for checks.
constexpr std::size_t kMaxKeptOutput = 1 << 20;
// Minutes of fake time one Settle lets pass at most.
constexpr int kMaxTimerMinutes = 16;

// Where the store goes: tmpfs when there is one (commits fsync).
std::string MakeStoreDir() {
  std::string base = "/tmp";
  if (access("/dev/shm", W_OK) == 0) base = "/dev/shm";
  std::string templ = base + "/pillarbox-fuzz-XXXXXX";
  Check(mkdtemp(templ.data()) != nullptr, "mkdtemp failed");
  return templ;
}

}  // namespace

void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz check failed: %s\n", what);
  std::abort();
}

void CheckCrlfOnly(std::string_view out) {
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '\r') Check(i + 1 < out.size() && out[i + 1] == '\n', "bare CR in the output");
    if (out[i] == '\n') Check(i > 0 && out[i - 1] == '\r', "bare LF in the output");
  }
}

// --- CountingStore -------------------------------------------------------------

template <typename Fn>
Fn CountingStore::Track(Fn done, bool mutation) {
  ++pending_;
  if (mutation) mutated_ = true;
  return [this, done = std::move(done)](auto result) {
    --pending_;
    done(std::move(result));
  };
}

void CountingStore::CreateUser(std::string name, std::string hash,
                               storage::Callback<storage::UserRecord> done) {
  inner_->CreateUser(std::move(name), std::move(hash), Track(std::move(done), true));
}
void CountingStore::SetPassword(std::string name, std::string hash, storage::StatusCallback done) {
  inner_->SetPassword(std::move(name), std::move(hash), Track(std::move(done), true));
}
void CountingStore::DeleteUser(std::string name, storage::StatusCallback done) {
  inner_->DeleteUser(std::move(name), Track(std::move(done), true));
}
void CountingStore::SetUserSetting(std::string name, std::string key, std::string value,
                                   storage::StatusCallback done) {
  inner_->SetUserSetting(std::move(name), std::move(key), std::move(value),
                         Track(std::move(done), true));
}
void CountingStore::SetQuota(std::string name, std::uint64_t bytes, std::uint64_t messages,
                             storage::StatusCallback done) {
  inner_->SetQuota(std::move(name), bytes, messages, Track(std::move(done), true));
}
void CountingStore::Authenticate(std::string name, std::string password, std::string client,
                                 storage::Callback<storage::UserRecord> done) {
  inner_->Authenticate(std::move(name), std::move(password), std::move(client),
                       Track(std::move(done), false));
}
void CountingStore::HashPasswordAsync(std::string password, storage::Callback<std::string> done) {
  inner_->HashPasswordAsync(std::move(password), Track(std::move(done), false));
}
void CountingStore::CreateMailbox(storage::UserId user, std::string name, storage::SpecialUse use,
                                  storage::Callback<storage::MailboxRecord> done) {
  inner_->CreateMailbox(user, std::move(name), use, Track(std::move(done), true));
}
void CountingStore::DeleteMailbox(storage::UserId user, std::string name, storage::Origin origin,
                                  storage::StatusCallback done) {
  inner_->DeleteMailbox(user, std::move(name), std::move(origin), Track(std::move(done), true));
}
void CountingStore::RenameMailbox(storage::UserId user, std::string from, std::string to,
                                  storage::Origin origin, storage::StatusCallback done) {
  inner_->RenameMailbox(user, std::move(from), std::move(to), std::move(origin),
                        Track(std::move(done), true));
}
void CountingStore::SetSubscribed(storage::UserId user, std::string name, bool subscribed,
                                  storage::StatusCallback done) {
  inner_->SetSubscribed(user, std::move(name), subscribed, Track(std::move(done), true));
}
void CountingStore::SetMailboxRetention(storage::UserId user, std::string name, std::int64_t days,
                                        storage::StatusCallback done) {
  inner_->SetMailboxRetention(user, std::move(name), days, Track(std::move(done), true));
}
void CountingStore::SetMailboxUidState(storage::UserId user, std::string name,
                                       std::uint32_t uidvalidity, storage::Uid uidnext,
                                       storage::ModSeq min_highest_modseq,
                                       storage::StatusCallback done) {
  inner_->SetMailboxUidState(user, std::move(name), uidvalidity, uidnext, min_highest_modseq,
                             Track(std::move(done), true));
}
void CountingStore::Append(storage::AppendRequest request,
                           storage::Callback<storage::AppendResult> done) {
  inner_->Append(std::move(request), Track(std::move(done), true));
}
void CountingStore::AppendMany(std::vector<storage::AppendRequest> requests,
                               storage::Callback<std::vector<storage::AppendResult>> done) {
  inner_->AppendMany(std::move(requests), Track(std::move(done), true));
}
void CountingStore::StoreFlags(storage::StoreFlagsRequest request,
                               storage::Callback<storage::StoreFlagsResult> done) {
  inner_->StoreFlags(std::move(request), Track(std::move(done), true));
}
void CountingStore::Copy(storage::CopyRequest request,
                         storage::Callback<storage::CopyResult> done) {
  inner_->Copy(std::move(request), Track(std::move(done), true));
}
void CountingStore::Expunge(storage::ExpungeRequest request,
                            storage::Callback<std::vector<storage::Uid>> done) {
  inner_->Expunge(std::move(request), Track(std::move(done), true));
}
void CountingStore::MarkPop3Retrieved(storage::MailboxId mailbox, storage::Uid uid, bool set_seen,
                                      storage::Origin origin, std::string detail,
                                      storage::StatusCallback done) {
  inner_->MarkPop3Retrieved(mailbox, uid, set_seen, std::move(origin), std::move(detail),
                            Track(std::move(done), true));
}
void CountingStore::UnhidePop3(storage::UserId user, std::optional<std::vector<storage::Uid>> uids,
                               storage::Origin origin,
                               storage::Callback<std::vector<storage::Uid>> done) {
  inner_->UnhidePop3(user, std::move(uids), std::move(origin), Track(std::move(done), true));
}
void CountingStore::Pop3Commit(storage::Pop3CommitRequest request,
                               storage::Callback<storage::Pop3CommitResult> done) {
  inner_->Pop3Commit(std::move(request), Track(std::move(done), true));
}
void CountingStore::RecordJournal(storage::UserId user, storage::JournalEvent event,
                                  storage::StatusCallback done) {
  inner_->RecordJournal(user, std::move(event), Track(std::move(done), true));
}
void CountingStore::SweepRetention(std::vector<storage::RetentionRule> rules, storage::UnixTime now,
                                   storage::StatusCallback done) {
  inner_->SweepRetention(std::move(rules), now, Track(std::move(done), true));
}

// --- FuzzStore -----------------------------------------------------------------

FuzzStore::FuzzStore() {
  spdlog::set_level(spdlog::level::off);
  std::string dir = MakeStoreDir();
  storage::StoreOptions options;
  options.dir = dir + "/store";
  options.post = executor_.Poster();
  options.analyzer = protocols::MakeMessageAnalyzer();
  options.auth_threads = 1;
  auto opened = storage::Store::Open(std::move(options));
  if (!opened.ok()) std::fprintf(stderr, "Store::Open: %s\n", opened.status().ToString().c_str());
  Check(opened.ok(), "cannot open the store");
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  store_ = std::make_unique<CountingStore>(std::move(opened.value()));
}

void FuzzStore::Wait() {
  auto deadline = std::chrono::steady_clock::now() + kMaxWait;
  executor_.RunPending();
  while (store_->pending() > 0) {
    Check(std::chrono::steady_clock::now() < deadline, "a store operation never completed");
    executor_.WaitAndRun(50);
  }
}

storage::UserRecord FuzzStore::AddUser(const std::string& name, const std::string& password) {
  return AddUsers({{name, password}}).front();
}

std::vector<storage::UserRecord> FuzzStore::AddUsers(
    const std::vector<std::pair<std::string, std::string>>& users) {
  std::vector<std::optional<Result<storage::UserRecord>>> out(users.size());
  for (std::size_t i = 0; i < users.size(); ++i) {
    store_->CreateUser(users[i].first, "{PLAIN}" + users[i].second,
                       [&out, i](Result<storage::UserRecord> r) { out[i].emplace(std::move(r)); });
  }
  Wait();
  std::vector<storage::UserRecord> records;
  for (auto& r : out) {
    Check(r && r->ok(), "CreateUser failed");
    records.push_back(**r);
  }
  return records;
}

void FuzzStore::Deliver(storage::UserId user, const std::vector<std::string>& messages) {
  std::size_t ok = 0;
  for (const auto& bytes : messages) {
    storage::AppendRequest req;
    req.user = user;
    req.mailbox = "INBOX";
    req.bytes = std::make_shared<const std::string>(bytes);
    req.origin.protocol = "test";
    store_->Append(std::move(req), [&ok](Result<storage::AppendResult> r) { ok += r.ok(); });
  }
  Wait();
  Check(ok == messages.size(), "Append failed");
}

void FuzzStore::SetQuota(const std::string& name, std::uint64_t bytes) {
  bool ok = false;
  store_->SetQuota(name, bytes, 0, [&](Status s) { ok = s.ok(); });
  Wait();
  Check(ok, "SetQuota failed");
}

void FuzzStore::DeleteAllUsers() {
  std::vector<std::string> names;
  {
    auto view = store_->Read();
    for (const auto& u : view->ListUsers()) names.push_back(u.name);
  }
  bool ok = true;
  for (const auto& name : names) {
    store_->DeleteUser(name, [&](Status s) { ok = ok && s.ok(); });
  }
  Wait();
  Check(ok, "DeleteUser failed");
}

void FuzzStore::CheckConsistency() {
  Status s = store_->CheckConsistency();
  if (!s.ok()) std::fprintf(stderr, "CheckConsistency: %s\n", s.ToString().c_str());
  Check(s.ok(), "the store is inconsistent");
}

// --- FuzzOutput ----------------------------------------------------------------

void FuzzOutput::Write(std::string bytes) {
  Check(!session_closed_, "the session wrote after OnClosed()");
  if (slow) queued_ += bytes.size();
  if (written.size() < kMaxKeptOutput) written += bytes;
}

// --- SessionDriver -------------------------------------------------------------

void SessionDriver::Settle(protocols::Session& session) {
  auto deadline = std::chrono::steady_clock::now() + kMaxWait;
  int timer_minutes = 0;
  for (int round = 0;; ++round) {
    Check(round < kMaxSettleRounds, "the session never settles");
    store_.executor().RunPending();
    if (store_.store().pending() > 0) {
      Check(std::chrono::steady_clock::now() < deadline, "a store operation never completed");
      store_.executor().WaitAndRun(50);
      continue;
    }
    if (out_.session_closed_) return;
    if (out_.tls_requested_ && !out_.closed_) {
      // The handshake succeeds at once (the transport is not under test).
      out_.tls_requested_ = false;
      info_.tls_active = true;
      session.OnTlsEstablished();
      continue;
    }
    if (out_.queued_ > 0 && !out_.closed_) {
      out_.queued_ = 0;
      session.OnDrained();
      continue;
    }
    // Timers fire a few minutes' worth; a periodic one (the IMAP IDLE
    // keepalive) is still pending after that, and rightly so.
    if (timers_.pending() > 0 && timer_minutes++ < kMaxTimerMinutes) {
      timers_.Advance(std::chrono::minutes(1));
      continue;
    }
    return;
  }
}

void SessionDriver::Run(protocols::Session& session, std::string_view input,
                        std::uint8_t split_seed, Ending ending) {
  session.Start();
  Settle(session);
  // Piece sizes from a small deterministic generator: mostly short pieces
  // (partial lines), sometimes long ones (pipelined commands).
  std::uint32_t state = 0x9e3779b9u ^ split_seed;
  std::size_t pos = 0;
  while (pos < input.size() && !out_.closed_) {
    // A paused session gets no input until it resumes; after settling it
    // must have resumed, or it would wait forever.
    Check(!out_.paused_, "input paused with nothing left to wait for");
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    std::size_t n = (state & 3) == 0 ? 1 + (state >> 8) % 4096 : 1 + (state >> 8) % 24;
    if (split_seed == 0) n = input.size();
    n = std::min(n, input.size() - pos);
    session.OnInput(input.substr(pos, n));
    pos += n;
    Settle(session);
  }
  if (!out_.closed_) {
    switch (ending) {
      case Ending::kDrop:
        break;
      case Ending::kIdleTimeout:
        session.OnIdleTimeout();
        break;
      case Ending::kShutdown:
        session.OnShutdown();
        break;
    }
    Settle(session);
  }
  out_.session_closed_ = true;
  session.OnClosed();
  Settle(session);
  // To see what a seed reaches: PILLARBOX_FUZZ_TRANSCRIPT=1 ./target seed
  if (getenv("PILLARBOX_FUZZ_TRANSCRIPT") != nullptr) {
    std::fprintf(stderr, "--- server wrote:\n%s\n--- end\n", out_.written.c_str());
  }
}

}  // namespace pillarbox::fuzz
