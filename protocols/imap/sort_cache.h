// SortKeyCache: the decoded sort keys (mime/sort_keys.h) of the mailboxes
// sorted or threaded lately, so that a repeated SORT or THREAD neither reads
// nor decodes them again, and the ranks of their strings (SortRanks), so that
// it compares integers.
//
// Keys: a mailbox's entry is (mailbox id, UIDVALIDITY); inside it, a UID's
// keys never change (a UID names one message for the life of its
// UIDVALIDITY and a message's bytes never change), so nothing needs telling
// about changes: a UID not yet in the cache is read from the store when a
// command asks for it (new mail), and a UID that was expunged is never asked
// for again. When expunged UIDs make up more than half of a mailbox's
// entries, the entry starts afresh.
//
// Memory: bounded by `max_bytes` (kDefaultSortCacheBytes: 100k messages take
// about 28 MiB): after each Load the least recently used mailboxes are
// dropped until the rest fit. A mailbox that alone needs more is used for
// its command and then dropped, so its SORTs read the store each time.
//
// Ownership: the items Load returns point into the mailbox's entry, which
// `SortLoad::hold` keeps alive even when the cache drops it.
//
// Thread-safety: one cache per loop thread, shared by its IMAP sessions
// (protocols::SessionContext::sort_cache); not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "protocols/imap/sort.h"
#include "storage/store.h"
#include "storage/types.h"

namespace pillarbox::imap {

// Default bound of a server's cache: a few 100k-message mailboxes.
inline constexpr std::size_t kDefaultSortCacheBytes = std::size_t{128} << 20;

struct SortLoad {
  std::vector<SortItem> items;       // in the order of the inputs
  std::shared_ptr<const void> hold;  // keeps the keys `items` point to
};

class SortKeyCache {
 public:
  explicit SortKeyCache(std::size_t max_bytes = kDefaultSortCacheBytes) : max_bytes_(max_bytes) {}
  SortKeyCache(const SortKeyCache&) = delete;
  SortKeyCache& operator=(const SortKeyCache&) = delete;

  // The items of `inputs`, messages of mailbox (`mailbox`, `uidvalidity`)
  // which now holds `mailbox_messages` messages, with their keys, and ranks
  // for the string keys in `ranked_keys`. Keys not cached are read from
  // `view` (or computed from the message, as LoadSortItems does).
  // Cheapest when `inputs` ascend by UID (as a session's sequence order).
  SortLoad Load(storage::ReadView& view, storage::MailboxId mailbox, std::uint32_t uidvalidity,
                std::size_t mailbox_messages, const std::vector<SortInput>& inputs,
                const std::vector<SortKey>& ranked_keys);

  // Bytes held now, mailboxes held now; for tests and the bench.
  std::size_t bytes() const { return bytes_; }
  std::size_t mailboxes() const { return by_mailbox_.size(); }

 private:
  struct MailboxKeys;
  using Key = std::pair<storage::MailboxId, std::uint32_t>;
  using Lru = std::list<std::pair<Key, std::shared_ptr<MailboxKeys>>>;

  void Evict();

  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  Lru lru_;  // most recently used first
  std::map<Key, Lru::iterator> by_mailbox_;
};

}  // namespace pillarbox::imap
