// RFC 5256 base subjects, the sort fold and the stored sort keys.
#include "protocols/mime/sort_keys.h"

#include <gtest/gtest.h>

#include <string>

namespace pillarbox::mime {
namespace {

std::string Base(std::string_view s, bool* reply = nullptr) { return BaseSubject(s, reply); }

TEST(BaseSubjectTest, WhiteSpaceRunsBecomeOneSpace) { EXPECT_EQ(Base("a \t  b\r\n c"), "a b c"); }

TEST(BaseSubjectTest, Step2TrailersFwdAndWhiteSpace) {
  bool reply = false;
  EXPECT_EQ(Base("hello (fwd)", &reply), "hello");
  EXPECT_TRUE(reply);
  EXPECT_EQ(Base("hello (FWD) (fwd)   ", &reply), "hello");
  EXPECT_TRUE(reply);
  EXPECT_EQ(Base("hello   ", &reply), "hello");
  EXPECT_FALSE(reply);
  EXPECT_EQ(Base("hello(fwd)x", &reply), "hello(fwd)x");
  EXPECT_FALSE(reply);
}

TEST(BaseSubjectTest, Step3Leaders) {
  bool reply = false;
  EXPECT_EQ(Base("Re: hi", &reply), "hi");
  EXPECT_TRUE(reply);
  EXPECT_EQ(Base("RE:hi"), "hi");
  EXPECT_EQ(Base("fw: hi"), "hi");
  EXPECT_EQ(Base("Fwd: hi"), "hi");
  EXPECT_EQ(Base("re : hi"), "hi");    // *WSP before the colon
  EXPECT_EQ(Base("Re[2]: hi"), "hi");  // a blob before the colon
  EXPECT_EQ(Base("Re [2] : hi"), "hi");
  EXPECT_EQ(Base("[list] Re: hi"), "hi");         // blobs before re
  EXPECT_EQ(Base("Re: Re: Fwd: hi"), "hi");       // repeated
  EXPECT_EQ(Base("   Re: hi"), "hi");             // leading white space
  EXPECT_EQ(Base("Ref: hi", &reply), "Ref: hi");  // not re/fw/fwd
  EXPECT_FALSE(reply);
  EXPECT_EQ(Base("Ad: Re: x"), "Ad: Re: x");  // a leader must come first
  EXPECT_EQ(Base("Re hi"), "Re hi");          // no colon
}

TEST(BaseSubjectTest, Step4BlobsUnlessTheyAreEverything) {
  bool reply = false;
  EXPECT_EQ(Base("[list] hi", &reply), "hi");
  EXPECT_FALSE(reply);
  EXPECT_EQ(Base("[a][b] hi"), "hi");
  EXPECT_EQ(Base("[xyz]"), "[xyz]");
  EXPECT_EQ(Base("[a] [b]"), "[b]");
  EXPECT_EQ(Base("[a[b] hi"), "[a[b] hi");  // '[' is not a BLOBCHAR
}

TEST(BaseSubjectTest, Step6FwdBrackets) {
  bool reply = false;
  EXPECT_EQ(Base("[Fwd: hi]", &reply), "hi");
  EXPECT_TRUE(reply);
  EXPECT_EQ(Base("Re: [FWD: c]"), "c");
  EXPECT_EQ(Base("re: [fwd: [fwd: re: [fwd: babylon]]]"), "babylon");
  EXPECT_EQ(Base("[fwd: hi"), "[fwd: hi");
}

TEST(BaseSubjectTest, AllStepsTogether) {
  bool reply = false;
  EXPECT_EQ(Base("[foo] Fwd: [bar] Re: fw: b (fWd)  (fwd)", &reply), "b");
  EXPECT_TRUE(reply);
  EXPECT_EQ(Base(""), "");
  EXPECT_EQ(Base("   "), "");
}

TEST(SortFoldTest, UpperCaseSoUnderscoreSortsAfterLetters) {
  EXPECT_EQ(SortFold("abc_Z"), "ABC_Z");
  EXPECT_LT(SortFold("c"), SortFold("[xyz]"));
  EXPECT_LT(SortFold("[xyz]"), SortFold("_"));
}

TEST(SortFoldTest, NonAscii) {
  EXPECT_EQ(SortFold("é"), SortFold("É"));
  EXPECT_EQ(SortFold("é"), "E\xcc\x81");  // decomposed: sorts between E and F
  EXPECT_LT(SortFold("e"), SortFold("é"));
  EXPECT_LT(SortFold("é"), SortFold("f"));
  EXPECT_EQ(SortFold("ÿ"), "Y\xcc\x88");
  EXPECT_EQ(SortFold("ąĳ"), SortFold("ĄĲ"));
  EXPECT_EQ(SortFold("ľ"), SortFold("Ľ"));
  EXPECT_EQ(SortFold("αβς"), "ΑΒΣ");
  EXPECT_EQ(SortFold("жё"), "ЖЁ");
  EXPECT_EQ(SortFold("\xff"
                     "a"),
            "\xff"
            "A");  // invalid bytes kept
}

std::string Crlf(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

TEST(ComputeSortKeysTest, FromTheHeader) {
  SortKeys k =
      ComputeSortKeys(Crlf("From: =?iso-8859-1?q?J=F6rg?= <joerg@example.org>\n"
                           "To: list: a@x.org, b@y.org;\n"
                           "Cc: \"Carl\" <Carl.C@z.org>, d@z.org\n"
                           "Subject: =?utf-8?q?Re:_caf=C3=A9?= (fwd)\n"
                           "Date: Fri, 22 Feb 2008 02:00:00 +0200\n"
                           "Message-ID: < id1@host >\n"
                           "References: <r1@h> junk <r2@h>\n"
                           "In-Reply-To: <ignored@h>\n"
                           "\n"
                           "Subject: not a header\n"));
  EXPECT_EQ(k.subject, "CAFE\xcc\x81");
  EXPECT_TRUE(k.reply);
  EXPECT_TRUE(k.has_date);
  EXPECT_EQ(k.date, 1203638400);
  EXPECT_EQ(k.from, "JOERG");
  EXPECT_EQ(k.display_from, "JO\xcc\x88RG");
  EXPECT_EQ(k.to, "LIST");  // a group counts by its name
  EXPECT_EQ(k.display_to, "LIST");
  EXPECT_EQ(k.cc, "CARL.C");
  EXPECT_EQ(k.message_id, "id1@host");
  EXPECT_EQ(k.references, "r1@h r2@h");
}

TEST(ComputeSortKeysTest, InReplyToWithoutReferencesAndDisplayFallback) {
  SortKeys k =
      ComputeSortKeys(Crlf("From: b@c.d\nIn-Reply-To: <p@h> <q@h>\nDate: garbage\n\nbody\n"));
  EXPECT_EQ(k.references, "p@h");
  EXPECT_EQ(k.display_from, "B@C.D");
  EXPECT_FALSE(k.has_date);
  EXPECT_EQ(k.subject, "");
  EXPECT_FALSE(k.reply);
}

TEST(ComputeSortKeysTest, LimitsKeepKeysSmall) {
  std::string refs;
  for (int i = 0; i < 1000; ++i) refs += " <" + std::to_string(i) + "@h>";
  SortKeys k =
      ComputeSortKeys(Crlf("Subject: " + std::string(5000, 'x') + "\nReferences:" + refs + "\n\n"));
  EXPECT_EQ(k.subject.size(), kMaxSortKeyBytes);
  EXPECT_EQ(k.references.substr(0, 6), "936@h ");  // the last 64 kept
  EXPECT_TRUE(k.references.ends_with(" 999@h"));
}

TEST(SortKeysCodecTest, RoundTripAndMalformed) {
  SortKeys k;
  k.has_date = true;
  k.reply = true;
  k.date = -5;
  k.subject = std::string(300, 's');
  k.from = "F";
  k.to = "T";
  k.cc = "C";
  k.display_from = "DF";
  k.display_to = "DT";
  k.message_id = "m@h";
  k.references = "a@h b@h";
  std::string enc = EncodeSortKeys(k);
  auto v = DecodeSortKeys(enc);
  ASSERT_TRUE(v.has_value());
  EXPECT_TRUE(v->has_date);
  EXPECT_TRUE(v->reply);
  EXPECT_EQ(v->date, -5);
  EXPECT_EQ(v->subject, k.subject);
  EXPECT_EQ(v->from, "F");
  EXPECT_EQ(v->to, "T");
  EXPECT_EQ(v->cc, "C");
  EXPECT_EQ(v->display_from, "DF");
  EXPECT_EQ(v->display_to, "DT");
  EXPECT_EQ(v->message_id, "m@h");
  EXPECT_EQ(v->references, "a@h b@h");
  // Every truncation is refused, never read past the end.
  for (std::size_t n = 0; n < enc.size(); ++n) {
    EXPECT_FALSE(DecodeSortKeys(enc.substr(0, n)).has_value()) << n;
  }
  std::string other = enc;
  other[0] = 2;  // a version this build does not know
  EXPECT_FALSE(DecodeSortKeys(other).has_value());
}

}  // namespace
}  // namespace pillarbox::mime
