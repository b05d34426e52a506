// The metrics registry: Prometheus text, and ResetCounters (POST
// /api/v1/reset) zeroing counters and histograms while gauges keep the
// present.
#include "common/metrics.h"

#include <gtest/gtest.h>

#include <string>

namespace pillarbox {
namespace {

// Each test uses names of its own: the registry is process-wide.
bool Has(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.starts_with(line + "\n");
}

TEST(MetricsTest, RendersCountersGaugesAndHistogramsWithThePrefix) {
  auto& m = Metrics::Global();
  m.Counter("t_render_total", "protocol=\"imap\"", "Render test.").fetch_add(3);
  m.Gauge("t_render_open", "", "Open things.").store(-2);
  auto& h = m.Hist("t_render_seconds", "", "Latency.", {0.1, 1.0});
  h.Observe(0.05);
  h.Observe(0.5);
  h.Observe(7);
  const std::string text = m.RenderPrometheus();
  EXPECT_TRUE(Has(text, "# TYPE pillarbox_t_render_total counter")) << text;
  EXPECT_TRUE(Has(text, "pillarbox_t_render_total{protocol=\"imap\"} 3")) << text;
  EXPECT_TRUE(Has(text, "pillarbox_t_render_open -2")) << text;
  EXPECT_TRUE(Has(text, "pillarbox_t_render_seconds_bucket{le=\"0.1\"} 1")) << text;
  EXPECT_TRUE(Has(text, "pillarbox_t_render_seconds_bucket{le=\"1\"} 2")) << text;
  EXPECT_TRUE(Has(text, "pillarbox_t_render_seconds_bucket{le=\"+Inf\"} 3")) << text;
  EXPECT_TRUE(Has(text, "pillarbox_t_render_seconds_count 3")) << text;
}

TEST(MetricsTest, ResetCountersZeroesCountersAndHistogramsButNotGauges) {
  auto& m = Metrics::Global();
  auto& c = m.Counter("t_reset_total", "", "Reset test.");
  c.fetch_add(5);
  auto& g = m.Gauge("t_reset_open", "", "Open.");
  g.store(4);
  auto& h = m.Hist("t_reset_seconds", "", "Latency.", {1.0});
  h.Observe(0.5);

  m.ResetCounters();

  EXPECT_EQ(c.load(), 0u);
  EXPECT_EQ(g.load(), 4);
  const std::string text = m.RenderPrometheus();
  EXPECT_TRUE(Has(text, "pillarbox_t_reset_total 0")) << text;
  EXPECT_TRUE(Has(text, "pillarbox_t_reset_open 4")) << text;
  EXPECT_TRUE(Has(text, "pillarbox_t_reset_seconds_count 0")) << text;
  EXPECT_TRUE(Has(text, "pillarbox_t_reset_seconds_bucket{le=\"+Inf\"} 0")) << text;
  // The same references count on after the reset.
  c.fetch_add(1);
  EXPECT_TRUE(Has(m.RenderPrometheus(), "pillarbox_t_reset_total 1"));
}

}  // namespace
}  // namespace pillarbox
