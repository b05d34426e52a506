#include "protocols/imap/sort.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <numeric>
#include <unordered_map>

namespace pillarbox::imap {
namespace {

template <typename T>
int Compare(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

int CompareBy(const SortItem& a, const SortItem& b, SortKey key) {
  switch (key) {
    case SortKey::kArrival:
      return Compare(a.internal_date, b.internal_date);
    case SortKey::kCc:
      return a.keys.cc.compare(b.keys.cc);
    case SortKey::kDate:
      return Compare(a.SentDate(), b.SentDate());
    case SortKey::kFrom:
      return a.keys.from.compare(b.keys.from);
    case SortKey::kSize:
      return Compare(a.size, b.size);
    case SortKey::kSubject:
      return a.keys.subject.compare(b.keys.subject);
    case SortKey::kTo:
      return a.keys.to.compare(b.keys.to);
    case SortKey::kDisplayFrom:
      return a.keys.display_from.compare(b.keys.display_from);
    case SortKey::kDisplayTo:
      return a.keys.display_to.compare(b.keys.display_to);
  }
  return 0;
}

// The rank of a string key (0 for the others).
std::uint32_t RankOf(const SortItem& item, SortKey key) {
  switch (key) {
    case SortKey::kCc:
      return item.ranks.cc;
    case SortKey::kFrom:
      return item.ranks.from;
    case SortKey::kSubject:
      return item.ranks.subject;
    case SortKey::kTo:
      return item.ranks.to;
    case SortKey::kDisplayFrom:
      return item.ranks.display_from;
    case SortKey::kDisplayTo:
      return item.ranks.display_to;
    default:
      return 0;
  }
}

// Which keys every item has ranks for.
std::uint16_t CommonRanks(const std::vector<SortItem>& items) {
  std::uint16_t mask = 0xffff;
  for (const SortItem& item : items) mask &= item.ranked;
  return items.empty() ? 0 : mask;
}

// A pair of numbers that orders like `key` (equal pairs may still differ in
// the full comparison): numbers themselves (signed ones with the sign bit
// flipped), ranked strings by their rank (then equal pairs are equal keys),
// other strings by their first 16 bytes.
struct Prefix {
  std::uint64_t hi = 0, lo = 0;
  bool operator==(const Prefix&) const = default;
  bool operator<(const Prefix& o) const { return hi != o.hi ? hi < o.hi : lo < o.lo; }
};

Prefix SortPrefix(const SortItem& item, SortKey key, std::uint16_t ranked) {
  constexpr std::uint64_t kSignBit = std::uint64_t{1} << 63;
  if ((ranked & RankBit(key)) != 0) return {RankOf(item, key), 0};
  std::string_view s;
  switch (key) {
    case SortKey::kArrival:
      return {static_cast<std::uint64_t>(item.internal_date) ^ kSignBit, 0};
    case SortKey::kDate:
      return {static_cast<std::uint64_t>(item.SentDate()) ^ kSignBit, 0};
    case SortKey::kSize:
      return {item.size, 0};
    case SortKey::kCc:
      s = item.keys.cc;
      break;
    case SortKey::kFrom:
      s = item.keys.from;
      break;
    case SortKey::kSubject:
      s = item.keys.subject;
      break;
    case SortKey::kTo:
      s = item.keys.to;
      break;
    case SortKey::kDisplayFrom:
      s = item.keys.display_from;
      break;
    case SortKey::kDisplayTo:
      s = item.keys.display_to;
      break;
  }
  return {StringPrefix(s, 0), StringPrefix(s, 8)};
}

// ---- THREAD=REFERENCES ------------------------------------------------------

// Message-ID -> node: open addressing with linear probing over a power-of-two
// table at most half full, hashing 8 bytes at a time. Cheaper than
// std::unordered_map (no node per id, no byte-at-a-time hash) for the few
// hundred thousand ids of a large mailbox.
class IdTable {
 public:
  explicit IdTable(std::size_t expected) {
    std::size_t capacity = 16;
    while (capacity < expected * 2) capacity *= 2;
    Rehash(capacity);
  }

  // The node of `id`; when it has none, `make()`'s (inserted).
  template <typename Make>
  int FindOrInsert(std::string_view id, Make make) {
    if ((size_ + 1) * 2 > slots_.size()) Rehash(slots_.size() * 2);
    const std::uint64_t h = Hash(id);
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      Slot& slot = slots_[i];
      if (slot.node < 0) {
        slot = {h, id, make()};
        ++size_;
        return slot.node;
      }
      if (slot.hash == h && slot.id == id) return slot.node;
    }
  }

 private:
  struct Slot {
    std::uint64_t hash = 0;
    std::string_view id;
    int node = -1;  // -1: empty
  };

  static std::uint64_t Hash(std::string_view s) {
    std::uint64_t h = 0x9e3779b97f4a7c15ull ^ s.size();
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
      std::uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
      h ^= h >> 31;
    }
    std::uint64_t tail = 0;
    for (std::size_t k = 0; i < s.size(); ++i, k += 8) {
      tail |= std::uint64_t{static_cast<unsigned char>(s[i])} << k;
    }
    h = (h ^ tail) * 0x94d049bb133111ebull;
    return h ^ (h >> 29);
  }

  void Rehash(std::size_t capacity) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
    for (const Slot& slot : old) {
      if (slot.node < 0) continue;
      std::size_t i = slot.hash & mask_;
      while (slots_[i].node >= 0) i = (i + 1) & mask_;
      slots_[i] = slot;
    }
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

struct Node {
  int msg = -1;  // index into items; -1: a dummy
  int parent = -1;
  std::vector<int> children;
};

class ReferencesThreader {
 public:
  explicit ReferencesThreader(const std::vector<SortItem>& items)
      : items_(items), budget_(kMaxThreadLoopChecks + 64 * items.size()) {}

  std::vector<int> Run() {
    nodes_.reserve(items_.size() * 2);
    Link();
    std::vector<int> roots;
    for (int i = 0; i < static_cast<int>(nodes_.size()); ++i) {
      if (nodes_[i].parent == -1) roots.push_back(i);
    }
    roots = Prune(roots);
    SortAll(roots);
    roots = MergeSubjects(roots);
    SortAll(roots);
    return roots;
  }

  const std::vector<Node>& nodes() const { return nodes_; }

 private:
  int NewNode() {
    nodes_.emplace_back();
    return static_cast<int>(nodes_.size()) - 1;
  }
  int NodeFor(std::string_view id) {
    return by_id_.FindOrInsert(id, [&] { return NewNode(); });
  }
  // True when `ancestor` is `node` or one of its ancestors. Unknown (out
  // of budget) counts as true: the link is not made.
  bool IsAncestorOrSelf(int ancestor, int node) {
    if (nodes_[ancestor].children.empty()) return ancestor == node;
    for (int n = node; n != -1; n = nodes_[n].parent) {
      if (n == ancestor) return true;
      if (budget_ == 0) return true;
      --budget_;
    }
    return false;
  }
  void SetParent(int child, int parent) {
    nodes_[child].parent = parent;
    nodes_[parent].children.push_back(child);
  }
  void Unlink(int child) {
    int p = nodes_[child].parent;
    if (p == -1) return;
    auto& c = nodes_[p].children;
    c.erase(std::find(c.begin(), c.end(), child));
    nodes_[child].parent = -1;
  }

  void Link() {
    std::vector<std::string_view> refs;
    for (int i = 0; i < static_cast<int>(items_.size()); ++i) {
      const mime::SortKeysView& k = items_[i].keys;
      int self = -1;
      if (!k.message_id.empty()) {
        int n = NodeFor(k.message_id);
        if (nodes_[n].msg == -1) self = n;  // else a duplicate: a node of its own
      }
      if (self == -1) self = NewNode();
      nodes_[self].msg = i;

      refs.clear();
      std::string_view r = k.references;
      while (!r.empty()) {
        std::size_t sp = r.find(' ');
        std::string_view id = r.substr(0, sp);
        if (!id.empty()) refs.push_back(id);
        if (sp == std::string_view::npos) break;
        r.remove_prefix(sp + 1);
      }
      // Step 1A: each reference the parent of the next, unless linked already.
      int prev = -1;
      for (std::string_view id : refs) {
        int n = NodeFor(id);
        if (prev != -1 && n != prev && nodes_[n].parent == -1 && !IsAncestorOrSelf(n, prev)) {
          SetParent(n, prev);
        }
        prev = n;
      }
      // Step 1B: the last reference is the parent of this message.
      Unlink(self);
      if (prev != -1 && !IsAncestorOrSelf(self, prev)) SetParent(self, prev);
    }
  }

  // Steps 3 and 4, bottom-up without recursion.
  std::vector<int> Prune(const std::vector<int>& roots) {
    std::vector<int> order;  // pre-order; walked backwards it is post-order
    std::vector<int> stack(roots.begin(), roots.end());
    while (!stack.empty()) {
      int n = stack.back();
      stack.pop_back();
      order.push_back(n);
      for (int c : nodes_[n].children) stack.push_back(c);
    }
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
      Node& node = nodes_[*it];
      std::vector<int> kept;
      kept.reserve(node.children.size());
      for (int c : node.children) {
        if (nodes_[c].msg != -1) {
          kept.push_back(c);
          continue;
        }
        for (int g : nodes_[c].children) {
          nodes_[g].parent = *it;
          kept.push_back(g);
        }
        nodes_[c].children.clear();
      }
      node.children = std::move(kept);
    }
    std::vector<int> out;
    for (int r : roots) {
      Node& node = nodes_[r];
      if (node.msg != -1 || node.children.size() > 1) {
        out.push_back(r);
      } else if (node.children.size() == 1) {
        int c = node.children.front();
        nodes_[c].parent = -1;
        node.children.clear();
        out.push_back(c);
      }
    }
    return out;
  }

  // The message that stands for a node in date order: itself or, for a
  // dummy, its first child (sorted already).
  int Representative(int n) const {
    while (nodes_[n].msg == -1 && !nodes_[n].children.empty()) n = nodes_[n].children.front();
    return nodes_[n].msg;
  }
  bool Before(int a, int b) const {
    int ma = Representative(a), mb = Representative(b);
    if (ma < 0 || mb < 0) return ma < mb;
    std::int64_t da = items_[ma].SentDate(), db = items_[mb].SentDate();
    if (da != db) return da < db;
    return ma < mb;
  }
  void SortSiblings(std::vector<int>& list) {
    std::stable_sort(list.begin(), list.end(), [&](int a, int b) { return Before(a, b); });
  }
  // Steps 5 and 7: every sibling list, deepest first, then the roots.
  void SortAll(std::vector<int>& roots) {
    std::vector<int> order;
    std::vector<int> stack(roots.begin(), roots.end());
    while (!stack.empty()) {
      int n = stack.back();
      stack.pop_back();
      order.push_back(n);
      for (int c : nodes_[n].children) stack.push_back(c);
    }
    for (auto it = order.rbegin(); it != order.rend(); ++it) SortSiblings(nodes_[*it].children);
    SortSiblings(roots);
  }

  // Step 6.
  std::vector<int> MergeSubjects(const std::vector<int>& roots) {
    std::unordered_map<std::string_view, int> table;
    table.reserve(roots.size());
    auto subject_of = [&](int n) -> const SortItem* {
      int m = Representative(n);
      return m < 0 ? nullptr : &items_[m];
    };
    for (int r : roots) {
      const SortItem* item = subject_of(r);
      if (item == nullptr || item->keys.subject.empty()) continue;
      auto [it, inserted] = table.try_emplace(item->keys.subject, r);
      if (inserted) continue;
      int t = it->second;
      bool cur_dummy = nodes_[r].msg == -1, t_dummy = nodes_[t].msg == -1;
      if ((cur_dummy && !t_dummy) ||
          (!cur_dummy && !t_dummy && items_[nodes_[t].msg].keys.reply && !item->keys.reply)) {
        it->second = r;
      }
    }
    std::vector<int> slot(nodes_.size(), -1);  // root node -> index in `out`
    std::vector<int> out(roots);
    for (std::size_t i = 0; i < out.size(); ++i) slot[out[i]] = static_cast<int>(i);
    for (int r : roots) {
      if (slot[r] == -1) continue;  // merged into another thread already
      const SortItem* item = subject_of(r);
      if (item == nullptr || item->keys.subject.empty()) continue;
      auto it = table.find(item->keys.subject);
      if (it == table.end() || it->second == r) continue;
      int t = it->second;
      bool cur_dummy = nodes_[r].msg == -1, t_dummy = nodes_[t].msg == -1;
      auto drop_root = [&](int n) {
        out[slot[n]] = -1;
        slot[n] = -1;
      };
      if (cur_dummy && t_dummy) {
        for (int c : nodes_[r].children) SetParent(c, t);
        nodes_[r].children.clear();
        drop_root(r);
      } else if (t_dummy) {
        SetParent(r, t);
        drop_root(r);
      } else if (cur_dummy) {
        SetParent(t, r);
        drop_root(t);
        it->second = r;
      } else if (items_[nodes_[r].msg].keys.reply && !items_[nodes_[t].msg].keys.reply) {
        SetParent(r, t);
        drop_root(r);
      } else {
        int d = NewNode();
        slot.push_back(-1);
        SetParent(t, d);
        SetParent(r, d);
        out[slot[t]] = d;
        slot[d] = slot[t];
        slot[t] = -1;
        drop_root(r);
        it->second = d;
      }
    }
    out.erase(std::remove(out.begin(), out.end(), -1), out.end());
    return out;
  }

  const std::vector<SortItem>& items_;
  std::uint64_t budget_;
  std::vector<Node> nodes_;
  IdTable by_id_{items_.size() * 2};
};

void AppendNumber(const SortItem& item, bool uid, std::string* out) {
  char buf[16];
  auto end = std::to_chars(buf, buf + sizeof buf, uid ? item.uid : item.seq).ptr;
  out->append(buf, end);
}

// Writes the threads below `roots` without recursion. A node is its number
// followed by its children: one child continues the chain after a space,
// several are each in parentheses; a dummy writes its children only.
std::string RenderThreads(const std::vector<Node>& nodes, const std::vector<int>& roots,
                          const std::vector<SortItem>& items, bool uid) {
  std::string out;
  struct Entry {
    int node;   // -1: write `text`
    char text;  // '(' or ')'
  };
  std::vector<Entry> stack;
  for (auto it = roots.rbegin(); it != roots.rend(); ++it) {
    stack.push_back({-1, ')'});
    stack.push_back({*it, 0});
    stack.push_back({-1, '('});
  }
  while (!stack.empty()) {
    Entry e = stack.back();
    stack.pop_back();
    if (e.node < 0) {
      out.push_back(e.text);
      continue;
    }
    const Node& n = nodes[e.node];
    if (n.msg >= 0) {
      AppendNumber(items[n.msg], uid, &out);
      if (!n.children.empty()) out.push_back(' ');
    }
    if (n.children.size() == 1) {
      stack.push_back({n.children.front(), 0});
      continue;
    }
    for (auto it = n.children.rbegin(); it != n.children.rend(); ++it) {
      stack.push_back({-1, ')'});
      stack.push_back({*it, 0});
      stack.push_back({-1, '('});
    }
  }
  return out;
}

std::string OrderedSubject(const std::vector<SortItem>& items, bool uid) {
  const bool ranked = (CommonRanks(items) & RankBit(SortKey::kSubject)) != 0;
  auto compare_subjects = [&](const SortItem& a, const SortItem& b) {
    return ranked ? Compare(a.ranks.subject, b.ranks.subject)
                  : a.keys.subject.compare(b.keys.subject);
  };
  std::vector<std::uint32_t> order(items.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    int c = compare_subjects(items[a], items[b]);
    if (c != 0) return c < 0;
    std::int64_t da = items[a].SentDate(), db = items[b].SentDate();
    if (da != db) return da < db;
    return a < b;
  });
  // Threads: [begin, end) ranges of `order` with one subject.
  std::vector<std::pair<std::size_t, std::size_t>> threads;
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i + 1;
    while (j < order.size() && compare_subjects(items[order[j]], items[order[i]]) == 0) ++j;
    threads.emplace_back(i, j);
    i = j;
  }
  std::sort(threads.begin(), threads.end(), [&](const auto& a, const auto& b) {
    const SortItem& x = items[order[a.first]];
    const SortItem& y = items[order[b.first]];
    if (x.SentDate() != y.SentDate()) return x.SentDate() < y.SentDate();
    return order[a.first] < order[b.first];
  });
  std::string out;
  for (auto [begin, end] : threads) {
    out.push_back('(');
    AppendNumber(items[order[begin]], uid, &out);
    if (end - begin == 2) {
      out.push_back(' ');
      AppendNumber(items[order[begin + 1]], uid, &out);
    } else if (end - begin > 2) {
      out.push_back(' ');
      for (std::size_t i = begin + 1; i < end; ++i) {
        out.push_back('(');
        AppendNumber(items[order[i]], uid, &out);
        out.push_back(')');
      }
    }
    out.push_back(')');
  }
  return out;
}

}  // namespace

std::vector<std::string_view> ReadEncodedSortKeys(storage::ReadView& view,
                                                  const std::vector<const storage::BlobId*>& blobs,
                                                  std::deque<std::string>* arena,
                                                  std::vector<mime::SortKeysView>* decoded,
                                                  const SortKeysFn& each) {
  if (decoded != nullptr) decoded->assign(blobs.size(), mime::SortKeysView{});
  // Blob ids are SHA-256 digests: their first 8 bytes almost always decide.
  struct ByBlob {
    std::uint64_t prefix;
    std::uint32_t index;
  };
  std::vector<ByBlob> by_blob(blobs.size());
  for (std::uint32_t i = 0; i < blobs.size(); ++i) {
    std::uint64_t p = 0;
    for (int k = 0; k < 8; ++k) p = (p << 8) | blobs[i]->bytes[k];
    by_blob[i] = {p, i};
  }
  std::sort(by_blob.begin(), by_blob.end(), [&](const ByBlob& a, const ByBlob& b) {
    if (a.prefix != b.prefix) return a.prefix < b.prefix;
    return std::memcmp(blobs[a.index]->bytes, blobs[b.index]->bytes, sizeof blobs[a.index]->bytes) <
           0;
  });
  std::vector<std::string_view> out(blobs.size());
  for (const ByBlob& b : by_blob) {
    const storage::BlobId& blob = *blobs[b.index];
    if (auto stored = view.SortKeys(blob); stored.ok()) {
      if (auto keys = mime::DecodeSortKeys(*stored)) {
        out[b.index] = *stored;
        if (decoded != nullptr) (*decoded)[b.index] = *keys;
        if (each) each(b.index, *stored, *keys);
        continue;
      }
    }
    if (auto raw = view.Blob(blob); raw.ok()) {
      arena->push_back(mime::EncodeSortKeys(mime::ComputeSortKeys(*raw)));
      out[b.index] = arena->back();
      auto keys = *mime::DecodeSortKeys(arena->back());
      if (decoded != nullptr) (*decoded)[b.index] = keys;
      if (each) each(b.index, arena->back(), keys);
    }
  }
  return out;
}

std::vector<SortItem> LoadSortItems(storage::ReadView& view, const std::vector<SortInput>& inputs,
                                    std::deque<std::string>* arena) {
  std::vector<const storage::BlobId*> blobs(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) blobs[i] = &inputs[i].blob;
  std::vector<mime::SortKeysView> decoded;
  std::vector<std::string_view> encoded = ReadEncodedSortKeys(view, blobs, arena, &decoded);
  std::vector<SortItem> items(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const SortInput& in = inputs[i];
    SortItem& item = items[i];
    item.seq = in.seq;
    item.uid = in.uid;
    item.internal_date = in.internal_date;
    item.size = in.size;
    item.keys = decoded[i];
  }
  return items;
}

Result<std::vector<SortCriterion>> ParseSortCriteria(const Value& list) {
  if (!list.IsList() || list.items.empty()) {
    return Status::InvalidArgument("Sort criteria must be a non-empty list");
  }
  static constexpr std::pair<std::string_view, SortKey> kKeys[] = {
      {"ARRIVAL", SortKey::kArrival},
      {"CC", SortKey::kCc},
      {"DATE", SortKey::kDate},
      {"FROM", SortKey::kFrom},
      {"SIZE", SortKey::kSize},
      {"SUBJECT", SortKey::kSubject},
      {"TO", SortKey::kTo},
      {"DISPLAYFROM", SortKey::kDisplayFrom},
      {"DISPLAYTO", SortKey::kDisplayTo},
  };
  std::vector<SortCriterion> out;
  bool reverse = false;
  for (const Value& v : list.items) {
    if (!v.IsAtom()) return Status::InvalidArgument("Invalid sort criterion");
    if (v.AtomIs("REVERSE")) {
      if (reverse) return Status::InvalidArgument("REVERSE twice");
      reverse = true;
      continue;
    }
    bool found = false;
    for (const auto& [name, key] : kKeys) {
      if (v.AtomIs(name)) {
        out.push_back({key, reverse});
        found = true;
        break;
      }
    }
    if (!found) return Status::InvalidArgument("Unknown sort criterion " + v.text);
    reverse = false;
  }
  if (reverse) return Status::InvalidArgument("REVERSE without a criterion");
  return out;
}

std::vector<std::uint32_t> SortOrder(const std::vector<SortItem>& items,
                                     const std::vector<SortCriterion>& criteria) {
  // The first criterion's key as a number that orders like it, kept next to
  // the index: most comparisons end there without touching the keys, which
  // lie scattered in the store's pages.
  struct Entry {
    Prefix prefix;
    std::uint32_t index;
  };
  std::vector<Entry> entries(items.size());
  const SortKey first = criteria.empty() ? SortKey::kArrival : criteria.front().key;
  const bool first_reverse = !criteria.empty() && criteria.front().reverse;
  const std::uint16_t ranked = CommonRanks(items);
  for (std::uint32_t i = 0; i < items.size(); ++i) {
    entries[i] = {SortPrefix(items[i], first, ranked), i};
  }
  std::sort(entries.begin(), entries.end(), [&](const Entry& a, const Entry& b) {
    if (!(a.prefix == b.prefix)) return first_reverse ? b.prefix < a.prefix : a.prefix < b.prefix;
    const SortItem& x = items[a.index];
    const SortItem& y = items[b.index];
    for (const SortCriterion& c : criteria) {
      int r = (ranked & RankBit(c.key)) != 0 ? Compare(RankOf(x, c.key), RankOf(y, c.key))
                                             : CompareBy(x, y, c.key);
      if (r != 0) return c.reverse ? r > 0 : r < 0;
    }
    return x.seq < y.seq;
  });
  std::vector<std::uint32_t> order(items.size());
  for (std::size_t i = 0; i < entries.size(); ++i) order[i] = entries[i].index;
  return order;
}

std::string Thread(const std::vector<SortItem>& items, ThreadAlgorithm algorithm, bool uid) {
  if (algorithm == ThreadAlgorithm::kOrderedSubject) return OrderedSubject(items, uid);
  ReferencesThreader threader(items);
  std::vector<int> roots = threader.Run();
  return RenderThreads(threader.nodes(), roots, items, uid);
}

Result<EsortReturn> ParseEsortReturn(const Value& list, bool allow_context) {
  if (!list.IsList()) return Status::InvalidArgument("RETURN needs a list of options");
  EsortReturn r;
  for (std::size_t i = 0; i < list.items.size(); ++i) {
    const Value& v = list.items[i];
    if (allow_context && v.AtomIs("PARTIAL")) {
      if (r.partial) return Status::InvalidArgument("PARTIAL can be used only once");
      if (i + 1 >= list.items.size() || !list.items[i + 1].IsAtom()) {
        return Status::InvalidArgument("PARTIAL range missing");
      }
      auto range = ParsePartialRange(list.items[++i].text);
      if (!range.ok()) return range.status();
      r.partial = *range;
    } else if (allow_context && v.AtomIs("UPDATE")) {
      r.update = true;
    } else if (allow_context && v.AtomIs("CONTEXT")) {
      r.context = true;
    } else if (v.AtomIs("MIN")) {
      r.min = true;
    } else if (v.AtomIs("MAX")) {
      r.max = true;
    } else if (v.AtomIs("COUNT")) {
      r.count = true;
    } else if (v.AtomIs("ALL")) {
      r.all = true;
    } else {
      return Status::InvalidArgument("Unknown RETURN option " + v.text);
    }
  }
  if (r.partial && r.all) return Status::InvalidArgument("PARTIAL conflicts with ALL");
  if (list.items.empty()) r.all = true;
  return r;
}

std::string RenderEsort(std::string_view tag, bool uid, const EsortReturn& ret,
                        const std::vector<std::uint32_t>& numbers) {
  std::string out = "* ESEARCH (TAG \"";
  for (char c : tag) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out += "\")";
  if (uid) out += " UID";
  if (!numbers.empty()) {
    if (ret.min) out += " MIN " + std::to_string(numbers.front());
    if (ret.max) out += " MAX " + std::to_string(numbers.back());
  }
  if (ret.count) out += " COUNT " + std::to_string(numbers.size());
  if (ret.all && !numbers.empty()) {
    out += " ALL ";
    for (std::size_t i = 0; i < numbers.size();) {
      std::size_t j = i;
      while (j + 1 < numbers.size() && numbers[j + 1] == numbers[j] + 1) ++j;
      if (i != 0) out.push_back(',');
      out += std::to_string(numbers[i]);
      if (j > i) out += ":" + std::to_string(numbers[j]);
      i = j + 1;
    }
  }
  if (ret.partial) {
    out += " PARTIAL (" + ret.partial->ToString() + ' ';
    auto [begin, end] = PartialWindow(*ret.partial, numbers.size());
    if (begin == end) {
      out += "NIL";
    } else {
      out += FormatOrderedSet(
          std::vector<std::uint32_t>(numbers.begin() + static_cast<std::ptrdiff_t>(begin),
                                     numbers.begin() + static_cast<std::ptrdiff_t>(end)));
    }
    out += ')';
  }
  out += "\r\n";
  return out;
}

}  // namespace pillarbox::imap
