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

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace pillarbox::config {

struct ImapConfig;
struct Pop3Config;

// IMAP extensions that can be turned off (bits of ImapDisabled()).
inline constexpr unsigned kImapLiteralPlus = 1u << 0;        // RFC 7888
inline constexpr unsigned kImapSaslIr = 1u << 1;             // RFC 4959
inline constexpr unsigned kImapId = 1u << 2;                 // RFC 2971
inline constexpr unsigned kImapEnable = 1u << 3;             // RFC 5161
inline constexpr unsigned kImapIdle = 1u << 4;               // RFC 2177
inline constexpr unsigned kImapNamespace = 1u << 5;          // RFC 2342
inline constexpr unsigned kImapUnselect = 1u << 6;           // RFC 3691
inline constexpr unsigned kImapChildren = 1u << 7;           // RFC 3348
inline constexpr unsigned kImapUidPlus = 1u << 8;            // RFC 4315
inline constexpr unsigned kImapMove = 1u << 9;               // RFC 6851
inline constexpr unsigned kImapSpecialUse = 1u << 10;        // RFC 6154
inline constexpr unsigned kImapListExtended = 1u << 11;      // RFC 5258
inline constexpr unsigned kImapCondstore = 1u << 12;         // RFC 7162
inline constexpr unsigned kImapQresync = 1u << 13;           // RFC 7162
inline constexpr unsigned kImapEsearch = 1u << 14;           // RFC 4731
inline constexpr unsigned kImapSearchRes = 1u << 15;         // RFC 5182
inline constexpr unsigned kImapSort = 1u << 16;              // RFC 5256, 5957, 5267 (ESORT)
inline constexpr unsigned kImapThread = 1u << 17;            // RFC 5256
inline constexpr unsigned kImapListStatus = 1u << 18;        // RFC 5819
inline constexpr unsigned kImapStatusSize = 1u << 19;        // RFC 8438
inline constexpr unsigned kImapCreateSpecialUse = 1u << 20;  // RFC 6154
inline constexpr unsigned kImapMultiAppend = 1u << 21;       // RFC 3502
inline constexpr unsigned kImapCatenate = 1u << 22;          // RFC 4469
inline constexpr unsigned kImapAppendLimit = 1u << 23;       // RFC 7889
inline constexpr unsigned kImapBinary = 1u << 24;            // RFC 3516
inline constexpr unsigned kImapQuota = 1u << 25;             // RFC 9208
inline constexpr unsigned kImapCompress = 1u << 26;          // RFC 4978
inline constexpr unsigned kImapUtf8Accept = 1u << 27;        // RFC 6855
inline constexpr unsigned kImapRev2 = 1u << 28;              // RFC 9051
inline constexpr unsigned kImapSaveDate = 1u << 29;          // RFC 8514
inline constexpr unsigned kImapObjectId = 1u << 30;          // RFC 8474
inline constexpr unsigned kImapContext = 1u << 31;           // RFC 5267 CONTEXT=SEARCH/SORT

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
unsigned ImapExtensionBit(std::string_view name);

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
unsigned ImapDisabled(const ImapConfig& imap);
unsigned Pop3Disabled(const Pop3Config& pop3);

}  // namespace pillarbox::config
