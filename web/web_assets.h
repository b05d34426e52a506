// The web console's files (web/static/), compiled into the binary by
// web/embed.cmake so that the server needs no files beside it and no
// network: no CDN, no web fonts, no Node build step.
#pragma once

#include <string_view>

namespace pillarbox::web {

struct Asset {
  std::string_view path;          // "/index.html", "/app.js"
  std::string_view content_type;  // "text/html; charset=utf-8"
  std::string_view bytes;
};

// The asset served at `path`, or nullptr.
const Asset* FindAsset(std::string_view path);

}  // namespace pillarbox::web
