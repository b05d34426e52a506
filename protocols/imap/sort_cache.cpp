#include "protocols/imap/sort_cache.h"

#include <algorithm>
#include <numeric>

namespace pillarbox::imap {
namespace {

// Bytes of one arena chunk: large enough that chunks are few, small enough
// that the last one wastes little.
constexpr std::size_t kArenaChunkBytes = std::size_t{256} << 10;

// The string key of `keys` that `key` names.
std::string_view StringOf(const mime::SortKeysView& keys, SortKey key) {
  switch (key) {
    case SortKey::kCc:
      return keys.cc;
    case SortKey::kFrom:
      return keys.from;
    case SortKey::kSubject:
      return keys.subject;
    case SortKey::kTo:
      return keys.to;
    case SortKey::kDisplayFrom:
      return keys.display_from;
    case SortKey::kDisplayTo:
      return keys.display_to;
    default:
      return {};
  }
}

std::uint32_t* RankSlot(SortRanks& ranks, SortKey key) {
  switch (key) {
    case SortKey::kCc:
      return &ranks.cc;
    case SortKey::kFrom:
      return &ranks.from;
    case SortKey::kSubject:
      return &ranks.subject;
    case SortKey::kTo:
      return &ranks.to;
    case SortKey::kDisplayFrom:
      return &ranks.display_from;
    case SortKey::kDisplayTo:
      return &ranks.display_to;
    default:
      return nullptr;
  }
}

// `keys` decoded from `from`, pointing into `to` (a copy of `from`) instead.
mime::SortKeysView Rebase(const mime::SortKeysView& keys, std::string_view from,
                          std::string_view to) {
  mime::SortKeysView out = keys;
  for (std::string_view* s : {&out.subject, &out.from, &out.to, &out.cc, &out.display_from,
                              &out.display_to, &out.message_id, &out.references}) {
    *s = to.substr(static_cast<std::size_t>(s->data() - from.data()), s->size());
  }
  return out;
}

// Where `uid` is in `entries` (ascending) from `*pos` on, or -1; moves
// `*pos`. Inputs in UID order mostly find their entry right at `*pos`.
template <typename Entries>
std::int64_t Find(const Entries& entries, storage::Uid uid, std::size_t* pos) {
  if (*pos < entries.size() && entries[*pos].uid == uid) return static_cast<std::int64_t>((*pos)++);
  if (*pos > 0 && entries[*pos - 1].uid >= uid) *pos = 0;  // not ascending
  auto it = std::lower_bound(entries.begin() + static_cast<std::ptrdiff_t>(*pos), entries.end(),
                             uid, [](const auto& e, storage::Uid u) { return e.uid < u; });
  *pos = static_cast<std::size_t>(it - entries.begin());
  if (it == entries.end() || it->uid != uid) return -1;
  return static_cast<std::int64_t>((*pos)++);
}

}  // namespace

struct SortKeyCache::MailboxKeys {
  struct Entry {
    storage::Uid uid = 0;
    mime::SortKeysView keys;  // points into `arena`
    SortRanks ranks;
  };
  std::vector<Entry> entries;  // ascending UID
  std::uint16_t ranked = 0;    // RankBits valid for every entry
  // Encoded keys; a chunk is never appended past its capacity, so views
  // into it stay valid.
  std::deque<std::string> arena;
  std::size_t arena_bytes = 0;

  std::size_t Bytes() const { return entries.capacity() * sizeof(Entry) + arena_bytes; }

  std::string_view Keep(std::string_view encoded) {
    if (arena.empty() || arena.back().capacity() - arena.back().size() < encoded.size()) {
      arena.emplace_back();
      std::size_t cap = std::max(kArenaChunkBytes, encoded.size());
      arena.back().reserve(cap);
      arena_bytes += arena.back().capacity();
    }
    std::string& chunk = arena.back();
    std::size_t at = chunk.size();
    chunk.append(encoded);
    return std::string_view(chunk).substr(at, encoded.size());
  }

  // Ranks `key` over every entry: one sort of the strings, kept until
  // entries are added.
  void Rank(SortKey key) {
    const std::uint16_t bit = RankBit(key);
    SortRanks probe;
    if ((ranked & bit) != 0 || RankSlot(probe, key) == nullptr) return;  // done, or not a string
    // The first 16 bytes as numbers decide most comparisons.
    // Strings of up to 16 bytes with equal prefixes differ only in length.
    struct Ref {
      std::uint64_t hi, lo;
      std::uint32_t size, index;
    };
    std::vector<Ref> refs(entries.size());
    for (std::uint32_t i = 0; i < entries.size(); ++i) {
      std::string_view str = StringOf(entries[i].keys, key);
      refs[i] = {StringPrefix(str, 0), StringPrefix(str, 8), static_cast<std::uint32_t>(str.size()),
                 i};
    }
    auto cmp = [&](const Ref& a, const Ref& b) {
      if (a.hi != b.hi) return a.hi < b.hi ? -1 : 1;
      if (a.lo != b.lo) return a.lo < b.lo ? -1 : 1;
      if (a.size <= 16 && b.size <= 16) return a.size == b.size ? 0 : (a.size < b.size ? -1 : 1);
      return StringOf(entries[a.index].keys, key).compare(StringOf(entries[b.index].keys, key));
    };
    std::sort(refs.begin(), refs.end(), [&](const Ref& a, const Ref& b) { return cmp(a, b) < 0; });
    std::uint32_t rank = 0;
    for (std::size_t i = 0; i < refs.size(); ++i) {
      if (i > 0 && cmp(refs[i - 1], refs[i]) != 0) ++rank;
      *RankSlot(entries[refs[i].index].ranks, key) = rank;
    }
    ranked |= bit;
  }
};

SortLoad SortKeyCache::Load(storage::ReadView& view, storage::MailboxId mailbox,
                            std::uint32_t uidvalidity, std::size_t mailbox_messages,
                            const std::vector<SortInput>& inputs,
                            const std::vector<SortKey>& ranked_keys) {
  const Key key{mailbox, uidvalidity};
  std::shared_ptr<MailboxKeys> mk;
  if (auto it = by_mailbox_.find(key); it != by_mailbox_.end()) {
    mk = it->second->second;
    lru_.splice(lru_.begin(), lru_, it->second);
    // Mostly expunged UIDs: start afresh rather than keep them.
    if (mk->entries.size() > 2 * mailbox_messages + 1024) {
      bytes_ -= mk->Bytes();
      mk = std::make_shared<MailboxKeys>();
      lru_.front().second = mk;
    }
  } else {
    mk = std::make_shared<MailboxKeys>();
    lru_.emplace_front(key, mk);
    by_mailbox_[key] = lru_.begin();
  }
  bytes_ -= mk->Bytes();

  // Where each input is in `entries` (or -1), walking both in UID order.
  auto& entries = mk->entries;
  std::vector<std::int64_t> at(inputs.size(), -1);
  std::vector<std::uint32_t> missing;
  {
    std::size_t pos = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      at[i] = Find(entries, inputs[i].uid, &pos);
      if (at[i] < 0) missing.push_back(static_cast<std::uint32_t>(i));
    }
  }

  if (!missing.empty()) {
    std::vector<const storage::BlobId*> blobs(missing.size());
    for (std::size_t j = 0; j < missing.size(); ++j) blobs[j] = &inputs[missing[j]].blob;
    std::deque<std::string> computed;
    // Copied while each value's page is at hand; uid 0 marks a message that
    // cannot be read (it sorts with empty keys and is not kept).
    std::vector<MailboxKeys::Entry> added(missing.size());
    ReadEncodedSortKeys(view, blobs, &computed, nullptr,
                        [&](std::size_t j, std::string_view encoded, const mime::SortKeysView& k) {
                          added[j].uid = inputs[missing[j]].uid;
                          added[j].keys = Rebase(k, encoded, mk->Keep(encoded));
                        });
    added.erase(
        std::remove_if(added.begin(), added.end(), [](const auto& e) { return e.uid == 0; }),
        added.end());
    // Inputs come in UID order but need not.
    auto by_uid = [](const auto& a, const auto& b) { return a.uid < b.uid; };
    if (!std::is_sorted(added.begin(), added.end(), by_uid)) {
      std::sort(added.begin(), added.end(), by_uid);
    }
    // A UID asked for twice in one command is kept once.
    added.erase(std::unique(added.begin(), added.end(),
                            [](const auto& a, const auto& b) { return a.uid == b.uid; }),
                added.end());
    if (entries.empty()) {
      entries = std::move(added);
    } else {
      std::vector<MailboxKeys::Entry> merged;
      merged.reserve(entries.size() + added.size());
      std::merge(entries.begin(), entries.end(), added.begin(), added.end(),
                 std::back_inserter(merged),
                 [](const auto& a, const auto& b) { return a.uid < b.uid; });
      entries = std::move(merged);
    }
    mk->ranked = 0;
    // Positions moved: find every input again.
    std::size_t pos = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) at[i] = Find(entries, inputs[i].uid, &pos);
  }
  for (SortKey k : ranked_keys) mk->Rank(k);

  SortLoad out;
  out.items.resize(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const SortInput& in = inputs[i];
    SortItem& item = out.items[i];
    item.seq = in.seq;
    item.uid = in.uid;
    item.internal_date = in.internal_date;
    item.size = in.size;
    if (at[i] >= 0) {
      const MailboxKeys::Entry& e = entries[static_cast<std::size_t>(at[i])];
      item.keys = e.keys;
      item.ranks = e.ranks;
      item.ranked = mk->ranked;
    }
  }
  out.hold = mk;

  bytes_ += mk->Bytes();
  Evict();
  return out;
}

void SortKeyCache::Evict() {
  // Least recently used first; the mailbox just used (at the front) last.
  while (bytes_ > max_bytes_ && !lru_.empty()) {
    auto victim = std::prev(lru_.end());
    bytes_ -= victim->second->Bytes();
    by_mailbox_.erase(victim->first);
    lru_.erase(victim);
  }
}

}  // namespace pillarbox::imap
