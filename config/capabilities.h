// Capability profiles: which protocol extensions a session offers, for
// client developers who need a server without some of them (README.md
// "Misbehaving on purpose: faults and capability profiles").
//
// `imap.profile` names a preset; `imap.capabilities` and
// `pop3.capabilities` list removals ("-IDLE -MOVE -LITERAL+"). All three may
// be set globally and per user (config::UserConfig); a session resolves them
// before login from the global configuration and again at login.
// A disabled extension is off, not only missing from CAPABILITY/CAPA: its
// commands are refused as by a server without it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace pillarbox::config {

struct ImapConfig;
struct Pop3Config;

// IMAP extensions that can be turned off (bits of ImapDisabled()).
inline constexpr std::uint64_t kImapLiteralPlus = 1ull << 0;        // RFC 7888
inline constexpr std::uint64_t kImapSaslIr = 1ull << 1;             // RFC 4959
inline constexpr std::uint64_t kImapId = 1ull << 2;                 // RFC 2971
inline constexpr std::uint64_t kImapEnable = 1ull << 3;             // RFC 5161
inline constexpr std::uint64_t kImapIdle = 1ull << 4;               // RFC 2177
inline constexpr std::uint64_t kImapNamespace = 1ull << 5;          // RFC 2342
inline constexpr std::uint64_t kImapUnselect = 1ull << 6;           // RFC 3691
inline constexpr std::uint64_t kImapChildren = 1ull << 7;           // RFC 3348
inline constexpr std::uint64_t kImapUidPlus = 1ull << 8;            // RFC 4315
inline constexpr std::uint64_t kImapMove = 1ull << 9;               // RFC 6851
inline constexpr std::uint64_t kImapSpecialUse = 1ull << 10;        // RFC 6154
inline constexpr std::uint64_t kImapListExtended = 1ull << 11;      // RFC 5258
inline constexpr std::uint64_t kImapCondstore = 1ull << 12;         // RFC 7162
inline constexpr std::uint64_t kImapQresync = 1ull << 13;           // RFC 7162
inline constexpr std::uint64_t kImapEsearch = 1ull << 14;           // RFC 4731
inline constexpr std::uint64_t kImapSearchRes = 1ull << 15;         // RFC 5182
inline constexpr std::uint64_t kImapSort = 1ull << 16;              // RFC 5256, 5957, 5267 (ESORT)
inline constexpr std::uint64_t kImapThread = 1ull << 17;            // RFC 5256
inline constexpr std::uint64_t kImapListStatus = 1ull << 18;        // RFC 5819
inline constexpr std::uint64_t kImapStatusSize = 1ull << 19;        // RFC 8438
inline constexpr std::uint64_t kImapCreateSpecialUse = 1ull << 20;  // RFC 6154
inline constexpr std::uint64_t kImapMultiAppend = 1ull << 21;       // RFC 3502
inline constexpr std::uint64_t kImapCatenate = 1ull << 22;          // RFC 4469
inline constexpr std::uint64_t kImapAppendLimit = 1ull << 23;       // RFC 7889
inline constexpr std::uint64_t kImapBinary = 1ull << 24;            // RFC 3516
inline constexpr std::uint64_t kImapQuota = 1ull << 25;             // RFC 9208
inline constexpr std::uint64_t kImapCompress = 1ull << 26;          // RFC 4978
inline constexpr std::uint64_t kImapUtf8Accept = 1ull << 27;        // RFC 6855
inline constexpr std::uint64_t kImapRev2 = 1ull << 28;              // RFC 9051
inline constexpr std::uint64_t kImapSaveDate = 1ull << 29;          // RFC 8514
inline constexpr std::uint64_t kImapObjectId = 1ull << 30;          // RFC 8474
inline constexpr std::uint64_t kImapContext = 1ull << 31;           // RFC 5267 CONTEXT=SEARCH/SORT
inline constexpr std::uint64_t kImapNotify = 1ull << 32;            // RFC 5465

// POP3 capabilities that can be turned off (bits of Pop3Disabled()).
inline constexpr unsigned kPop3Top = 1u << 0;
inline constexpr unsigned kPop3Uidl = 1u << 1;
inline constexpr unsigned kPop3Pipelining = 1u << 2;
inline constexpr unsigned kPop3User = 1u << 3;
inline constexpr unsigned kPop3Sasl = 1u << 4;
inline constexpr unsigned kPop3Stls = 1u << 5;
inline constexpr unsigned kPop3RespCodes = 1u << 6;
inline constexpr unsigned kPop3AuthRespCode = 1u << 7;
inline constexpr unsigned kPop3Expire = 1u << 8;
inline constexpr unsigned kPop3LoginDelay = 1u << 9;

// The bit of an IMAP extension by its CAPABILITY name (upper case), 0 when
// it cannot be turned off.
std::uint64_t ImapExtensionBit(std::string_view name);

// "full" (default), "rfc3501" (IMAP4rev1 only), "minimal-sync" (no
// CONDSTORE/QRESYNC), "no-literal-plus", "no-idle".
Status CheckImapProfile(std::string_view profile);
// A space- or comma-separated list of removals, each "-NAME" ("-IDLE -MOVE").
Status CheckImapRemovals(std::string_view list);
Status CheckPop3Removals(std::string_view list);

// Per-listener overrides (imap.listener_profiles, pop3.listener_capabilities):
// "ADDRESS=VALUE", VALUE a profile name (IMAP) or a removal list. Checked
// entry by entry.
Status CheckImapListenerProfile(std::string_view entry);
Status CheckPop3ListenerCapabilities(std::string_view entry);
// The VALUE for the listener `address` (as written in listen/tls_listen),
// or "" when it has none.
std::string ListenerOverride(const std::vector<std::string>& entries, std::string_view address);
// Applies a listener's VALUE: a profile name replaces imap.profile, a
// removal list is added to imap.capabilities (pop3.capabilities).
void ApplyListenerOverride(ImapConfig* imap, std::string_view value);
void ApplyListenerOverride(Pop3Config* pop3, std::string_view value);

// The extensions turned off by the profile and the removals.
std::uint64_t ImapDisabled(const ImapConfig& imap);
unsigned Pop3Disabled(const Pop3Config& pop3);

}  // namespace pillarbox::config
