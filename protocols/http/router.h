// Routes of the HTTP API: a method and a path pattern whose segments are
// literals or "{name}" parameters ("/api/v1/users/{name}/mailboxes").
// Segments are percent-decoded after the path is split on '/', so that a
// mailbox named "Archive/2026" is reached as "Archive%2F2026".
//
// Thread-safety: build once, then read from the owner thread.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/http/http_session.h"

namespace pillarbox::http {

using Params = std::map<std::string, std::string>;
using RouteFn = std::function<void(HttpSession& session, Request& request, const Params& params)>;

class Router {
 public:
  void Add(std::string method, std::string_view pattern, RouteFn fn);

  struct Match {
    const RouteFn* fn = nullptr;  // null: see status
    Params params;
    int status = 404;   // 404: no such path; 405: the path exists, not the method
    std::string allow;  // for 405: "GET, PATCH"
  };
  Match Find(std::string_view method, std::string_view path) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // "{x}" for a parameter
    RouteFn fn;
  };
  std::vector<Route> routes_;
};

// "/a/b%2Fc/" -> {"a", "b/c"}: split on '/', empty segments dropped,
// each decoded.
std::vector<std::string> SplitPath(std::string_view path);

}  // namespace pillarbox::http
