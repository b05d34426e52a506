// Test doubles for the connection state machine: a fake stream, a host that
// runs ticks on demand, and an echo session.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "protocols/session.h"
#include "server/connection.h"

namespace pillarbox::server::testing {

class FakeIo : public StreamIo {
 public:
  void StartReading() override {
    reading = true;
    ++start_calls;
  }
  void StopReading() override { reading = false; }
  void Write(std::string bytes) override { in_flight.push_back(std::move(bytes)); }
  void Shutdown() override { shutdown = true; }
  void Close() override {
    EXPECT_FALSE(closed) << "StreamIo::Close called twice";
    closed = true;
  }

  bool reading = false;
  int start_calls = 0;
  std::deque<std::string> in_flight;
  bool shutdown = false;
  bool closed = false;
};

class FakeHost : public ConnectionHost {
 public:
  void ScheduleTick(Connection* conn) override {
    for (Connection* c : scheduled) {
      if (c == conn) return;
    }
    scheduled.push_back(conn);
  }
  void OnConnectionClosed(Connection*) override { ++closed; }

  // Runs one round of ticks. Returns whether any ran.
  bool Tick() {
    if (scheduled.empty()) return false;
    auto now = std::move(scheduled);
    scheduled.clear();
    for (Connection* c : now) c->OnTick();
    return true;
  }

  std::vector<Connection*> scheduled;
  int closed = 0;
};

// Lines: "LOGIN" makes it Authenticated(); "CLOSE" says BYE and closes; "STARTTLS" answers and
// starts TLS; "COMPRESS" answers and starts DEFLATE; "PAUSE"/"RESUME"; "BIG n" writes n bytes with
// backpressure; anything else is echoed as "ECHO <line>".
class EchoSession : public protocols::Session {
 public:
  struct Record {
    std::vector<std::size_t> chunks;  // sizes given to OnInput
    std::string input;                // everything given to OnInput
    int drained = 0;
    int tls_established = 0;
    int idle = 0;
    int login_timeout = 0;
    int shutdown = 0;
    int closed = 0;
    bool started = false;
    bool compressed = false;  // StartCompression() succeeded
  };

  EchoSession(protocols::SessionOutput& out, std::shared_ptr<Record> rec,
              std::size_t high_water = 256 * 1024)
      : out_(out), rec_(std::move(rec)), high_water_(high_water) {}

  void Start() override {
    rec_->started = true;
    out_.Write("* OK hello\r\n");
  }
  void OnInput(std::string_view data) override {
    rec_->chunks.push_back(data.size());
    rec_->input.append(data);
    if (waiting_tls_) return;  // plaintext after STARTTLS: ignored
    buf_.append(data);
    std::size_t nl;
    while (!waiting_tls_ && (nl = buf_.find("\r\n")) != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 2);
      Handle(line);
    }
  }
  void OnDrained() override {
    rec_->drained++;
    Produce();
  }
  void OnTlsEstablished() override {
    rec_->tls_established++;
    waiting_tls_ = false;
    buf_.clear();
  }
  void OnIdleTimeout() override {
    rec_->idle++;
    out_.Write("BYE idle\r\n");
    out_.Close();
  }
  void OnLoginTimeout() override {
    rec_->login_timeout++;
    out_.Write("BYE login timeout\r\n");
    out_.Close();
  }
  void OnShutdown() override {
    rec_->shutdown++;
    out_.Write("BYE shutdown\r\n");
    out_.Close();
  }
  void OnClosed() override { rec_->closed++; }
  std::chrono::seconds IdleTimeout() const override { return std::chrono::seconds(60); }
  bool Authenticated() const override { return authenticated_; }
  std::uint64_t id() const override { return 7; }

 private:
  void Handle(const std::string& line) {
    if (line == "LOGIN") {
      authenticated_ = true;
      out_.Write("OK logged in\r\n");
    } else if (line == "CLOSE") {
      out_.Write("BYE\r\n");
      out_.Close();
    } else if (line == "STARTTLS") {
      out_.Write("OK begin TLS\r\n");
      out_.StartTls();
      waiting_tls_ = true;
      buf_.clear();
    } else if (line == "COMPRESS") {
      out_.Write("OK compress\r\n");
      rec_->compressed = out_.StartCompression();
      buf_.clear();  // nothing after the command is plaintext
    } else if (line == "PAUSE") {
      out_.PauseInput();
    } else if (line.rfind("BIG ", 0) == 0) {
      big_left_ = std::stoul(line.substr(4));
      Produce();
    } else {
      out_.Write("ECHO " + line + "\r\n");
    }
  }
  void Produce() {
    while (big_left_ > 0 && out_.QueuedBytes() < high_water_) {
      std::size_t n = std::min<std::size_t>(big_left_, 10000);
      out_.Write(std::string(n, 'x'));
      big_left_ -= n;
    }
  }

  protocols::SessionOutput& out_;
  std::shared_ptr<Record> rec_;
  std::size_t high_water_;
  std::string buf_;
  bool waiting_tls_ = false;
  bool authenticated_ = false;
  std::size_t big_left_ = 0;
};

}  // namespace pillarbox::server::testing
