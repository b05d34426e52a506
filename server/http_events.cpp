#include "server/http_events.h"

#include <map>
#include <memory>
#include <set>
#include <tuple>

#include "common/log.h"
#include "common/metrics.h"
#include "server/http_api_internal.h"

namespace pillarbox::server {
namespace {

using api::Json;
using Clock = std::chrono::steady_clock;

struct StreamState {
  std::string user;  // filter; empty: all
  storage::Store* store = nullptr;
  // Change-bus subscriptions: per mailbox shown, and a watch per user shown.
  std::map<storage::MailboxId, std::uint64_t> subscriptions;
  std::map<storage::UserId, std::uint64_t> user_watches;
  bool wake_pending = false;  // a read is scheduled kEventCoalesce after a bus event
  // The last event sent per user, as (time, seq).
  std::map<storage::UserId, std::tuple<storage::UnixTime, std::uint64_t>> last;
  std::map<std::uint64_t, storage::ReadView::LiveSession> sessions;
  Clock::time_point last_write = Clock::now();
};

// The console's name for a journal event.
std::string Category(const storage::JournalEvent& ev) {
  using K = storage::JournalKind;
  switch (ev.kind) {
    case K::kDelivered:
      return "delivery";
    case K::kImapRead:
    case K::kFlagsChanged:
      return "flags";
    case K::kExpunged:
    case K::kExpired:
      return "expunge";
    case K::kMoved:
      return "move";
    case K::kPop3Deleted:
      if (ev.detail.starts_with("hide")) return "hide";
      if (ev.detail.starts_with("move")) return "move";
      return "expunge";
    default:
      return "journal";
  }
}

std::string SseEvent(std::string_view name, const Json& data) {
  return "event: " + std::string(name) + "\ndata: " + api::Dump(data) + "\n\n";
}

Json SessionJson(const storage::ReadView::LiveSession& s, const std::string& user) {
  return {{"session", s.id},
          {"protocol", s.protocol},
          {"user", user},
          {"peer", s.peer},
          {"mailbox", s.mailbox},
          {"since", api::IsoTime(s.since)},
          {"holds_pop3_lock", s.holds_pop3_lock},
          {"client_id", s.client_id}};
}

void Wake(http::HttpSession& s, const std::shared_ptr<StreamState>& st);

// Subscribes to every mailbox of `users` not yet subscribed, and watches
// each user (a deletion ends their subscriptions' events).
void Follow(http::HttpSession& s, const std::shared_ptr<StreamState>& st, storage::ReadView& view,
            const std::vector<storage::UserRecord>& users) {
  // The bus calls back with no session: look it up by id, as for completions.
  auto wake = s.Bind([st](http::HttpSession& s) { Wake(s, st); });
  for (const auto& u : users) {
    if (!st->user_watches.count(u.id)) {
      st->user_watches[u.id] =
          st->store->WatchUser(u.id, [wake](storage::UserId) mutable { wake(); });
    }
    for (const auto& mb : view.ListMailboxes(u.id)) {
      if (st->subscriptions.count(mb.id)) continue;
      st->subscriptions[mb.id] =
          st->store->Subscribe(mb.id, [wake](storage::MailboxId) mutable { wake(); });
    }
  }
}

void Unfollow(StreamState& st) {
  for (const auto& [mb, id] : st.subscriptions) st.store->Unsubscribe(id);
  for (const auto& [user, id] : st.user_watches) st.store->Unsubscribe(id);
  st.subscriptions.clear();
  st.user_watches.clear();
}

// Reads what is new since the last read. `initial`: only note where the
// journal and the session table stand.
std::string Collect(http::HttpSession& s, const std::shared_ptr<StreamState>& state, bool initial) {
  StreamState& st = *state;
  std::string out;
  auto view = s.store().Read();
  std::vector<storage::UserRecord> users;
  if (st.user.empty()) {
    users = view->ListUsers();
  } else if (auto u = view->FindUser(st.user); u.ok()) {
    users.push_back(std::move(*u));
  }
  Follow(s, state, *view, users);
  std::map<storage::UserId, std::string> names;
  for (const auto& u : users) {
    names[u.id] = u.name;
    auto it = st.last.find(u.id);
    if (initial || it == st.last.end()) {
      auto newest = view->Journal(u.id, 0, 1);
      // A user that appeared after the stream began: all of its events are
      // new.
      std::tuple<storage::UnixTime, std::uint64_t> pos{0, 0};
      if (initial && !newest.empty()) pos = {newest.back().time, newest.back().seq};
      it = st.last.emplace(u.id, pos).first;
      if (initial) continue;
    }
    auto events = view->Journal(u.id, std::get<0>(it->second), kMaxEventsPerTick);
    if (events.size() >= kMaxEventsPerTick &&
        std::tuple(events.front().time, events.front().seq) > it->second) {
      out += SseEvent("overflow", {{"user", u.name}});
    }
    for (const auto& ev : events) {
      std::tuple<storage::UnixTime, std::uint64_t> key{ev.time, ev.seq};
      if (key <= it->second) continue;
      Json data = api::JournalEventJson(ev);
      data["user"] = u.name;
      data["category"] = Category(ev);
      out += SseEvent(Category(ev), data);
      it->second = key;
    }
  }
  // Sessions.
  storage::UserId only = 0;
  if (!st.user.empty()) {
    if (users.empty()) return out;
    only = users[0].id;
  }
  std::map<std::uint64_t, storage::ReadView::LiveSession> now;
  for (auto& ls : view->LiveSessions(only)) now.emplace(ls.id, std::move(ls));
  auto name_of = [&](storage::UserId id) -> std::string {
    if (auto it = names.find(id); it != names.end()) return it->second;
    auto u = view->GetUser(id);
    return u.ok() ? u->name : "";
  };
  if (!initial) {
    for (const auto& [id, ls] : now) {
      if (!st.sessions.count(id)) {
        out += SseEvent("session_start", SessionJson(ls, name_of(ls.user)));
      }
    }
    for (const auto& [id, ls] : st.sessions) {
      if (!now.count(id)) out += SseEvent("session_end", SessionJson(ls, name_of(ls.user)));
    }
  }
  st.sessions = std::move(now);
  return out;
}

// Reads and sends what is new; closes a stream whose client does not read.
void Send(http::HttpSession& s, const std::shared_ptr<StreamState>& st) {
  if (s.QueuedBytes() > kMaxEventBacklog) {
    LOG_INFO("http session {}: event stream closed: the client left {} bytes unread", s.id(),
             s.QueuedBytes());
    metrics::Count("http_event_streams_dropped_total", "",
                   "Event streams closed because the client did not read");
    s.Close();
    return;
  }
  std::string out = Collect(s, st, false);
  auto now = Clock::now();
  if (out.empty() && now - st->last_write >= kEventKeepalive) out = ": keepalive\n\n";
  if (!out.empty()) {
    st->last_write = now;
    s.Push(std::move(out));
  }
}

// The change bus reported a commit: read soon, once for a burst.
void Wake(http::HttpSession& s, const std::shared_ptr<StreamState>& st) {
  if (st->wake_pending) return;
  st->wake_pending = true;
  s.ctx().timer(kEventCoalesce, s.Bind([st](http::HttpSession& s) {
    st->wake_pending = false;
    Send(s, st);
  }));
}

// The slow poll, for what the bus does not report.
void Poll(http::HttpSession& s, std::shared_ptr<StreamState> st) {
  Send(s, st);
  s.ctx().timer(kEventPoll, s.Bind([st](http::HttpSession& s) { Poll(s, st); }));
}

}  // namespace

void StartEventStream(http::HttpSession& s, const config::Config&, std::string user) {
  auto st = std::make_shared<StreamState>();
  st->user = std::move(user);
  st->store = &s.store();
  (void)Collect(s, st, true);
  http::Response head;
  head.content_type = "text/event-stream; charset=utf-8";
  s.StartStream(std::move(head));
  // retry: how soon EventSource reconnects after a drop.
  s.Push("retry: 1000\n" + SseEvent("hello", {{"user", st->user}}));
  auto& streams = Metrics::Global().Gauge("http_event_streams", "", "Open event streams");
  streams.fetch_add(1, std::memory_order_relaxed);
  s.SetOnClose([&streams, st] {
    streams.fetch_sub(1, std::memory_order_relaxed);
    Unfollow(*st);
  });
  s.ctx().timer(kEventPoll, s.Bind([st](http::HttpSession& s) { Poll(s, st); }));
}

}  // namespace pillarbox::server
