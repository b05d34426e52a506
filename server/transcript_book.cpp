#include "server/transcript_book.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "common/log.h"

namespace pillarbox::server {
namespace {

// "2026-11-29T17:55:01.123Z".
std::string NowText() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

}  // namespace

TranscriptBook& TranscriptBook::Global() {
  static TranscriptBook book;
  return book;
}

TranscriptBook::~TranscriptBook() { StopWriter(); }

void TranscriptBook::Configure(Options options) {
  StopWriter();
  options_ = std::move(options);
  enabled_ = true;
  records_.clear();
  closed_.clear();
  if (!options_.dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options_.dir, ec);
    if (ec) LOG_WARN("transcripts: cannot create {}: {}", options_.dir, ec.message());
    {
      MutexLock lock(mu_);
      stop_ = false;
    }
    writer_ = std::thread([this] { WriterMain(); });
  }
}

void TranscriptBook::Disable() {
  StopWriter();
  enabled_ = false;
  records_.clear();
  closed_.clear();
}

void TranscriptBook::Open(std::uint64_t session, std::string protocol, std::string peer) {
  if (!enabled_) return;
  Record& r = records_[session];
  r.protocol = std::move(protocol);
  r.peer = std::move(peer);
  r.started = NowText();
  if (!options_.dir.empty()) {
    r.file = options_.dir + "/" + std::to_string(session) + "-" + r.protocol + ".log";
    Queue(r.file, "# session " + std::to_string(session) + " " + r.protocol + " from " + r.peer +
                      " at " + r.started + "\n");
  }
}

void TranscriptBook::Add(std::uint64_t session, char direction, std::string_view line) {
  if (!enabled_) return;
  auto it = records_.find(session);
  if (it == records_.end() || !it->second.live) return;
  Record& r = it->second;
  std::string text = NowText() + " " + direction + ": " + std::string(line);
  if (!r.file.empty()) Queue(r.file, text + "\n");
  r.bytes += text.size() + 1;
  r.lines.push_back(std::move(text));
  Trim(r);
}

void TranscriptBook::Trim(Record& r) {
  while (r.bytes > options_.max_bytes_per_session && r.lines.size() > 1) {
    r.bytes -= r.lines.front().size() + 1;
    r.lines.pop_front();
    ++r.dropped;
  }
}

void TranscriptBook::Close(std::uint64_t session) {
  if (!enabled_) return;
  auto it = records_.find(session);
  if (it == records_.end() || !it->second.live) return;
  it->second.live = false;
  closed_.push_back(session);
  while (closed_.size() > options_.closed_kept) {
    records_.erase(closed_.front());
    closed_.pop_front();
  }
}

std::optional<std::string> TranscriptBook::Text(std::uint64_t session) const {
  auto it = records_.find(session);
  if (it == records_.end()) return std::nullopt;
  const Record& r = it->second;
  std::string out = "# session " + std::to_string(session) + " " + r.protocol + " from " + r.peer +
                    " at " + r.started + (r.live ? " (live)" : " (closed)") + "\n";
  if (r.dropped) out += "# " + std::to_string(r.dropped) + " earlier lines dropped\n";
  for (const std::string& line : r.lines) {
    out += line;
    out += '\n';
  }
  return out;
}

std::vector<TranscriptBook::Summary> TranscriptBook::List() const {
  std::vector<Summary> live;
  std::vector<Summary> closed;
  for (const auto& [id, r] : records_) {
    Summary s{id, r.protocol, r.peer, r.started, r.live, r.lines.size()};
    (r.live ? live : closed).push_back(std::move(s));
  }
  // Session ids grow with time: newest first.
  auto newest_first = [](const Summary& a, const Summary& b) { return a.session > b.session; };
  std::sort(live.begin(), live.end(), newest_first);
  std::sort(closed.begin(), closed.end(), newest_first);
  live.insert(live.end(), closed.begin(), closed.end());
  return live;
}

void TranscriptBook::Queue(const std::string& file, std::string text) {
  {
    MutexLock lock(mu_);
    queue_.emplace_back(file, std::move(text));
  }
  cv_.notify_one();
}

void TranscriptBook::StopWriter() {
  if (!writer_.joinable()) return;
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  writer_.join();
}

void TranscriptBook::WriterMain() {
  std::string open_path;
  std::ofstream out;
  for (;;) {
    std::deque<std::pair<std::string, std::string>> batch;
    {
      MutexLock lock(mu_);
      while (queue_.empty() && !stop_) lock.Wait(cv_);
      if (queue_.empty() && stop_) break;
      batch.swap(queue_);
    }
    for (auto& [path, text] : batch) {
      if (path != open_path) {
        out.close();
        out.clear();
        out.open(path, std::ios::app | std::ios::binary);
        open_path = path;
        if (!out) LOG_WARN("transcripts: cannot write {}", path);
      }
      if (out) out << text;
    }
    out.flush();
  }
}

}  // namespace pillarbox::server
