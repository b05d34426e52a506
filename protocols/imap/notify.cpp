#include "protocols/imap/notify.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>

#include "common/strings.h"
#include "protocols/imap/imap_session.h"

namespace pillarbox::imap {
namespace {

// Parses one <events> ("NONE" or a list). `selected`: the SELECTED /
// SELECTED-DELAYED group (message events only, fetch attributes allowed).
// Unsupported event names are collected in `unsupported`.
bool ParseEvents(const Value& v, bool selected, unsigned* events, std::optional<FetchSpec>* fetch,
                 std::vector<std::string>* unsupported, std::string* error) {
  *events = 0;
  if (v.AtomIs("NONE")) return true;
  if (!v.IsList() || v.items.empty()) {
    *error = "Expected a list of events or NONE";
    return false;
  }
  bool annotation = false;
  for (std::size_t i = 0; i < v.items.size(); ++i) {
    const Value& e = v.items[i];
    if (!e.IsAtom()) {
      *error = "Invalid event";
      return false;
    }
    if (e.AtomIs("MessageNew")) {
      *events |= kNotifyMessageNew;
      if (i + 1 < v.items.size() && v.items[i + 1].IsList()) {
        if (!selected) {
          *error = "Fetch attributes are allowed only for the selected mailbox";
          return false;
        }
        auto spec = ParseFetchItems(v.items[i + 1]);
        if (!spec.ok()) {
          *error = spec.status().message();
          return false;
        }
        *fetch = std::move(*spec);
        ++i;
      }
    } else if (e.AtomIs("MessageExpunge")) {
      *events |= kNotifyMessageExpunge;
    } else if (e.AtomIs("FlagChange")) {
      *events |= kNotifyFlagChange;
    } else if (e.AtomIs("AnnotationChange")) {
      annotation = true;
      unsupported->push_back("AnnotationChange");
    } else if (e.AtomIs("MailboxName") || e.AtomIs("SubscriptionChange") ||
               e.AtomIs("MailboxMetadataChange") || e.AtomIs("ServerMetadataChange")) {
      if (selected) {
        *error = "Only message events are allowed for the selected mailbox";
        return false;
      }
      if (e.AtomIs("MailboxName")) {
        *events |= kNotifyMailboxName;
      } else if (e.AtomIs("SubscriptionChange")) {
        *events |= kNotifySubscriptionChange;
      } else {
        unsupported->push_back(e.text);
      }
    } else {
      unsupported->push_back(e.text);  // an event-ext
    }
  }
  // RFC 5465 5: MessageNew and MessageExpunge go together, and FlagChange
  // or AnnotationChange need both.
  const bool message_new = (*events & kNotifyMessageNew) != 0;
  const bool expunge = (*events & kNotifyMessageExpunge) != 0;
  if (message_new != expunge) {
    *error = "MessageNew and MessageExpunge must be given together";
    return false;
  }
  if (((*events & kNotifyFlagChange) != 0 || annotation) && !message_new) {
    *error = "FlagChange and AnnotationChange need MessageNew and MessageExpunge";
    return false;
  }
  return true;
}

bool UnderOrAt(const std::string& name, const std::string& root) {
  if (name == root) return true;
  return name.size() > root.size() && name.compare(0, root.size(), root) == 0 &&
         name[root.size()] == '/';
}

std::string StatusLine(ImapSession& s, const std::string& name, const NotifyMailbox& m,
                       bool messages, bool uidnext, bool uidvalidity, bool unseen,
                       bool highestmodseq) {
  std::string items;
  auto add = [&](std::string_view key, std::uint64_t value) {
    if (!items.empty()) items += ' ';
    items += std::string(key) + " " + std::to_string(value);
  };
  if (messages) add("MESSAGES", m.messages);
  if (uidnext) add("UIDNEXT", m.uidnext);
  if (uidvalidity) add("UIDVALIDITY", m.uidvalidity);
  if (unseen) add("UNSEEN", m.unseen);
  if (highestmodseq) add("HIGHESTMODSEQ", m.highest_modseq);
  return "* STATUS " + s.MailboxWire(name) + " (" + items + ")\r\n";
}

NotifyMailbox FromRecord(const storage::MailboxRecord& r) {
  NotifyMailbox m;
  m.name = r.name;
  m.uidvalidity = r.uidvalidity;
  m.uidnext = r.uidnext;
  m.messages = r.messages;
  m.unseen = r.unseen;
  m.highest_modseq = r.highest_modseq;
  return m;
}

void Snapshot(ImapSession& s, storage::ReadView& view,
              std::map<storage::MailboxId, NotifyMailbox>* known, std::set<std::string>* subs) {
  known->clear();
  for (const auto& r : view.ListMailboxes(s.user().id)) known->emplace(r.id, FromRecord(r));
  subs->clear();
  for (auto& n : view.ListSubscriptions(s.user().id)) subs->insert(std::move(n));
}

// The LIST response for `name` as it is now (RFC 5465 5.4, 5.5).
std::string ListLine(ImapSession& s, const std::map<storage::MailboxId, NotifyMailbox>& known,
                     const std::set<std::string>& subs, const std::string& name,
                     const std::string* old_name) {
  bool exists = false;
  bool children = false;
  for (const auto& [id, m] : known) {
    if (m.name == name) exists = true;
    if (m.name.size() > name.size() && UnderOrAt(m.name, name)) children = true;
  }
  std::string attrs;
  auto add = [&](std::string_view a) {
    if (!attrs.empty()) attrs += ' ';
    attrs += a;
  };
  if (!exists) add("\\NonExistent");
  if (subs.count(name)) add("\\Subscribed");
  add(children ? "\\HasChildren" : "\\HasNoChildren");
  std::string line = "* LIST (" + attrs + ") \"/\" " + s.MailboxWire(name);
  if (old_name != nullptr) line += " (\"OLDNAME\" (" + s.MailboxWire(*old_name) + "))";
  return line + "\r\n";
}

}  // namespace

std::optional<NotifySpec> ParseNotifySet(const std::vector<Value>& args,
                                         const NotifyDecodeName& decode, std::string* response) {
  NotifySpec spec;
  std::size_t i = 1;
  if (i < args.size() && args[i].AtomIs("STATUS")) {
    spec.status = true;
    ++i;
  }
  if (i >= args.size()) {
    *response = "BAD Expected event groups";
    return std::nullopt;
  }
  std::vector<std::string> unsupported;
  for (; i < args.size(); ++i) {
    const Value& g = args[i];
    if (!g.IsList() || g.items.size() < 2 || !g.items[0].IsAtom()) {
      *response = "BAD Invalid event group";
      return std::nullopt;
    }
    const Value& filter = g.items[0];
    std::string error;
    if (filter.AtomIs("SELECTED") || filter.AtomIs("SELECTED-DELAYED")) {
      if (g.items.size() != 2) {
        *response = "BAD Invalid event group";
        return std::nullopt;
      }
      if (spec.selected || spec.selected_delayed) {
        *response = "BAD Only one of SELECTED and SELECTED-DELAYED may be given";
        return std::nullopt;
      }
      (filter.AtomIs("SELECTED") ? spec.selected : spec.selected_delayed) = true;
      if (!ParseEvents(g.items[1], true, &spec.selected_events, &spec.fetch, &unsupported,
                       &error)) {
        *response = "BAD " + error;
        return std::nullopt;
      }
      continue;
    }
    NotifyGroup group;
    std::size_t events_at = 1;
    if (filter.AtomIs("PERSONAL")) {
      group.filter = NotifyGroup::Filter::kPersonal;
    } else if (filter.AtomIs("INBOXES")) {
      group.filter = NotifyGroup::Filter::kInboxes;
    } else if (filter.AtomIs("SUBSCRIBED")) {
      group.filter = NotifyGroup::Filter::kSubscribed;
    } else if (filter.AtomIs("SUBTREE") || filter.AtomIs("MAILBOXES")) {
      group.filter = filter.AtomIs("SUBTREE") ? NotifyGroup::Filter::kSubtree
                                              : NotifyGroup::Filter::kMailboxes;
      if (g.items.size() != 3) {
        *response = "BAD Invalid event group";
        return std::nullopt;
      }
      const Value& names = g.items[1];
      std::vector<const Value*> list;
      if (names.IsList()) {
        for (const Value& n : names.items) list.push_back(&n);
      } else {
        list.push_back(&names);
      }
      if (list.empty()) {
        *response = "BAD Expected mailbox names";
        return std::nullopt;
      }
      for (const Value* n : list) {
        auto utf8 = n->IsAString() ? decode(*n) : std::nullopt;
        if (!utf8) {
          *response = "BAD Invalid mailbox name";
          return std::nullopt;
        }
        group.names.push_back(std::move(*utf8));
      }
      events_at = 2;
    } else {
      *response = "BAD Unknown mailbox filter";
      return std::nullopt;
    }
    if (g.items.size() != events_at + 1) {
      *response = "BAD Invalid event group";
      return std::nullopt;
    }
    std::optional<FetchSpec> no_fetch;
    if (!ParseEvents(g.items[events_at], false, &group.events, &no_fetch, &unsupported, &error)) {
      *response = "BAD " + error;
      return std::nullopt;
    }
    spec.groups.push_back(std::move(group));
  }
  if (!unsupported.empty()) {
    *response = std::string("NO [BADEVENT (") + kNotifySupportedEvents +
                ")] Unsupported event: " + unsupported.front();
    return std::nullopt;
  }
  return spec;
}

unsigned NotifyState::EventsFor(const std::string& name, bool is_subscribed) const {
  unsigned events = 0;
  for (const NotifyGroup& g : spec.groups) {
    bool match = false;
    switch (g.filter) {
      case NotifyGroup::Filter::kPersonal:
      case NotifyGroup::Filter::kInboxes:  // RFC 5465 6.3: as personal
        match = true;
        break;
      case NotifyGroup::Filter::kSubscribed:
        match = is_subscribed;
        break;
      case NotifyGroup::Filter::kSubtree:
        match = std::any_of(g.names.begin(), g.names.end(),
                            [&](const std::string& root) { return UnderOrAt(name, root); });
        break;
      case NotifyGroup::Filter::kMailboxes:
        match = std::find(g.names.begin(), g.names.end(), name) != g.names.end();
        break;
    }
    if (match) events |= g.events;
  }
  return events;
}

bool NotifyState::Wants(unsigned event) const {
  return std::any_of(spec.groups.begin(), spec.groups.end(),
                     [&](const NotifyGroup& g) { return (g.events & event) != 0; });
}

void NotifyStart(ImapSession& s, NotifySpec spec) {
  NotifyStop(s);
  auto state = std::make_unique<NotifyState>();
  state->spec = std::move(spec);
  const SelectedMailbox* sel = s.selected();
  std::string out;
  {
    auto view = s.store().Read();
    Snapshot(s, *view, &state->known, &state->subscribed);
  }
  if (state->spec.status) {
    // RFC 5465 3.1: MESSAGES UIDNEXT UIDVALIDITY for MessageNew, MESSAGES
    // for MessageExpunge, UIDVALIDITY HIGHESTMODSEQ for FlagChange.
    const bool condstore = (s.disabled_extensions() & config::kImapCondstore) == 0;
    for (const auto& [id, m] : state->known) {
      if (sel != nullptr && sel->id == id) continue;
      unsigned ev = state->EventsFor(m.name, state->subscribed.count(m.name) != 0);
      if ((ev & kNotifyMessageEvents) == 0) continue;
      const bool flags = (ev & kNotifyFlagChange) != 0 && condstore;
      out += StatusLine(s, m.name, m, true, (ev & kNotifyMessageNew) != 0,
                        (ev & kNotifyMessageNew) != 0 || flags, false, flags);
    }
  }
  if (!state->spec.groups.empty()) {
    state->subscription = s.store().SubscribeUser(
        s.user().id,
        s.Bind([](ImapSession& s2, storage::MailboxId mb) { NotifyOnUserChange(s2, mb); }));
  }
  s.set_notify(std::move(state));
  if (!out.empty()) s.Write(std::move(out));
}

void NotifyStop(ImapSession& s) {
  NotifyState* n = s.notify();
  if (n == nullptr) return;
  if (n->subscription != 0) s.store().Unsubscribe(n->subscription);
  s.set_notify(nullptr);
}

void NotifyDefer(ImapSession& s) {
  NotifyState* n = s.notify();
  if (n == nullptr || ++n->deferred < kNotifyMaxDeferred) return;
  s.Write("* OK [NOTIFICATIONOVERFLOW] Too many notifications unread; NOTIFY is off.\r\n");
  NotifyStop(s);
}

void NotifyOnUserChange(ImapSession& s, storage::MailboxId mailbox) {
  NotifyState* n = s.notify();
  if (n == nullptr) return;
  if (mailbox == 0) {
    n->dirty_all = true;
  } else {
    n->dirty.insert(mailbox);
  }
  s.PushNotifications();
}

void NotifyFlush(ImapSession& s) {
  NotifyState* n = s.notify();
  if (n == nullptr || (!n->dirty_all && n->dirty.empty())) return;
  std::map<storage::MailboxId, NotifyMailbox> now;
  std::set<std::string> subs;
  {
    auto view = s.store().Read();
    if (n->dirty_all) {
      Snapshot(s, *view, &now, &subs);
    } else {
      now = n->known;
      subs = n->subscribed;
      for (storage::MailboxId id : n->dirty) {
        auto r = view->GetMailbox(id);
        if (r.ok() && r->user == s.user().id) {
          now[id] = FromRecord(*r);
        } else if (!r.ok() && r.status().code() == Code::kNotFound) {
          now.erase(id);
        }
      }
    }
  }
  n->dirty.clear();
  n->dirty_all = false;
  n->deferred = 0;

  const SelectedMailbox* sel = s.selected();
  std::string out;
  std::set<std::string> listed;  // names a LIST response was written for
  auto events_now = [&](const std::string& name) {
    return n->EventsFor(name, subs.count(name) != 0);
  };
  auto events_before = [&](const std::string& name) {
    return n->EventsFor(name, n->subscribed.count(name) != 0);
  };
  // MailboxName (RFC 5465 5.4): deleted, created, renamed. A rename of a
  // parent carries its children: no LIST for them.
  std::vector<std::pair<std::string, std::string>> renames;  // old, new
  for (const auto& [id, m] : n->known) {
    auto it = now.find(id);
    if (it != now.end() && it->second.name != m.name) renames.emplace_back(m.name, it->second.name);
  }
  auto carried = [&](const std::string& from, const std::string& to) {
    for (const auto& [o, t] : renames) {
      if (from.size() > o.size() && UnderOrAt(from, o) && to == t + from.substr(o.size())) {
        return true;
      }
    }
    return false;
  };
  for (const auto& [id, m] : n->known) {
    if (now.count(id) == 0 && (events_before(m.name) & kNotifyMailboxName) != 0) {
      out += ListLine(s, now, subs, m.name, nullptr);
      listed.insert(m.name);
    }
  }
  for (const auto& [id, m] : now) {
    auto old = n->known.find(id);
    if (old == n->known.end()) {
      if ((events_now(m.name) & kNotifyMailboxName) != 0) {
        out += ListLine(s, now, subs, m.name, nullptr);
        listed.insert(m.name);
      }
    } else if (old->second.name != m.name && !carried(old->second.name, m.name)) {
      if (((events_now(m.name) | events_before(old->second.name)) & kNotifyMailboxName) != 0) {
        out += ListLine(s, now, subs, m.name, &old->second.name);
        listed.insert(m.name);
        listed.insert(old->second.name);
      }
    }
  }
  // SubscriptionChange (RFC 5465 5.5).
  std::vector<std::string> sub_changes;
  std::set_symmetric_difference(n->subscribed.begin(), n->subscribed.end(), subs.begin(),
                                subs.end(), std::back_inserter(sub_changes));
  for (const std::string& name : sub_changes) {
    if (listed.count(name)) continue;
    if (((events_now(name) | events_before(name)) & kNotifySubscriptionChange) == 0) continue;
    out += ListLine(s, now, subs, name, nullptr);
  }
  // Message events in other mailboxes (RFC 5465 5.1-5.3): STATUS.
  const bool condstore = s.condstore();
  for (const auto& [id, m] : now) {
    auto old = n->known.find(id);
    if (old == n->known.end()) continue;
    if (sel != nullptr && sel->id == id) continue;  // SELECTED rules apply there
    if (n->own_changes.erase(id) != 0) continue;    // this session's own APPEND/COPY
    const NotifyMailbox& o = old->second;
    unsigned ev = events_now(m.name);
    if ((ev & kNotifyMessageEvents) == 0) continue;
    const bool counts = m.messages != o.messages || m.uidnext != o.uidnext;
    const bool validity = m.uidvalidity != o.uidvalidity;
    const bool unseen = (ev & kNotifyFlagChange) != 0 && m.unseen != o.unseen;
    const bool modseq = condstore && m.highest_modseq != o.highest_modseq &&
                        (counts || validity || (ev & kNotifyFlagChange) != 0);
    if (!counts && !validity && !unseen && !modseq) continue;
    out +=
        StatusLine(s, m.name, m, counts, counts, validity || (modseq && !counts), unseen, modseq);
  }
  n->known = std::move(now);
  n->subscribed = std::move(subs);
  if (!out.empty()) s.Write(std::move(out));
}

void NotifyNewMessages(ImapSession& s, const std::vector<storage::Uid>& uids) {
  NotifyState* n = s.notify();
  SelectedMailbox* sel = s.selected();
  if (n == nullptr || sel == nullptr || !n->PushSelected() || !n->spec.fetch ||
      (n->spec.selected_events & kNotifyMessageNew) == 0) {
    return;
  }
  auto view = s.store().Read();
  std::string out;
  FetchRenderOptions options;
  options.inline_limit = std::numeric_limits<std::size_t>::max();
  for (storage::Uid uid : uids) {
    if (n->own_new.erase({sel->id, uid}) != 0) continue;  // RFC 5465 5.2
    std::uint32_t seq = sel->SeqOf(uid);
    if (seq == 0) continue;
    auto rec = view->GetMessage(sel->id, uid);
    if (!rec.ok()) continue;
    FetchMessage msg;
    msg.seq = seq;
    msg.record = &*rec;
    msg.recent = sel->IsRecent(uid);
    auto pieces = RenderFetch(*n->spec.fetch, msg, view.get(), options);
    if (!pieces.ok()) continue;
    auto bytes = FlattenPieces(*pieces, view.get());
    if (bytes.ok()) out += *bytes;
  }
  view.reset();
  if (!out.empty()) s.Write(std::move(out));
}

void NotifyFlagsLine(ImapSession& s, storage::Uid uid, std::string* line) {
  NotifyState* n = s.notify();
  if (n == nullptr || !n->PushSelected() || (n->spec.selected_events & kNotifyFlagChange) == 0 ||
      s.condstore()) {
    return;  // with CONDSTORE the line has UID already
  }
  std::size_t at = line->find("FETCH (");
  if (at != std::string::npos) line->insert(at + 7, "UID " + std::to_string(uid) + " ");
}

void NotifyOwnMessages(ImapSession& s, const std::string& mailbox,
                       const std::vector<storage::Uid>& uids) {
  NotifyState* n = s.notify();
  if (n == nullptr) return;
  SelectedMailbox* sel = s.selected();
  if (sel != nullptr && sel->name == mailbox) {
    for (storage::Uid uid : uids) n->own_new.insert({sel->id, uid});
    return;
  }
  auto mb = s.store().Read()->FindMailbox(s.user().id, mailbox);
  if (mb.ok()) n->own_changes.insert(mb->id);
}

void NotifyOnFinish(ImapSession& s, const Command& cmd, std::string_view response) {
  NotifyState* n = s.notify();
  if (n == nullptr) return;
  // What others changed before is told first.
  NotifyFlush(s);
  if (!response.starts_with("OK")) return;
  if (cmd.name != "CREATE" && cmd.name != "DELETE" && cmd.name != "RENAME" &&
      cmd.name != "SUBSCRIBE" && cmd.name != "UNSUBSCRIBE") {
    return;
  }
  // This session's own change is taken as known (names and subscriptions
  // only: the counts still compare against the last look).
  std::map<storage::MailboxId, NotifyMailbox> now;
  std::set<std::string> subs;
  {
    auto view = s.store().Read();
    Snapshot(s, *view, &now, &subs);
  }
  for (auto& [id, m] : now) {
    auto old = n->known.find(id);
    if (old == n->known.end()) continue;
    std::string name = std::move(m.name);
    m = old->second;
    m.name = std::move(name);
  }
  n->known = std::move(now);
  n->subscribed = std::move(subs);
}

}  // namespace pillarbox::imap
