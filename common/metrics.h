// One process-wide registry of counters, gauges and histograms, rendered in
// the Prometheus text format by GET /metrics (names prefixed "pillarbox_").
// Hooks keep the reference a Get* call returns (a static local) so that
// counting costs one relaxed atomic add.
//
// Thread-safety: every method may be called from any thread; the returned
// references stay valid for the life of the process.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace pillarbox {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  void Reset();
  // "_bucket{le=...}", "_sum", "_count" lines for `name{labels}`.
  std::string Render(const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // bounds_.size() + 1 (+Inf)
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_micro_{0};  // sum * 1e6, to stay an integer
};

class Metrics {
 public:
  static Metrics& Global();

  // `name` without the prefix ("connections_total"); `labels` preformatted
  // ("protocol=\"imap\"") or empty. `help` is kept from the first call.
  std::atomic<std::uint64_t>& Counter(std::string_view name, std::string_view labels,
                                      std::string_view help);
  std::atomic<std::int64_t>& Gauge(std::string_view name, std::string_view labels,
                                   std::string_view help);
  Histogram& Hist(std::string_view name, std::string_view labels, std::string_view help,
                  std::vector<double> bounds);

  std::string RenderPrometheus() const;

  // Counters and histograms back to zero (POST /api/v1/reset); gauges,
  // which describe the present (open connections), keep their values.
  void ResetCounters();

 private:
  struct Family {
    std::string type;  // "counter", "gauge", "histogram"
    std::string help;
    std::map<std::string, std::unique_ptr<std::atomic<std::uint64_t>>> counters;
    std::map<std::string, std::unique_ptr<std::atomic<std::int64_t>>> gauges;
    std::map<std::string, std::unique_ptr<Histogram>> histograms;
  };
  Family& FamilyOf(std::string_view name, const char* type, std::string_view help);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
};

// Common hooks.
namespace metrics {
inline void Count(std::string_view name, std::string_view labels, std::string_view help,
                  std::uint64_t n = 1) {
  Metrics::Global().Counter(name, labels, help).fetch_add(n, std::memory_order_relaxed);
}
// "protocol=\"imap\"".
inline std::string Label(std::string_view key, std::string_view value) {
  std::string out(key);
  out += "=\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}
}  // namespace metrics

}  // namespace pillarbox
