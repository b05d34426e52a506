#include "tests/support/test_support.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "protocols/analyzer.h"

namespace pillarbox::testing {

TempDir::TempDir() {
  const char* base = getenv("TMPDIR");
  std::string templ = std::string(base && *base ? base : "/tmp") + "/pillarbox-test-XXXXXX";
  char* made = mkdtemp(templ.data());
  if (made == nullptr) {
    ADD_FAILURE() << "mkdtemp failed";
  }
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

StoreFixture::StoreFixture(std::function<void(storage::StoreOptions&)> adjust)
    : adjust_(std::move(adjust)) {
  Open();
}

StoreFixture::~StoreFixture() {
  if (store_) {
    store_->Flush();
    executor_.RunPending();
    store_.reset();
  }
}

void StoreFixture::Open() {
  storage::StoreOptions options;
  options.dir = dir_.path() + "/store";
  options.post = executor_.Poster();
  options.analyzer = protocols::MakeMessageAnalyzer();
  options.auth_threads = 1;
  if (adjust_) adjust_(options);
  auto opened = storage::Store::Open(std::move(options));
  if (!opened.ok()) {
    ADD_FAILURE() << "Store::Open: " << opened.status().ToString();
    return;
  }
  store_ = std::move(opened.value());
}

void StoreFixture::Reopen() {
  Close();
  Open();
}

void StoreFixture::Close() {
  if (!store_) return;
  store_->Flush();
  executor_.RunPending();
  store_.reset();
}

void StoreFixture::RunPending() { executor_.RunPending(); }

void StoreFixture::RunUntil(const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  executor_.RunPending();
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "timed out waiting for a store completion";
      return;
    }
    executor_.WaitAndRun(50);
  }
}

Status StoreFixture::WaitStatus(const std::function<void(storage::StatusCallback)>& submit) {
  std::optional<Status> out;
  submit([&](Status s) { out.emplace(std::move(s)); });
  RunUntil([&] { return out.has_value(); });
  return out.value_or(Status::Internal("no completion"));
}

storage::UserRecord StoreFixture::AddUser(const std::string& name, const std::string& password) {
  auto hash = storage::HashPassword(password);
  EXPECT_TRUE(hash.ok()) << hash.status().ToString();
  if (!hash.ok()) return {};
  auto r = Wait<storage::UserRecord>(
      [&](storage::Callback<storage::UserRecord> cb) { store_->CreateUser(name, *hash, cb); });
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : storage::UserRecord{};
}

storage::AppendResult StoreFixture::Deliver(storage::UserId user, const std::string& bytes,
                                            const std::string& mailbox, storage::Flags flags) {
  storage::AppendRequest req;
  req.user = user;
  req.mailbox = mailbox;
  req.bytes = std::make_shared<const std::string>(bytes);
  req.flags = std::move(flags);
  req.origin.protocol = "test";
  auto r = Wait<storage::AppendResult>(
      [&](storage::Callback<storage::AppendResult> cb) { store_->Append(req, cb); });
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : storage::AppendResult{};
}

protocols::TimerFn FakeTimers::Fn() {
  return [this](std::chrono::milliseconds delay, std::function<void()> fn) {
    timers_.push_back({now_ + delay, std::move(fn)});
  };
}

void FakeTimers::Advance(std::chrono::milliseconds ms) {
  auto target = now_ + ms;
  for (;;) {
    auto it = std::min_element(timers_.begin(), timers_.end(),
                               [](const Timer& a, const Timer& b) { return a.due < b.due; });
    if (it == timers_.end() || it->due > target) break;
    now_ = it->due;
    auto fn = std::move(it->fn);
    timers_.erase(it);
    fn();
  }
  now_ = target;
}

}  // namespace pillarbox::testing
