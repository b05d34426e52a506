// LIST and LSUB (RFC 3501 6.3.8, 6.3.9) with CHILDREN (RFC 3348),
// SPECIAL-USE (RFC 6154), LIST-EXTENDED (RFC 5258) and LIST-STATUS
// (RFC 5819): selection options SUBSCRIBED, REMOTE, RECURSIVEMATCH,
// SPECIAL-USE; return options SUBSCRIBED, CHILDREN, SPECIAL-USE and
// STATUS (...), whose "* STATUS" follows each selectable mailbox's "* LIST";
// several patterns. With the extended syntax a level that is not a mailbox
// is \NonExistent (RFC 5258 3.4), else \Noselect as RFC 3501 has it. There
// are no remote mailboxes: REMOTE changes nothing.
//
// Names are matched in UTF-8 (patterns arrive in modified UTF-7 and are
// decoded; the wildcards are ASCII). "*" matches anything, "%" anything but
// the "/" delimiter (protocols/imap/mailbox_pattern.h: no backtracking, a
// pattern longer than kMaxListPatternBytes gets NO [LIMIT]). INBOX matches
// case-insensitively. A hierarchy level
// that is not a mailbox itself (a/b exists, a does not) is listed \Noselect.
#include <map>

#include "common/strings.h"
#include "protocols/imap/commands.h"
#include "protocols/imap/imap_format.h"
#include "protocols/imap/mailbox_pattern.h"
#include "protocols/imap/mutf7.h"

namespace pillarbox::imap {
namespace {

// INBOX is case-insensitive: so is a pattern's leading "inbox".
std::string CanonicalPattern(std::string pattern) {
  if (StartsWithIgnoreAsciiCase(pattern, "INBOX") &&
      (pattern.size() == 5 || pattern[5] == '/' || pattern[5] == '*' || pattern[5] == '%')) {
    for (int i = 0; i < 5; ++i) pattern[i] = AsciiUpper(pattern[i]);
  }
  return pattern;
}

struct Node {
  bool exists = false;
  bool subscribed = false;
  bool has_children = false;
  bool child_subscribed = false;  // some descendant is subscribed
  // RECURSIVEMATCH: some subscribed descendant does not match the patterns
  // (RFC 5258 3: only such a descendant earns its parent a CHILDINFO).
  bool child_subscribed_unmatched = false;
  storage::MailboxRecord record;  // when `exists`
};

struct Options {
  std::uint64_t disabled = 0;  // config::kImap* bits turned off
  bool extended = false;
  bool sel_subscribed = false;
  bool sel_special_use = false;
  bool recursive_match = false;
  bool ret_subscribed = false;
  bool ret_special_use = false;
  bool ret_status = false;
  std::vector<StatusItem> status_items;
  bool lsub = false;
};

void AddParents(std::map<std::string, Node>& nodes, const std::string& name,
                bool subscribed_child) {
  for (std::size_t pos = name.find('/'); pos != std::string::npos; pos = name.find('/', pos + 1)) {
    Node& parent = nodes[name.substr(0, pos)];
    parent.has_children = true;
    if (subscribed_child) parent.child_subscribed = true;
  }
}

std::string Attributes(const Node& node, const Options& o) {
  std::vector<std::string> attrs;
  if (!node.exists) attrs.push_back(o.extended ? "\\NonExistent" : "\\Noselect");
  if ((o.ret_subscribed || o.sel_subscribed) && node.subscribed) attrs.push_back("\\Subscribed");
  if (!o.lsub && (o.disabled & config::kImapChildren) == 0) {
    attrs.push_back(node.has_children ? "\\HasChildren" : "\\HasNoChildren");
  }
  if (!o.lsub && node.exists && (o.disabled & config::kImapSpecialUse) == 0) {
    if (node.record.special_use != storage::SpecialUse::kNone) {
      attrs.push_back(std::string(storage::SpecialUseName(node.record.special_use)));
    }
  }
  std::string out = "(";
  for (std::size_t i = 0; i < attrs.size(); ++i) {
    if (i) out += ' ';
    out += attrs[i];
  }
  return out + ")";
}

void Run(ImapSession& s, Command& cmd, bool lsub) {
  Options o;
  o.lsub = lsub;
  o.disabled = s.disabled_extensions();
  std::size_t i = 0;
  const auto& args = cmd.args;
  // Without LIST-EXTENDED (a capability profile) the RFC 3501 syntax only.
  if (!lsub && (o.disabled & config::kImapListExtended) != 0 &&
      (args.size() != 2 || !args[0].IsAString() || !(args[1].IsAString() || args[1].IsNil()))) {
    return s.FinishBad(cmd, "Expected reference and mailbox name");
  }
  if (!lsub && i < args.size() && args[i].IsList()) {
    o.extended = true;
    for (const Value& v : args[i].items) {
      if (v.AtomIs("SUBSCRIBED")) {
        o.sel_subscribed = true;
      } else if (v.AtomIs("REMOTE")) {
      } else if (v.AtomIs("RECURSIVEMATCH")) {
        o.recursive_match = true;
      } else if (v.AtomIs("SPECIAL-USE") && (o.disabled & config::kImapSpecialUse) == 0) {
        o.sel_special_use = true;
      } else {
        return s.FinishBad(cmd, "Unknown LIST selection option");
      }
    }
    if (o.recursive_match && !o.sel_subscribed && !o.sel_special_use) {
      return s.FinishBad(cmd, "RECURSIVEMATCH needs another selection option");
    }
    ++i;
  }
  if (i + 2 > args.size() || !args[i].IsAString()) {
    return s.FinishBad(cmd, "Expected reference and mailbox name");
  }
  const Value& ref_arg = args[i++];
  std::vector<std::string> patterns_wire;
  if (args[i].IsList() && !lsub) {
    o.extended = true;
    if (args[i].items.empty()) return s.FinishBad(cmd, "Empty pattern list");
    for (const Value& p : args[i].items) {
      if (!p.IsAString()) return s.FinishBad(cmd, "Invalid pattern");
      patterns_wire.push_back(p.text);
    }
  } else if (args[i].IsAString() || args[i].IsNil()) {
    patterns_wire.push_back(args[i].text);
  } else {
    return s.FinishBad(cmd, "Invalid pattern");
  }
  ++i;
  if (i < args.size()) {
    if (lsub || !args[i].AtomIs("RETURN") || i + 2 != args.size() || !args[i + 1].IsList()) {
      return s.FinishBad(cmd, "Unexpected arguments");
    }
    o.extended = true;
    const auto& ret = args[i + 1].items;
    for (std::size_t r = 0; r < ret.size(); ++r) {
      const Value& v = ret[r];
      if (v.AtomIs("SUBSCRIBED")) {
        o.ret_subscribed = true;
      } else if (v.AtomIs("CHILDREN")) {
      } else if (v.AtomIs("SPECIAL-USE") && (o.disabled & config::kImapSpecialUse) == 0) {
        o.ret_special_use = true;
      } else if (v.AtomIs("STATUS") && (o.disabled & config::kImapListStatus) == 0 &&
                 !o.ret_status && r + 1 < ret.size()) {
        o.ret_status = true;
        if (!ParseStatusItems(s, ret[++r], &o.status_items)) {
          return s.FinishBad(cmd, "Invalid status item");
        }
      } else {
        return s.FinishBad(cmd, "Unknown LIST return option");
      }
    }
  }
  const std::string verb = lsub ? "LSUB" : "LIST";
  const std::string done = lsub ? "OK Lsub completed." : "OK List completed.";

  auto ref = s.MailboxFromWire(ref_arg.text);
  if (!ref) return s.Finish(cmd, done);  // matches nothing
  std::vector<MailboxPattern> patterns;
  bool any_percent_end = false;
  for (const auto& wire : patterns_wire) {
    auto p = s.MailboxFromWire(wire);
    if (!p) continue;
    if (p->empty() && patterns_wire.size() == 1) {
      // LIST "" "": the hierarchy delimiter and the root name.
      s.Untagged(verb + " (\\Noselect) \"/\" \"\"");
      return s.Finish(cmd, done);
    }
    std::string full = *ref;
    if (!full.empty() && !p->empty() && full.back() == '/' && p->front() == '/') full.pop_back();
    full += *p;
    if (full.size() > kMaxListPatternBytes) {
      return s.Finish(cmd, "NO [LIMIT] Mailbox pattern too long (at most " +
                               std::to_string(kMaxListPatternBytes) + " bytes).");
    }
    any_percent_end = any_percent_end || (!full.empty() && full.back() == '%');
    patterns.emplace_back(CanonicalPattern(std::move(full)));
  }

  std::map<std::string, Node> nodes;
  {
    auto view = s.store().Read();
    for (const auto& mb : view->ListMailboxes(s.user().id)) {
      Node& n = nodes[mb.name];
      n.exists = true;
      n.record = mb;
      AddParents(nodes, mb.name, false);
    }
    for (const auto& name : view->ListSubscriptions(s.user().id)) {
      nodes[name].subscribed = true;
      AddParents(nodes, name, true);
    }
  }
  // AddParents created nodes for levels that are neither mailboxes nor
  // subscriptions; a subscription alone does not make children.
  for (auto& [name, node] : nodes) {
    node.has_children = false;
  }
  for (const auto& [name, node] : nodes) {
    if (!node.exists) continue;
    for (std::size_t pos = name.find('/'); pos != std::string::npos;
         pos = name.find('/', pos + 1)) {
      nodes[name.substr(0, pos)].has_children = true;
    }
  }

  auto matches = [&](const std::string& name) {
    for (const auto& p : patterns) {
      if (p.Matches(name)) return true;
    }
    return false;
  };
  if (o.recursive_match && o.sel_subscribed) {
    for (const auto& [name, node] : nodes) {
      if (!node.subscribed || matches(name)) continue;
      for (std::size_t pos = name.find('/'); pos != std::string::npos;
           pos = name.find('/', pos + 1)) {
        auto parent = nodes.find(name.substr(0, pos));
        if (parent != nodes.end()) parent->second.child_subscribed_unmatched = true;
      }
    }
  }

  // Lines in order; a mailbox's STATUS (LIST-STATUS) is computed as it is
  // written, after the read view above is gone.
  struct Line {
    std::string text;
    const storage::MailboxRecord* status = nullptr;
  };
  std::vector<Line> lines;
  Line inbox_line;
  for (const auto& [name, node] : nodes) {
    if (!matches(name)) continue;
    bool include;
    std::string extra;
    if (lsub) {
      // Subscribed names; unsubscribed levels above them only for "%".
      include = node.subscribed || (node.child_subscribed && any_percent_end);
      if (include) {
        Node shown = node;
        shown.exists = node.subscribed;
        lines.push_back({"LSUB " + Attributes(shown, o) + " \"/\" " + s.MailboxWire(name)});
        if (name == "INBOX") std::swap(inbox_line, lines.back()), lines.pop_back();
      }
      continue;
    }
    if (o.sel_subscribed || o.sel_special_use) {
      bool selected_itself =
          (!o.sel_subscribed || node.subscribed) &&
          (!o.sel_special_use ||
           (node.exists && node.record.special_use != storage::SpecialUse::kNone));
      include = selected_itself;
      // RFC 5258 3 (example 10): a subscribed descendant that the patterns
      // do not reach earns its ancestor a CHILDINFO, selected or not.
      if (o.recursive_match && o.sel_subscribed && node.child_subscribed_unmatched) {
        include = true;
        extra = " (\"CHILDINFO\" (\"SUBSCRIBED\"))";
      }
      if (!include) continue;
      if (!node.exists && !node.subscribed && extra.empty()) continue;
    } else {
      if (!node.exists && !node.has_children) continue;  // a bare subscription
    }
    Node shown = node;
    if (!node.exists && !o.sel_subscribed) shown.subscribed = false;
    Line line{"LIST " + Attributes(shown, o) + " \"/\" " + s.MailboxWire(name) + extra,
              o.ret_status && node.exists ? &node.record : nullptr};
    if (name == "INBOX") {
      inbox_line = std::move(line);
    } else {
      lines.push_back(std::move(line));
    }
  }
  auto write = [&](const Line& l) {
    s.Untagged(l.text);
    if (l.status != nullptr) s.Untagged(StatusResponse(s, *l.status, o.status_items));
  };
  if (!inbox_line.text.empty()) write(inbox_line);
  for (const auto& l : lines) write(l);
  s.Finish(cmd, done);
}

}  // namespace

void CmdList(ImapSession& s, Command& cmd) { Run(s, cmd, false); }
void CmdLsub(ImapSession& s, Command& cmd) { Run(s, cmd, true); }

}  // namespace pillarbox::imap
