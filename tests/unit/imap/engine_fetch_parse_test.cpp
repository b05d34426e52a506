#include <gtest/gtest.h>

#include "protocols/imap/fetch.h"

namespace pillarbox::imap {
namespace {

using K = FetchItem::Kind;
using T = FetchSection::Text;

Result<FetchSpec> P(const char* atom) { return ParseFetchItems(Value::Atom(atom)); }

FetchSpec Ok(const Value& v) {
  auto r = ParseFetchItems(v);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : FetchSpec{};
}
FetchSpec Ok(const char* atom) { return Ok(Value::Atom(atom)); }

std::vector<K> Kinds(const FetchSpec& s) {
  std::vector<K> out;
  for (const FetchItem& i : s.items) out.push_back(i.kind);
  return out;
}

TEST(EngineFetchParse, Macros) {
  EXPECT_EQ(Kinds(Ok("ALL")),
            (std::vector<K>{K::kFlags, K::kInternalDate, K::kRfc822Size, K::kEnvelope}));
  EXPECT_EQ(Kinds(Ok("fast")), (std::vector<K>{K::kFlags, K::kInternalDate, K::kRfc822Size}));
  EXPECT_EQ(Kinds(Ok("Full")),
            (std::vector<K>{K::kFlags, K::kInternalDate, K::kRfc822Size, K::kEnvelope, K::kBody}));
  // Macros are not items: not allowed inside a list.
  EXPECT_FALSE(ParseFetchItems(Value::List({Value::Atom("ALL")})).ok());
}

TEST(EngineFetchParse, EverySimpleItem) {
  FetchSpec s =
      Ok(Value::List({Value::Atom("FLAGS"), Value::Atom("internaldate"), Value::Atom("RFC822"),
                      Value::Atom("RFC822.HEADER"), Value::Atom("RFC822.SIZE"),
                      Value::Atom("RFC822.TEXT"), Value::Atom("ENVELOPE"), Value::Atom("BODY"),
                      Value::Atom("BODYSTRUCTURE"), Value::Atom("UID"), Value::Atom("MODSEQ")}));
  EXPECT_EQ(Kinds(s), (std::vector<K>{K::kFlags, K::kInternalDate, K::kRfc822, K::kRfc822Header,
                                      K::kRfc822Size, K::kRfc822Text, K::kEnvelope, K::kBody,
                                      K::kBodyStructure, K::kUid, K::kModSeq}));
  EXPECT_TRUE(s.sets_seen);
  EXPECT_TRUE(s.needs_blob);
  EXPECT_TRUE(s.has_uid);
  EXPECT_TRUE(s.has_flags);
  EXPECT_TRUE(s.has_modseq);
}

TEST(EngineFetchParse, FlagOnlyNeedsNoBlob) {
  FetchSpec s = Ok(Value::List({Value::Atom("FLAGS"), Value::Atom("UID")}));
  EXPECT_FALSE(s.needs_blob);
  EXPECT_FALSE(s.needs_structure);
  EXPECT_FALSE(s.sets_seen);
  FetchSpec env = Ok("ENVELOPE");
  EXPECT_FALSE(env.needs_blob);
  EXPECT_TRUE(env.needs_structure);
}

TEST(EngineFetchParse, DuplicatesDropped) {
  FetchSpec s = Ok(Value::List({Value::Atom("UID"), Value::Atom("FLAGS"), Value::Atom("uid")}));
  EXPECT_EQ(Kinds(s), (std::vector<K>{K::kUid, K::kFlags}));
}

TEST(EngineFetchParse, BodySections) {
  FetchSpec s = Ok("BODY[]");
  ASSERT_EQ(s.items.size(), 1u);
  EXPECT_EQ(s.items[0].kind, K::kBodySection);
  EXPECT_FALSE(s.items[0].peek);
  EXPECT_TRUE(s.items[0].section.part.empty());
  EXPECT_EQ(s.items[0].section.text, T::kNone);
  EXPECT_TRUE(s.sets_seen);

  FetchSpec peek = Ok("body.peek[1.2.3]<10.20>");
  ASSERT_EQ(peek.items.size(), 1u);
  const FetchItem& i = peek.items[0];
  EXPECT_TRUE(i.peek);
  EXPECT_FALSE(peek.sets_seen);
  EXPECT_EQ(i.section.part, (std::vector<std::uint32_t>{1, 2, 3}));
  EXPECT_EQ(i.section.partial_origin, 10u);
  EXPECT_EQ(i.section.partial_count, 20u);

  EXPECT_EQ(Ok("BODY[HEADER]").items[0].section.text, T::kHeader);
  EXPECT_EQ(Ok("BODY[text]").items[0].section.text, T::kText);
  FetchSpec mime = Ok("BODY[2.MIME]");
  EXPECT_EQ(mime.items[0].section.text, T::kMime);
  EXPECT_EQ(mime.items[0].section.part, (std::vector<std::uint32_t>{2}));
  FetchSpec hdr = Ok("BODY[4.2.HEADER]");
  EXPECT_EQ(hdr.items[0].section.text, T::kHeader);
  EXPECT_EQ(hdr.items[0].section.part, (std::vector<std::uint32_t>{4, 2}));
  EXPECT_EQ(Ok("BODY[]<0.0>").items[0].section.partial_count, 0u);
}

TEST(EngineFetchParse, HeaderFieldLists) {
  FetchSpec s = Ok("BODY.PEEK[HEADER.FIELDS (From To \"X-Quoted\")]");
  ASSERT_EQ(s.items.size(), 1u);
  EXPECT_EQ(s.items[0].section.text, T::kHeaderFields);
  EXPECT_EQ(s.items[0].section.fields, (std::vector<std::string>{"From", "To", "X-Quoted"}));
  FetchSpec n = Ok("BODY[1.HEADER.FIELDS.NOT (SUBJECT)]<5.6>");
  EXPECT_EQ(n.items[0].section.text, T::kHeaderFieldsNot);
  EXPECT_EQ(n.items[0].section.fields, (std::vector<std::string>{"SUBJECT"}));
  EXPECT_EQ(n.items[0].section.part, (std::vector<std::uint32_t>{1}));
  EXPECT_EQ(n.items[0].section.partial_origin, 5u);
}

TEST(EngineFetchParse, Binary) {
  FetchSpec b = Ok("BINARY[1.2]");
  EXPECT_EQ(b.items[0].kind, K::kBinary);
  EXPECT_TRUE(b.sets_seen);
  FetchSpec p = Ok("BINARY.PEEK[1]<0.100>");
  EXPECT_TRUE(p.items[0].peek);
  EXPECT_FALSE(p.sets_seen);
  FetchSpec size = Ok("BINARY.SIZE[3]");
  EXPECT_EQ(size.items[0].kind, K::kBinarySize);
  EXPECT_FALSE(size.sets_seen);
  EXPECT_FALSE(P("BINARY[HEADER]").ok());
  EXPECT_FALSE(P("BINARY[1.MIME]").ok());
  EXPECT_FALSE(P("BINARY.SIZE[1]<0.10>").ok());
  EXPECT_TRUE(P("BINARY[]").ok());
}

TEST(EngineFetchParse, RejectsGarbage) {
  for (const char* bad : {"FOO",
                          "BODY[",
                          "BODY]",
                          "BODY[HEADERS]",
                          "BODY[0]",
                          "BODY[1.0]",
                          "BODY[01]",
                          "BODY[MIME]",
                          "BODY[1.]",
                          "BODY[1..2]",
                          "BODY[1MIME]",
                          "BODY[HEADER.FIELDS]",
                          "BODY[HEADER.FIELDS ()]",
                          "BODY[HEADER.FIELDS (A]",
                          "BODY[HEADER.FIELDS  (A)]",
                          "BODY[]<",
                          "BODY[]<1>",
                          "BODY[]<1.>",
                          "BODY[]<.1>",
                          "BODY[]<1.2",
                          "BODY[]<1.2>x",
                          "BODY[]x",
                          "BODY.PEEK",
                          "RFC822.PEEK",
                          "BODY[TEXT.1]",
                          "BODY[4294967296]",
                          "BINARY",
                          "BODYSTRUCTURE[]",
                          "UID[1]",
                          "X"}) {
    auto r = P(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
    }
  }
  EXPECT_FALSE(ParseFetchItems(Value::List({})).ok());
  EXPECT_FALSE(ParseFetchItems(Value::String("FLAGS")).ok());
  EXPECT_FALSE(ParseFetchItems(Value::List({Value::List({Value::Atom("FLAGS")})})).ok());
  EXPECT_FALSE(ParseFetchItems(Value{Value::Kind::kNil, "", {}, false}).ok());
}

TEST(EngineFetchParse, ArgumentVector) {
  std::vector<Value> args = {Value::Atom("1:*"), Value::Atom("FLAGS")};
  EXPECT_TRUE(ParseFetchItems(args, 1).ok());
  EXPECT_FALSE(ParseFetchItems(args, 2).ok());
  args.push_back(Value::Atom("extra"));
  EXPECT_FALSE(ParseFetchItems(args, 1).ok());
}

TEST(EngineFetchParse, SetsSeenOnlyWhenUnseen) {
  FetchSpec s = Ok("BODY[]");
  storage::Flags f;
  EXPECT_TRUE(FetchSetsSeen(s, f));
  f.system = storage::kFlagSeen;
  EXPECT_FALSE(FetchSetsSeen(s, f));
  EXPECT_FALSE(FetchSetsSeen(Ok("BODY.PEEK[]"), storage::Flags{}));
  EXPECT_FALSE(FetchSetsSeen(Ok("RFC822.HEADER"), storage::Flags{}));
  EXPECT_TRUE(FetchSetsSeen(Ok("RFC822.TEXT"), storage::Flags{}));
  EXPECT_TRUE(FetchSetsSeen(Ok("RFC822"), storage::Flags{}));
}

}  // namespace
}  // namespace pillarbox::imap
