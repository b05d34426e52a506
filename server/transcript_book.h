// Recorded protocol transcripts for client developers ([dev] transcripts,
// README.md "Pillarbox as a test server"): every line of every IMAP, POP3,
// LMTP and SMTP session, redacted by server::Transcript, with a timestamp
// and a direction ("C" client, "S" server, "!" a note such as a fault that
// fired). Kept for live sessions and the last `closed_kept` closed ones;
// served by GET /api/v1/sessions/{id}/transcript and, with `dir` set,
// appended to DIR/<session>-<protocol>.log by a background thread (the loop
// thread never writes files).
//
// Thread: the loop thread, except the file writer's own thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/mutex.h"

namespace pillarbox::server {

class TranscriptBook {
 public:
  struct Options {
    std::size_t closed_kept = 50;
    // Lines kept per session; older ones are dropped (and counted).
    std::size_t max_bytes_per_session = 1u << 20;
    std::string dir;  // empty: no files
  };
  struct Summary {
    std::uint64_t session = 0;
    std::string protocol;
    std::string peer;
    std::string started;  // ISO time
    bool live = false;
    std::size_t lines = 0;
  };

  // The process-wide book, disabled until Configure().
  static TranscriptBook& Global();

  void Configure(Options options);
  // Stops recording, forgets everything, stops the file writer (server end).
  void Disable();
  bool enabled() const { return enabled_; }

  void Open(std::uint64_t session, std::string protocol, std::string peer);
  // `direction`: 'C', 'S' or '!'. Ignored for a session not opened.
  void Add(std::uint64_t session, char direction, std::string_view line);
  void Close(std::uint64_t session);

  // The transcript as text, one "TIME DIR: line" per line; nullopt when
  // the session is unknown (never recorded or long gone).
  std::optional<std::string> Text(std::uint64_t session) const;
  // Live sessions first, then closed ones, newest first.
  std::vector<Summary> List() const;

  ~TranscriptBook();

 private:
  struct Record {
    std::string protocol;
    std::string peer;
    std::string started;
    bool live = true;
    std::deque<std::string> lines;
    std::size_t bytes = 0;
    std::uint64_t dropped = 0;
    std::string file;  // with Options::dir
  };

  void Trim(Record& r);
  void StopWriter();
  void Queue(const std::string& file, std::string text);
  void WriterMain();

  bool enabled_ = false;
  Options options_;
  std::map<std::uint64_t, Record> records_;
  std::deque<std::uint64_t> closed_;  // oldest first

  // The file writer: appends queued text to files, in order.
  std::thread writer_;
  Mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, std::string>> queue_ GUARDED_BY(mu_);  // file, text
  bool stop_ GUARDED_BY(mu_) = false;
};

}  // namespace pillarbox::server
