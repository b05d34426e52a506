// The SEARCH engine's linear matcher, the body text in pieces, and the
// resumable evaluation (budget per call, work cap).
#include <gtest/gtest.h>

#include <string>

#include "protocols/imap/search.h"
#include "protocols/mime/decode.h"
#include "protocols/mime/message.h"
#include "tests/support/test_support.h"

namespace pillarbox::imap {
namespace {

// ---- StreamMatcher ----------------------------------------------------------

TEST(StreamMatcherTest, FindsAcrossEverySplit) {
  const std::string text = "the quick brown fox jumps over the lazy dog";
  for (const std::string needle : {"fox", "the lazy dog", "t", "quick brown fox jumps"}) {
    for (std::size_t cut = 0; cut <= text.size(); ++cut) {
      StreamMatcher m(needle);
      bool found = m.Feed(std::string_view(text).substr(0, cut));
      found = m.Feed(std::string_view(text).substr(cut)) || found;
      EXPECT_TRUE(found) << needle << " cut " << cut;
    }
  }
  for (const std::string needle : {"foxx", "dogs", "lazy  dog"}) {
    StreamMatcher m(needle);
    EXPECT_FALSE(m.Feed(text));
  }
}

TEST(StreamMatcherTest, ByteByByteWithBorders) {
  // Borders: after a partial match fails, the matcher must fall back to the
  // longest prefix that is still matched, not to the start.
  const std::string text = "aabaabaaab";
  StreamMatcher m("aaab");
  bool found = false;
  for (char c : text) found = m.Feed(std::string_view(&c, 1)) || found;
  EXPECT_TRUE(found);
  StreamMatcher n("abaabaab");
  EXPECT_FALSE(n.Feed("abaabaaab"));
  EXPECT_FALSE(n.Feed("xabaaba"));
  EXPECT_TRUE(n.Feed("ab"));  // spans the two pieces
}

TEST(StreamMatcherTest, EmptyNeedleIsFound) { EXPECT_TRUE(StreamMatcher("").found()); }

// The classic quadratic case for naive search: work stays linear.
TEST(StreamMatcherTest, PathologicalNeedleIsLinear) {
  const std::string text(1 << 20, 'a');
  const std::string needle = std::string(60000, 'a') + "b";
  StreamMatcher m(needle);
  for (std::size_t i = 0; i < text.size(); i += 4096) {
    EXPECT_FALSE(m.Feed(std::string_view(text).substr(i, 4096)));
  }
  EXPECT_LE(m.steps(), 2 * text.size());
  EXPECT_TRUE(ContainsFolded(text + "b", needle));
  EXPECT_FALSE(ContainsFolded(text, needle));
  EXPECT_FALSE(ContainsFolded("short", needle));
  EXPECT_TRUE(ContainsFolded("anything", ""));
}

// ---- BodyTextStream -----------------------------------------------------------

std::string Whole(const std::string& raw) {
  mime::Part root = mime::ParseMessage(raw);
  return SearchFold(mime::MessageSearchText(raw, root));
}

std::string Streamed(const std::string& raw, std::size_t chunk) {
  mime::Part root = mime::ParseMessage(raw);
  BodyTextStream stream(root);
  std::string out;
  int guard = 0;
  while (stream.Next(raw, &out, chunk) > 0 && ++guard < 1000000) {
  }
  EXPECT_TRUE(stream.done());
  return out;
}

const std::string kHeader = "From: a@example.com\r\nSubject: s\r\nMIME-Version: 1.0\r\n";

std::string Part(const std::string& type, const std::string& cte, const std::string& body) {
  return "Content-Type: " + type + "\r\n" +
         (cte.empty() ? "" : "Content-Transfer-Encoding: " + cte + "\r\n") + "\r\n" + body;
}

std::vector<std::string> Messages() {
  std::vector<std::string> m;
  m.push_back(kHeader + Part("text/plain", "", "Hello World\r\nSecond LINE\r\n"));
  m.push_back(kHeader + Part("text/plain; charset=utf-8", "8bit",
                             "Gr\xC3\xBC\xC3\x9F"
                             "e \xE2\x82\xAC \xF0\x9F\x98\x80 \xC3\x84RGER \xFF\xC3 end\r\n"));
  m.push_back(kHeader + Part("text/plain; charset=iso-8859-1", "quoted-printable",
                             "Gr=FC=DFe aus K=F6ln, =\r\nbis bald   \r\n=3D=3d= \r\n"
                             "tail=\r\n=41=4x=\r\nlast =  \r\n \t \r\n=0"));
  m.push_back(kHeader + Part("text/plain; charset=utf-8", "base64",
                             "0J/RgNC4\r\n0LLQtdGC\r\nLCDQvNC4\r\n0YA=\r\nignored\r\n"));
  m.push_back(kHeader + Part("text/plain; charset=utf-8", "base64",
                             "0J/RgNC40L\r\nLQtd\r\nGCLCD Qv NC40\r\nYA"));
  m.push_back(kHeader + Part("text/plain; charset=shift_jis", "",
                             "\x93\xfa\x96\x7b\x8c\xea abc \x83\x65\x83\x58\x83\x67\r\n"));
  m.push_back(kHeader + Part("text/plain; charset=iso-2022-jp", "7bit",
                             "\x1b$B$3$s$K$A$O\x1b(B hello \x1b$B@$3&\x1b(B\r\n"));
  m.push_back(kHeader + "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" +
              Part("text/plain", "quoted-printable", "first=20part\r\n") + "\r\n--b\r\n" +
              Part("application/octet-stream", "base64", "c2VjcmV0\r\n") + "\r\n--b\r\n" +
              Part("text/html; charset=utf-8", "", "<p>\xC3\x84hnlich</p>\r\n") + "\r\n--b--\r\n");
  return m;
}

TEST(BodyTextStreamTest, PiecesEqualTheWholeAtEveryChunkSize) {
  for (const std::string& raw : Messages()) {
    const std::string whole = Whole(raw);
    for (std::size_t chunk = 1; chunk <= 64; ++chunk) {
      ASSERT_EQ(Streamed(raw, chunk), whole) << "chunk " << chunk << " of\n" << raw;
    }
    EXPECT_EQ(Streamed(raw, kSearchChunkBytes), whole);
  }
}

TEST(BodyTextStreamTest, LargeQuotedPrintableWithoutLineBreaks) {
  // No line break for a long way: cuts fall after escapes and letters.
  std::string body;
  for (int i = 0; i < 20000; ++i) body += i % 7 == 0 ? "=41" : i % 5 == 0 ? " " : "x";
  std::string raw = kHeader + Part("text/plain", "quoted-printable", body + "=\r\nend\r\n");
  const std::string whole = Whole(raw);
  for (std::size_t chunk : {1, 2, 3, 100, 4096}) EXPECT_EQ(Streamed(raw, chunk), whole) << chunk;
}

// ---- SearchRun ------------------------------------------------------------------

class SearchRunTest : public ::testing::Test {
 protected:
  void SetUp() override { user_ = fx_.AddUser("u", "pw"); }

  storage::MessageRecord Add(const std::string& bytes) {
    fx_.Deliver(user_.id, bytes);
    fx_.RunPending();
    auto view = fx_.store().Read();
    auto mbox = view->FindMailbox(user_.id, "INBOX");
    auto all = view->ListMessages(mbox->id);
    return all.back();
  }

  SearchProgram Program(std::vector<Value> args) {
    auto p = ParseSearch(args, 0);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return std::move(*p);
  }

  // Evaluates with a fresh view per call, counting the calls.
  SearchOutcome Run(SearchRun& run, const storage::MessageRecord& rec, std::uint64_t budget,
                    int* calls) {
    for (*calls = 1; *calls < 100000; ++*calls) {
      auto view = fx_.store().Read();
      SearchContext ctx;
      ctx.seq = 1;
      ctx.record = &rec;
      ctx.max_seq = 1;
      ctx.max_uid = rec.uid;
      ctx.view = view.get();
      SearchOutcome o = run.Evaluate(ctx, budget);
      if (o != SearchOutcome::kPending) return o;
    }
    return SearchOutcome::kPending;
  }

  testing::StoreFixture fx_;
  storage::UserRecord user_;
};

// A needle cut by every piece boundary, folded both sides, found late in a
// large message: many calls, each within its budget, then the match.
TEST_F(SearchRunTest, LargeMessageResumesAcrossCalls) {
  std::string body;
  while (body.size() < 600000) body += "lorem ipsum dolor sit amet\r\n";
  body += "The \xC3\x84RGER Needle\r\n";
  auto rec = Add(kHeader + Part("text/plain; charset=utf-8", "", body));
  SearchProgram program = Program({Value::Atom("BODY"), Value::String("\xC3\xA4rger NEEDLE")});
  SearchRun run(program);
  int calls = 0;
  EXPECT_EQ(Run(run, rec, 64 * 1024, &calls), SearchOutcome::kMatch);
  EXPECT_GE(calls, 5);
  EXPECT_LE(run.work(), 2 * body.size() + 64 * 1024);

  SearchProgram absent = Program({Value::Atom("TEXT"), Value::String("needles")});
  SearchRun run2(absent);
  EXPECT_EQ(Run(run2, rec, 64 * 1024, &calls), SearchOutcome::kNoMatch);
  EXPECT_GE(calls, 5);
  // Decided without the body: no pending call at all.
  SearchProgram cheap = Program({Value::Atom("SEEN"), Value::Atom("BODY"), Value::String("x")});
  SearchRun run3(cheap);
  EXPECT_EQ(Run(run3, rec, 1, &calls), SearchOutcome::kNoMatch);
  EXPECT_EQ(calls, 1);
  SearchProgram either = Program({Value::Atom("OR"), Value::Atom("BODY"), Value::String("lorem"),
                                  Value::Atom("BODY"), Value::String("nowhere")});
  SearchRun run4(either);
  EXPECT_EQ(Run(run4, rec, 1, &calls), SearchOutcome::kMatch);
  EXPECT_LE(run4.work(), 3 * kSearchChunkBytes + kSearchMessageWork);  // one piece
}

TEST_F(SearchRunTest, WorkCapEndsTheRun) {
  std::string body(1 << 20, 'a');
  auto rec = Add(kHeader + Part("text/plain", "", body));
  std::vector<Value> args;
  for (int i = 0; i < 8; ++i) {
    args.push_back(Value::Atom("BODY"));
    args.push_back(Value::String(std::string(100 + i, 'a') + "b"));
  }
  SearchProgram program = Program(args);
  SearchRun run(program, 4u << 20);
  int calls = 0;
  EXPECT_EQ(Run(run, rec, kSearchSliceWorkBytes, &calls), SearchOutcome::kLimit);
  EXPECT_LE(run.work(), (4u << 20) + 9 * kSearchChunkBytes);
  // The same search within a larger cap completes.
  SearchRun roomy(program, 64u << 20);
  EXPECT_EQ(Run(roomy, rec, kSearchSliceWorkBytes, &calls), SearchOutcome::kNoMatch);
}

TEST_F(SearchRunTest, AnotherMessageAbandonsThePendingOne) {
  std::string body(300000, 'z');
  auto big = Add(kHeader + Part("text/plain", "", body + " needle\r\n"));
  auto small = Add(kHeader + Part("text/plain", "", "a needle\r\n"));
  SearchProgram program = Program({Value::Atom("BODY"), Value::String("needle")});
  SearchRun run(program);
  auto view = fx_.store().Read();
  SearchContext ctx;
  ctx.record = &big;
  ctx.view = view.get();
  EXPECT_EQ(run.Evaluate(ctx, 1000), SearchOutcome::kPending);
  ctx.record = &small;
  EXPECT_EQ(run.Evaluate(ctx, 1000), SearchOutcome::kMatch);
}

}  // namespace
}  // namespace pillarbox::imap
