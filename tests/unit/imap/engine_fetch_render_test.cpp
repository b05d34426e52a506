#include <gtest/gtest.h>

#include "protocols/imap/fetch.h"
#include "tests/support/test_support.h"

namespace pillarbox::imap {
namespace {

// Tuesday 1996-07-16 10:00:00 UTC, shown in +0200.
constexpr storage::UnixTime kDate = 837511200;

const std::string kSimple =
    "From: Alice <alice@example.com>\r\n"
    "To: Bob <bob@example.org>\r\n"
    "Subject: Hello\r\n"
    "Date: Wed, 17 Jul 1996 02:23:25 -0700\r\n"
    "Message-ID: <m1@example.com>\r\n"
    "\r\n"
    "Hello Bob\r\n";

const std::string kNested =
    "From: a@b.example\r\n"
    "Subject: nested\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--outer\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "part one\r\n"
    "--outer\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "From: inner@x.example\r\n"
    "Subject: inner\r\n"
    "Content-Type: multipart/alternative; boundary=\"in\"\r\n"
    "\r\n"
    "--in\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "inner text\r\n"
    "--in\r\n"
    "Content-Type: text/html\r\n"
    "\r\n"
    "<p>inner</p>\r\n"
    "--in--\r\n"
    "--outer\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "AAECAw==\r\n"
    "--outer\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Transfer-Encoding: x-uuencode\r\n"
    "\r\n"
    "begin 644 x\r\n"
    "--outer--\r\n";

class EngineFetchRender : public ::testing::Test {
 protected:
  void SetUp() override {
    user_ = fx_.AddUser("u", "pw");
    simple_ = Append(kSimple, storage::kFlagSeen | storage::kFlagFlagged, {"$Work"});
    nested_ = Append(kNested, 0, {});
  }

  storage::MessageRecord Append(const std::string& bytes, std::uint32_t flags,
                                std::vector<std::string> keywords) {
    storage::AppendRequest req;
    req.user = user_.id;
    req.bytes = std::make_shared<const std::string>(bytes);
    req.flags.system = flags;
    req.flags.keywords = std::move(keywords);
    req.internal_date = kDate;
    req.internal_date_tz = 120;
    req.origin.protocol = "test";
    auto r = fx_.Wait<storage::AppendResult>(
        [&](storage::Callback<storage::AppendResult> cb) { fx_.store().Append(req, cb); });
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    auto view = fx_.store().Read();
    auto m = view->GetMessage(r->mailbox, r->uid);
    EXPECT_TRUE(m.ok());
    return m.ok() ? *m : storage::MessageRecord{};
  }

  // Renders and flattens; items is one atom or a list of atoms.
  std::string Fetch(const storage::MessageRecord& rec, const Value& items, std::uint32_t seq = 1,
                    FetchRenderOptions options = {}, bool recent = false) {
    auto spec = ParseFetchItems(items);
    EXPECT_TRUE(spec.ok()) << spec.status().ToString();
    if (!spec.ok()) return "";
    auto view = fx_.store().Read();
    FetchMessage msg{seq, &rec, recent};
    auto pieces = RenderFetch(*spec, msg, view.get(), options);
    EXPECT_TRUE(pieces.ok()) << pieces.status().ToString();
    if (!pieces.ok()) return "<" + pieces.status().message() + ">";
    auto flat = FlattenPieces(*pieces, view.get());
    EXPECT_TRUE(flat.ok());
    return flat.ok() ? *flat : "";
  }
  std::string Fetch(const storage::MessageRecord& rec, const char* atom, std::uint32_t seq = 1) {
    return Fetch(rec, Value::Atom(atom), seq);
  }
  static Value L(std::initializer_list<const char*> atoms) {
    std::vector<Value> v;
    for (const char* a : atoms) v.push_back(Value::Atom(a));
    return Value::List(std::move(v));
  }

  testing::StoreFixture fx_;
  storage::UserRecord user_;
  storage::MessageRecord simple_;
  storage::MessageRecord nested_;
};

TEST_F(EngineFetchRender, FlagsUidDateSize) {
  std::string expected = "* 3 FETCH (FLAGS (\\Flagged \\Seen \\Recent $Work) UID " +
                         std::to_string(simple_.uid) +
                         " INTERNALDATE \"16-Jul-1996 12:00:00 +0200\" RFC822.SIZE " +
                         std::to_string(kSimple.size()) + ")\r\n";
  EXPECT_EQ(Fetch(simple_, L({"FLAGS", "UID", "INTERNALDATE", "RFC822.SIZE"}), 3, {}, true),
            expected);
  EXPECT_EQ(Fetch(nested_, "FLAGS", 2), "* 2 FETCH (FLAGS ())\r\n");
}

TEST_F(EngineFetchRender, FlagOnlyFetchIsOnePieceWithoutAView) {
  auto spec = ParseFetchItems(L({"UID", "FLAGS"}));
  ASSERT_TRUE(spec.ok());
  FetchMessage msg{7, &simple_, false};
  auto pieces = RenderFetch(*spec, msg, nullptr);
  ASSERT_TRUE(pieces.ok());
  ASSERT_EQ(pieces->size(), 1u);
  EXPECT_EQ((*pieces)[0].bytes, "* 7 FETCH (UID " + std::to_string(simple_.uid) +
                                    " FLAGS (\\Flagged \\Seen $Work))\r\n");
}

TEST_F(EngineFetchRender, ForcedUidFirstAndFlagsLast) {
  FetchRenderOptions o;
  o.force_uid = true;
  o.force_flags = true;
  o.force_modseq = true;
  std::string uid = std::to_string(nested_.uid);
  EXPECT_EQ(Fetch(nested_, L({"RFC822.SIZE"}), 2, o),
            "* 2 FETCH (UID " + uid + " RFC822.SIZE " + std::to_string(kNested.size()) +
                " FLAGS () MODSEQ (" + std::to_string(nested_.modseq) + "))\r\n");
  // Already requested: not repeated.
  EXPECT_EQ(
      Fetch(nested_, L({"FLAGS", "UID"}), 2, o),
      "* 2 FETCH (FLAGS () UID " + uid + " MODSEQ (" + std::to_string(nested_.modseq) + "))\r\n");
}

TEST_F(EngineFetchRender, WholeMessageAndPartials) {
  std::string n = std::to_string(kSimple.size());
  EXPECT_EQ(Fetch(simple_, "BODY[]"), "* 1 FETCH (BODY[] {" + n + "}\r\n" + kSimple + ")\r\n");
  EXPECT_EQ(Fetch(simple_, "BODY.PEEK[]"), "* 1 FETCH (BODY[] {" + n + "}\r\n" + kSimple + ")\r\n");
  EXPECT_EQ(Fetch(simple_, "RFC822"), "* 1 FETCH (RFC822 {" + n + "}\r\n" + kSimple + ")\r\n");
  EXPECT_EQ(Fetch(simple_, "BODY[]<0.0>"), "* 1 FETCH (BODY[]<0> {0}\r\n)\r\n");
  EXPECT_EQ(Fetch(simple_, "BODY[]<0.4>"), "* 1 FETCH (BODY[]<0> {4}\r\nFrom)\r\n");
  std::size_t size = kSimple.size();
  EXPECT_EQ(Fetch(simple_, Value::Atom("BODY[]<" + std::to_string(size - 2) + ".10>")),
            "* 1 FETCH (BODY[]<" + std::to_string(size - 2) + "> {2}\r\n\r\n)\r\n");
  EXPECT_EQ(Fetch(simple_, Value::Atom("BODY[]<" + std::to_string(size) + ".10>")),
            "* 1 FETCH (BODY[]<" + std::to_string(size) + "> {0}\r\n)\r\n");
  EXPECT_EQ(Fetch(simple_, "BODY[]<99999.10>"), "* 1 FETCH (BODY[]<99999> {0}\r\n)\r\n");
  EXPECT_EQ(Fetch(simple_, "BODY[TEXT]<6.100>"), "* 1 FETCH (BODY[TEXT]<6> {5}\r\nBob\r\n)\r\n");
}

TEST_F(EngineFetchRender, HeaderTextAndRfc822Forms) {
  std::string header = kSimple.substr(0, kSimple.find("\r\n\r\n") + 4);
  EXPECT_EQ(
      Fetch(simple_, "BODY[HEADER]"),
      "* 1 FETCH (BODY[HEADER] {" + std::to_string(header.size()) + "}\r\n" + header + ")\r\n");
  EXPECT_EQ(
      Fetch(simple_, "RFC822.HEADER"),
      "* 1 FETCH (RFC822.HEADER {" + std::to_string(header.size()) + "}\r\n" + header + ")\r\n");
  EXPECT_EQ(Fetch(simple_, "BODY[TEXT]"), "* 1 FETCH (BODY[TEXT] {11}\r\nHello Bob\r\n)\r\n");
  EXPECT_EQ(Fetch(simple_, "RFC822.TEXT"), "* 1 FETCH (RFC822.TEXT {11}\r\nHello Bob\r\n)\r\n");
  // A non-multipart message has one part, 1: its body.
  EXPECT_EQ(Fetch(simple_, "BODY[1]"), "* 1 FETCH (BODY[1] {11}\r\nHello Bob\r\n)\r\n");
  EXPECT_EQ(Fetch(simple_, "BODY[2]"), "* 1 FETCH (BODY[2] {0}\r\n)\r\n");
  EXPECT_EQ(Fetch(simple_, "BODY[1.1]"), "* 1 FETCH (BODY[1.1] {0}\r\n)\r\n");
}

TEST_F(EngineFetchRender, HeaderFieldsCaseInsensitiveInMessageOrder) {
  EXPECT_EQ(Fetch(simple_, "BODY.PEEK[HEADER.FIELDS (subject FROM x-missing)]"),
            "* 1 FETCH (BODY[HEADER.FIELDS (subject FROM x-missing)] {51}\r\n"
            "From: Alice <alice@example.com>\r\n"
            "Subject: Hello\r\n"
            "\r\n)\r\n");
  EXPECT_EQ(Fetch(simple_, "BODY[HEADER.FIELDS.NOT (From to DATE message-id)]"),
            "* 1 FETCH (BODY[HEADER.FIELDS.NOT (From to DATE message-id)] {18}\r\n"
            "Subject: Hello\r\n"
            "\r\n)\r\n");
  EXPECT_EQ(Fetch(simple_, "BODY[HEADER.FIELDS (X-None)]"),
            "* 1 FETCH (BODY[HEADER.FIELDS (X-None)] {2}\r\n\r\n)\r\n");
  EXPECT_EQ(Fetch(simple_, "BODY[HEADER.FIELDS (Subject)]<3.5>"),
            "* 1 FETCH (BODY[HEADER.FIELDS (Subject)]<3> {5}\r\nject:)\r\n");
}

TEST_F(EngineFetchRender, PartsOfANestedMessage) {
  EXPECT_EQ(Fetch(nested_, "BODY[1]"), "* 1 FETCH (BODY[1] {8}\r\npart one)\r\n");
  EXPECT_EQ(Fetch(nested_, "BODY[1.MIME]"),
            "* 1 FETCH (BODY[1.MIME] {43}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n)\r\n");
  EXPECT_EQ(Fetch(nested_, "BODY[2.HEADER]"),
            "* 1 FETCH (BODY[2.HEADER] {93}\r\n"
            "From: inner@x.example\r\n"
            "Subject: inner\r\n"
            "Content-Type: multipart/alternative; boundary=\"in\"\r\n"
            "\r\n)\r\n");
  EXPECT_EQ(Fetch(nested_, "BODY[2.HEADER.FIELDS (SUBJECT)]"),
            "* 1 FETCH (BODY[2.HEADER.FIELDS (SUBJECT)] {18}\r\nSubject: inner\r\n\r\n)\r\n");
  std::string inner_text =
      "--in\r\nContent-Type: text/plain\r\n\r\ninner text\r\n--in\r\nContent-Type: text/html\r\n"
      "\r\n<p>inner</p>\r\n--in--";
  EXPECT_EQ(Fetch(nested_, "BODY[2.TEXT]"), "* 1 FETCH (BODY[2.TEXT] {" +
                                                std::to_string(inner_text.size()) + "}\r\n" +
                                                inner_text + ")\r\n");
  EXPECT_EQ(Fetch(nested_, "BODY[2.1]"), "* 1 FETCH (BODY[2.1] {10}\r\ninner text)\r\n");
  EXPECT_EQ(Fetch(nested_, "BODY[2.2]"), "* 1 FETCH (BODY[2.2] {12}\r\n<p>inner</p>)\r\n");
  EXPECT_EQ(Fetch(nested_, "BODY[2.2.MIME]"),
            "* 1 FETCH (BODY[2.2.MIME] {27}\r\nContent-Type: text/html\r\n\r\n)\r\n");
  EXPECT_EQ(Fetch(nested_, "BODY[3]"), "* 1 FETCH (BODY[3] {8}\r\nAAECAw==)\r\n");
  // Parts that do not exist, and HEADER/TEXT of a part that is no message.
  EXPECT_EQ(Fetch(nested_, "BODY[9]"), "* 1 FETCH (BODY[9] {0}\r\n)\r\n");
  EXPECT_EQ(Fetch(nested_, "BODY[2.3]"), "* 1 FETCH (BODY[2.3] {0}\r\n)\r\n");
  EXPECT_EQ(Fetch(nested_, "BODY[1.2]"), "* 1 FETCH (BODY[1.2] {0}\r\n)\r\n");
  EXPECT_EQ(Fetch(nested_, "BODY[1.HEADER]"), "* 1 FETCH (BODY[1.HEADER] {0}\r\n)\r\n");
  EXPECT_EQ(Fetch(nested_, "BODY[1.TEXT]"), "* 1 FETCH (BODY[1.TEXT] {0}\r\n)\r\n");
  EXPECT_EQ(Fetch(nested_, "BODY[9.MIME]"), "* 1 FETCH (BODY[9.MIME] {0}\r\n)\r\n");
}

TEST_F(EngineFetchRender, Binary) {
  EXPECT_EQ(Fetch(nested_, "BINARY[3]"),
            std::string("* 1 FETCH (BINARY[3] ~{4}\r\n\0\1\2\3)\r\n", 34));
  EXPECT_EQ(Fetch(nested_, "BINARY.PEEK[3]<1.2>"),
            std::string("* 1 FETCH (BINARY[3]<1> {2}\r\n\1\2)\r\n", 34));
  EXPECT_EQ(Fetch(nested_, "BINARY.SIZE[3]"), "* 1 FETCH (BINARY.SIZE[3] 4)\r\n");
  EXPECT_EQ(Fetch(nested_, "BINARY[1]"), "* 1 FETCH (BINARY[1] {8}\r\npart one)\r\n");
  EXPECT_EQ(Fetch(nested_, "BINARY.SIZE[1]"), "* 1 FETCH (BINARY.SIZE[1] 8)\r\n");
  EXPECT_EQ(Fetch(nested_, "BINARY[9]"), "* 1 FETCH (BINARY[9] {0}\r\n)\r\n");
  auto spec = ParseFetchItems(Value::Atom("BINARY[4]"));
  ASSERT_TRUE(spec.ok());
  auto view = fx_.store().Read();
  FetchMessage msg{1, &nested_, false};
  auto r = RenderFetch(*spec, msg, view.get());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnsupported);
}

TEST_F(EngineFetchRender, LargeLiteralsBecomeBlobRanges) {
  auto spec = ParseFetchItems(L({"UID", "BODY.PEEK[]", "BODY.PEEK[1]<2.3>", "FLAGS"}));
  ASSERT_TRUE(spec.ok());
  auto view = fx_.store().Read();
  FetchMessage msg{1, &simple_, false};
  FetchRenderOptions o;
  o.inline_limit = 3;
  auto pieces = RenderFetch(*spec, msg, view.get(), o);
  ASSERT_TRUE(pieces.ok());
  ASSERT_EQ(pieces->size(), 5u);
  EXPECT_FALSE((*pieces)[0].range);
  EXPECT_EQ((*pieces)[0].bytes, "* 1 FETCH (UID " + std::to_string(simple_.uid) + " BODY[] {" +
                                    std::to_string(kSimple.size()) + "}\r\n");
  ASSERT_TRUE((*pieces)[1].range);
  EXPECT_EQ((*pieces)[1].range->blob, simple_.blob);
  EXPECT_EQ((*pieces)[1].range->offset, 0u);
  EXPECT_EQ((*pieces)[1].range->length, kSimple.size());
  EXPECT_EQ((*pieces)[2].bytes, " BODY[1]<2> {3}\r\n");
  ASSERT_TRUE((*pieces)[3].range);
  EXPECT_EQ((*pieces)[3].size(), 3u);
  EXPECT_EQ((*pieces)[4].bytes, " FLAGS (\\Flagged \\Seen $Work))\r\n");
  auto flat = FlattenPieces(*pieces, view.get());
  ASSERT_TRUE(flat.ok());
  EXPECT_EQ(*flat, "* 1 FETCH (UID " + std::to_string(simple_.uid) + " BODY[] {" +
                       std::to_string(kSimple.size()) + "}\r\n" + kSimple +
                       " BODY[1]<2> {3}\r\nllo FLAGS (\\Flagged \\Seen $Work))\r\n");
}

TEST_F(EngineFetchRender, EnvelopeOfASimpleMessage) {
  EXPECT_EQ(
      Fetch(simple_, "ENVELOPE"),
      "* 1 FETCH (ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700\" \"Hello\" "
      "((\"Alice\" NIL \"alice\" \"example.com\")) ((\"Alice\" NIL \"alice\" \"example.com\")) "
      "((\"Alice\" NIL \"alice\" \"example.com\")) ((\"Bob\" NIL \"bob\" \"example.org\")) "
      "NIL NIL NIL \"<m1@example.com>\"))\r\n");
}

TEST_F(EngineFetchRender, BodyStructureOfASimpleMessage) {
  EXPECT_EQ(
      Fetch(simple_, "BODYSTRUCTURE"),
      "* 1 FETCH (BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
      "11 1 NIL NIL NIL NIL))\r\n");
  EXPECT_EQ(
      Fetch(simple_, "BODY"),
      "* 1 FETCH (BODY (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 11 1))\r\n");
}

TEST_F(EngineFetchRender, BodyStructureOfNestedMultipartAndMessage) {
  std::string inner_text =
      "--in\r\nContent-Type: text/plain\r\n\r\ninner text\r\n--in\r\nContent-Type: text/html\r\n"
      "\r\n<p>inner</p>\r\n--in--";
  std::string part2 =
      "From: inner@x.example\r\nSubject: inner\r\nContent-Type: multipart/alternative; "
      "boundary=\"in\"\r\n\r\n" +
      inner_text;
  std::string got = Fetch(nested_, "BODYSTRUCTURE");
  std::string expected =
      "* 1 FETCH (BODYSTRUCTURE ("
      "(\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 8 0 NIL NIL NIL NIL)"
      "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" " +
      std::to_string(part2.size()) +
      " (NIL \"inner\" ((NIL NIL \"inner\" \"x.example\")) ((NIL NIL \"inner\" \"x.example\")) "
      "((NIL NIL \"inner\" \"x.example\")) NIL NIL NIL NIL NIL) "
      "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 0 NIL NIL NIL NIL)"
      "(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 12 0 NIL NIL NIL NIL) "
      "\"alternative\" (\"boundary\" \"in\") NIL NIL NIL) 12 NIL NIL NIL NIL)"
      "(\"application\" \"octet-stream\" NIL NIL NIL \"base64\" 8 NIL NIL NIL NIL)"
      "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"x-uuencode\" 11 0 NIL NIL NIL NIL) "
      "\"mixed\" (\"boundary\" \"outer\") NIL NIL NIL))\r\n";
  EXPECT_EQ(got, expected);
}

TEST_F(EngineFetchRender, MissingBlobFails) {
  storage::MessageRecord ghost = simple_;
  ghost.blob.bytes[0] ^= 0xff;
  auto spec = ParseFetchItems(Value::Atom("BODY[]"));
  ASSERT_TRUE(spec.ok());
  auto view = fx_.store().Read();
  FetchMessage msg{1, &ghost, false};
  EXPECT_FALSE(RenderFetch(*spec, msg, view.get()).ok());
}

}  // namespace
}  // namespace pillarbox::imap
