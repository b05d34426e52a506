#include "protocols/http/router.h"

namespace pillarbox::http {

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> out;
  while (!path.empty()) {
    std::size_t slash = path.find('/');
    std::string_view seg = path.substr(0, slash);
    if (!seg.empty()) out.push_back(PercentDecode(seg));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

void Router::Add(std::string method, std::string_view pattern, RouteFn fn) {
  Route r;
  r.method = std::move(method);
  while (!pattern.empty()) {
    std::size_t slash = pattern.find('/');
    std::string_view seg = pattern.substr(0, slash);
    if (!seg.empty()) r.segments.emplace_back(seg);
    if (slash == std::string_view::npos) break;
    pattern.remove_prefix(slash + 1);
  }
  r.fn = std::move(fn);
  routes_.push_back(std::move(r));
}

Router::Match Router::Find(std::string_view method, std::string_view path) const {
  Match m;
  std::vector<std::string> segs = SplitPath(path);
  for (const Route& r : routes_) {
    if (r.segments.size() != segs.size()) continue;
    Params params;
    bool ok = true;
    for (std::size_t i = 0; i < segs.size() && ok; ++i) {
      const std::string& p = r.segments[i];
      if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
        params[p.substr(1, p.size() - 2)] = segs[i];
      } else {
        ok = p == segs[i];
      }
    }
    if (!ok) continue;
    if (r.method != method) {
      m.status = 405;
      if (m.allow.find(r.method) == std::string::npos) {
        m.allow += (m.allow.empty() ? "" : ", ") + r.method;
      }
      continue;
    }
    m.fn = &r.fn;
    m.params = std::move(params);
    m.status = 200;
    return m;
  }
  return m;
}

}  // namespace pillarbox::http
