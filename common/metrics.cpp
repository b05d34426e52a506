#include "common/metrics.h"

#include <cmath>
#include <cstdio>

namespace pillarbox {
namespace {

constexpr std::string_view kPrefix = "pillarbox_";

std::string Number(double v) {
  if (std::isinf(v)) return "+Inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string Series(std::string_view name, const std::string& labels, std::string_view extra = {}) {
  std::string out = std::string(kPrefix) + std::string(name);
  if (labels.empty() && extra.empty()) return out;
  out += "{" + labels;
  if (!labels.empty() && !extra.empty()) out += ",";
  out += std::string(extra) + "}";
  return out;
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) counts_[i] = 0;
}

void Histogram::Reset() {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
  count_.store(0, std::memory_order_relaxed);
  sum_micro_.store(0, std::memory_order_relaxed);
}

void Metrics::ResetCounters() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [name, family] : families_) {
    for (auto& [labels, c] : family.counters) c->store(0, std::memory_order_relaxed);
    for (auto& [labels, h] : family.histograms) h->Reset();
  }
}

void Histogram::Observe(double value) {
  std::size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micro_.fetch_add(static_cast<std::uint64_t>(std::llround(value * 1e6)),
                       std::memory_order_relaxed);
}

std::string Histogram::Render(const std::string& name, const std::string& labels) const {
  std::string out;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    double le = i < bounds_.size() ? bounds_[i] : INFINITY;
    out += Series(name + "_bucket", labels, "le=\"" + Number(le) + "\"") + " " +
           std::to_string(cumulative) + "\n";
  }
  out += Series(name + "_sum", labels) + " " +
         Number(static_cast<double>(sum_micro_.load(std::memory_order_relaxed)) / 1e6) + "\n";
  out += Series(name + "_count", labels) + " " +
         std::to_string(count_.load(std::memory_order_relaxed)) + "\n";
  return out;
}

Metrics& Metrics::Global() {
  static Metrics* m = new Metrics();  // never destroyed: hooks run until exit
  return *m;
}

Metrics::Family& Metrics::FamilyOf(std::string_view name, const char* type, std::string_view help) {
  Family& f = families_[std::string(name)];
  if (f.type.empty()) {
    f.type = type;
    f.help = help;
  }
  return f;
}

std::atomic<std::uint64_t>& Metrics::Counter(std::string_view name, std::string_view labels,
                                             std::string_view help) {
  std::lock_guard lock(mu_);
  auto& slot = FamilyOf(name, "counter", help).counters[std::string(labels)];
  if (!slot) slot = std::make_unique<std::atomic<std::uint64_t>>(0);
  return *slot;
}

std::atomic<std::int64_t>& Metrics::Gauge(std::string_view name, std::string_view labels,
                                          std::string_view help) {
  std::lock_guard lock(mu_);
  auto& slot = FamilyOf(name, "gauge", help).gauges[std::string(labels)];
  if (!slot) slot = std::make_unique<std::atomic<std::int64_t>>(0);
  return *slot;
}

Histogram& Metrics::Hist(std::string_view name, std::string_view labels, std::string_view help,
                         std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  auto& slot = FamilyOf(name, "histogram", help).histograms[std::string(labels)];
  if (!slot) slot = std::make_unique<Histogram>(std::move(bounds));
  return *slot;
}

std::string Metrics::RenderPrometheus() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + std::string(kPrefix) + name + " " + f.help + "\n";
    out += "# TYPE " + std::string(kPrefix) + name + " " + f.type + "\n";
    for (const auto& [labels, c] : f.counters) {
      out += Series(name, labels) + " " + std::to_string(c->load(std::memory_order_relaxed)) + "\n";
    }
    for (const auto& [labels, g] : f.gauges) {
      out += Series(name, labels) + " " + std::to_string(g->load(std::memory_order_relaxed)) + "\n";
    }
    for (const auto& [labels, h] : f.histograms) out += h->Render(name, labels);
  }
  return out;
}

}  // namespace pillarbox
