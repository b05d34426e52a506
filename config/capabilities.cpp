#include "config/capabilities.h"

#include <array>
#include <utility>

#include "config/config.h"

namespace pillarbox::config {
namespace {

struct Named {
  std::string_view name;
  std::uint64_t bit;
};

constexpr std::array kImapExtensions = {
    Named{"LITERAL+", kImapLiteralPlus},
    Named{"SASL-IR", kImapSaslIr},
    Named{"ID", kImapId},
    Named{"ENABLE", kImapEnable},
    Named{"IDLE", kImapIdle},
    Named{"NAMESPACE", kImapNamespace},
    Named{"UNSELECT", kImapUnselect},
    Named{"CHILDREN", kImapChildren},
    Named{"UIDPLUS", kImapUidPlus},
    Named{"MOVE", kImapMove},
    Named{"SPECIAL-USE", kImapSpecialUse},
    Named{"LIST-EXTENDED", kImapListExtended},
    Named{"CONDSTORE", kImapCondstore},
    Named{"QRESYNC", kImapQresync},
    Named{"ESEARCH", kImapEsearch},
    Named{"SEARCHRES", kImapSearchRes},
    Named{"SORT", kImapSort},
    Named{"SORT=DISPLAY", kImapSort},
    Named{"ESORT", kImapSort},
    Named{"THREAD=REFERENCES", kImapThread},
    Named{"THREAD=ORDEREDSUBJECT", kImapThread},
    Named{"LIST-STATUS", kImapListStatus},
    Named{"STATUS=SIZE", kImapStatusSize},
    Named{"CREATE-SPECIAL-USE", kImapCreateSpecialUse},
    Named{"MULTIAPPEND", kImapMultiAppend},
    Named{"CATENATE", kImapCatenate},
    Named{"APPENDLIMIT", kImapAppendLimit},
    Named{"BINARY", kImapBinary},
    Named{"QUOTA", kImapQuota},
    Named{"QUOTA=RES-STORAGE", kImapQuota},
    Named{"QUOTA=RES-MESSAGE", kImapQuota},
    Named{"COMPRESS=DEFLATE", kImapCompress},
    Named{"UTF8=ACCEPT", kImapUtf8Accept},
    Named{"IMAP4REV2", kImapRev2},
    Named{"SAVEDATE", kImapSaveDate},
    Named{"OBJECTID", kImapObjectId},
    Named{"CONTEXT=SEARCH", kImapContext},
    Named{"CONTEXT=SORT", kImapContext},
    Named{"PARTIAL", kImapContext},  // RFC 9394; first defined with CONTEXT (RFC 5267)
    Named{"NOTIFY", kImapNotify},
};

constexpr std::array kPop3Capabilities = {
    Named{"TOP", kPop3Top},
    Named{"UIDL", kPop3Uidl},
    Named{"PIPELINING", kPop3Pipelining},
    Named{"USER", kPop3User},
    Named{"SASL", kPop3Sasl},
    Named{"STLS", kPop3Stls},
    Named{"RESP-CODES", kPop3RespCodes},
    Named{"AUTH-RESP-CODE", kPop3AuthRespCode},
    Named{"EXPIRE", kPop3Expire},
    Named{"LOGIN-DELAY", kPop3LoginDelay},
};

constexpr std::uint64_t kAllImap = ~std::uint64_t{0};

struct Profile {
  std::string_view name;
  std::uint64_t disabled;
};

constexpr std::array kProfiles = {
    Profile{"full", 0},
    Profile{"rfc3501", kAllImap},
    Profile{"minimal-sync", kImapCondstore | kImapQresync},
    Profile{"no-literal-plus", kImapLiteralPlus},
    Profile{"no-idle", kImapIdle},
};

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

template <typename Table>
std::uint64_t BitOf(const Table& table, std::string_view upper) {
  for (const Named& n : table) {
    if (n.name == upper) return n.bit;
  }
  return 0;
}

// Calls fn(upper-case name) for each item of a removal list; an item not
// starting with '-' is an error.
template <typename Fn>
Status ForEachRemoval(std::string_view list, Fn fn) {
  std::size_t i = 0;
  while (i < list.size()) {
    if (list[i] == ' ' || list[i] == ',' || list[i] == '\t') {
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < list.size() && list[end] != ' ' && list[end] != ',' && list[end] != '\t') ++end;
    std::string_view item = list.substr(i, end - i);
    if (item.size() < 2 || item.front() != '-') {
      return Status(Code::kInvalidArgument,
                    "\"" + std::string(item) + "\": expected a removal such as -IDLE");
    }
    PB_RETURN_IF_ERROR(fn(Upper(item.substr(1))));
    i = end;
  }
  return Status::Ok();
}

template <typename Table>
Status CheckRemovals(const Table& table, std::string_view list) {
  return ForEachRemoval(list, [&](const std::string& name) -> Status {
    if (BitOf(table, name) != 0) return Status::Ok();
    std::string known;
    for (const Named& n : table) known += (known.empty() ? "" : ", ") + std::string(n.name);
    return Status(Code::kInvalidArgument,
                  "unknown capability " + name + " (one of: " + known + ")");
  });
}

template <typename Table>
std::uint64_t Removed(const Table& table, std::string_view list) {
  std::uint64_t bits = 0;
  (void)ForEachRemoval(list, [&](const std::string& name) {
    bits |= BitOf(table, name);
    return Status::Ok();
  });
  return bits;
}

}  // namespace

std::uint64_t ImapExtensionBit(std::string_view name) { return BitOf(kImapExtensions, name); }

Status CheckImapProfile(std::string_view profile) {
  for (const Profile& p : kProfiles) {
    if (p.name == profile) return Status::Ok();
  }
  return Status(Code::kInvalidArgument,
                "expected full, rfc3501, minimal-sync, no-literal-plus or no-idle");
}

Status CheckImapRemovals(std::string_view list) { return CheckRemovals(kImapExtensions, list); }
Status CheckPop3Removals(std::string_view list) { return CheckRemovals(kPop3Capabilities, list); }

namespace {

// Splits "ADDRESS=VALUE" at its first '=' (addresses have none).
bool SplitListenerEntry(std::string_view entry, std::string_view* address,
                        std::string_view* value) {
  std::size_t eq = entry.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 >= entry.size()) return false;
  *address = entry.substr(0, eq);
  *value = entry.substr(eq + 1);
  while (!address->empty() && address->back() == ' ') address->remove_suffix(1);
  while (!value->empty() && value->front() == ' ') value->remove_prefix(1);
  return !address->empty() && !value->empty();
}

}  // namespace

Status CheckImapListenerProfile(std::string_view entry) {
  std::string_view address, value;
  if (!SplitListenerEntry(entry, &address, &value)) {
    return Status::InvalidArgument("\"" + std::string(entry) +
                                   "\": expected ADDRESS=PROFILE, e.g. 127.0.0.1:1144=rfc3501");
  }
  return value.front() == '-' ? CheckImapRemovals(value) : CheckImapProfile(value);
}

Status CheckPop3ListenerCapabilities(std::string_view entry) {
  std::string_view address, value;
  if (!SplitListenerEntry(entry, &address, &value)) {
    return Status::InvalidArgument("\"" + std::string(entry) +
                                   "\": expected ADDRESS=-REMOVALS, e.g. 127.0.0.1:1111=-UIDL");
  }
  return CheckPop3Removals(value);
}

std::string ListenerOverride(const std::vector<std::string>& entries, std::string_view address) {
  for (const std::string& entry : entries) {
    std::string_view a, v;
    if (SplitListenerEntry(entry, &a, &v) && a == address) return std::string(v);
  }
  return {};
}

void ApplyListenerOverride(ImapConfig* imap, std::string_view value) {
  if (value.empty()) return;
  if (value.front() == '-') {
    imap->capabilities += (imap->capabilities.empty() ? "" : " ") + std::string(value);
  } else {
    imap->profile = std::string(value);
  }
}

void ApplyListenerOverride(Pop3Config* pop3, std::string_view value) {
  if (value.empty()) return;
  pop3->capabilities += (pop3->capabilities.empty() ? "" : " ") + std::string(value);
}

std::uint64_t ImapDisabled(const ImapConfig& imap) {
  std::uint64_t bits = 0;
  for (const Profile& p : kProfiles) {
    if (p.name == imap.profile) bits = p.disabled;
  }
  return bits | Removed(kImapExtensions, imap.capabilities);
}

unsigned Pop3Disabled(const Pop3Config& pop3) {
  return static_cast<unsigned>(Removed(kPop3Capabilities, pop3.capabilities));
}

}  // namespace pillarbox::config
