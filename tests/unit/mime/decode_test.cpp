// Transfer encodings, encoded words, parameter values, charsets, dates.
#include "protocols/mime/decode.h"

#include <gtest/gtest.h>

#include "mime_test_util.h"
#include "protocols/mime/date.h"
#include "protocols/mime/header.h"
#include "protocols/mime/message.h"

namespace pillarbox::mime {
namespace {

using testing::Crlf;
using testing::Fixture;

TEST(QuotedPrintableTest, Decodes) {
  EXPECT_EQ(DecodeQuotedPrintable("Hallo Ren=C3=A9,\r\nanbei=\r\n die\r\n"),
            "Hallo Ren\xC3\xA9,\r\nanbei die\r\n");
  EXPECT_EQ(DecodeQuotedPrintable("a  \t\r\nb"), "a\r\nb");
  EXPECT_EQ(DecodeQuotedPrintable("end=20\r\n"), "end \r\n");
  EXPECT_EQ(DecodeQuotedPrintable("lower =c3=a9"), "lower \xC3\xA9");
  EXPECT_EQ(DecodeQuotedPrintable("soft at end="), "soft at end");
  EXPECT_EQ(DecodeQuotedPrintable("bare\nlf"), "bare\r\nlf");
  EXPECT_EQ(DecodeQuotedPrintable(""), "");
}

TEST(QuotedPrintableTest, MalformedSequencesStayLiteral) {
  EXPECT_EQ(DecodeQuotedPrintable("a=ZZb"), "a=ZZb");
  EXPECT_EQ(DecodeQuotedPrintable("a=4"), "a=4");
  EXPECT_EQ(DecodeQuotedPrintable("=4\r\n"), "=4\r\n");
  EXPECT_EQ(DecodeQuotedPrintable("x= y\r\n"), "x= y\r\n");
}

TEST(Base64Test, Tolerant) {
  EXPECT_EQ(DecodeBase64("SGVsbG8="), "Hello");
  EXPECT_EQ(DecodeBase64("SGVs\r\nbG8=\r\n"), "Hello");
  EXPECT_EQ(DecodeBase64("SGVsbG8"), "Hello");
  EXPECT_EQ(DecodeBase64("SG!Vs*bG8="), "Hello");
  EXPECT_EQ(DecodeBase64("SGVsb"), "Hel");
  EXPECT_EQ(DecodeBase64("SGVs=trailing"), "Hel");
  EXPECT_EQ(DecodeBase64(""), "");
}

TEST(TransferEncodingTest, ByName) {
  EXPECT_EQ(DecodeTransferEncoding("SGk=", std::string("BASE64")), "Hi");
  EXPECT_EQ(DecodeTransferEncoding("H=69", std::string("quoted-printable")), "Hi");
  EXPECT_EQ(DecodeTransferEncoding("H=69", std::string("8bit")), "H=69");
  EXPECT_EQ(DecodeTransferEncoding("H=69", std::nullopt), "H=69");
}

TEST(HeaderDecodeTest, EncodedWords) {
  EXPECT_EQ(DecodeHeaderValue("=?UTF-8?Q?Rechnung_f=C3=BCr?= =?UTF-8?Q?_M=C3=A4rz?="),
            "Rechnung f\xC3\xBCr M\xC3\xA4rz");
  EXPECT_EQ(DecodeHeaderValue("=?ISO-8859-1?Q?Ren=E9?="), "Ren\xC3\xA9");
  EXPECT_EQ(DecodeHeaderValue("M=?iso-8859-1?Q?=FC?=ller, Hans"), "M\xC3\xBCller, Hans");
  EXPECT_EQ(DecodeHeaderValue("=?Windows-1252?Q?Besprechung_=96_Termin?="),
            "Besprechung \xE2\x80\x93 Termin");
  EXPECT_EQ(DecodeHeaderValue("=?UTF-8?B?SsO2cmcgTcO8bGxlcg==?="), "J\xC3\xB6rg M\xC3\xBCller");
  EXPECT_EQ(DecodeHeaderValue("=?utf-8*en?q?lang?="), "lang");
}

TEST(HeaderDecodeTest, WhitespaceBetweenEncodedWords) {
  // Dropped between adjacent encoded words (RFC 2047 6.2), kept elsewhere.
  EXPECT_EQ(DecodeHeaderValue("=?utf-8?q?a?= \r\n =?utf-8?q?b?="), "ab");
  EXPECT_EQ(DecodeHeaderValue("=?utf-8?q?a?= b =?utf-8?q?c?="), "a b c");
  EXPECT_EQ(DecodeHeaderValue("x =?utf-8?q?a?=  y"), "x a  y");
}

TEST(HeaderDecodeTest, CharacterSplitAcrossWords) {
  // "\xC3" and "\xA4" in separate words still make one character.
  EXPECT_EQ(DecodeHeaderValue("=?UTF-8?B?ww==?= =?UTF-8?B?pA==?="), "\xC3\xA4");
}

TEST(HeaderDecodeTest, MalformedWordsStayLiteral) {
  EXPECT_EQ(DecodeHeaderValue("=?utf-8?x?abc?="), "=?utf-8?x?abc?=");
  EXPECT_EQ(DecodeHeaderValue("=?utf-8?q?no end"), "=?utf-8?q?no end");
  EXPECT_EQ(DecodeHeaderValue("=??q?a?="), "=??q?a?=");
  EXPECT_EQ(DecodeHeaderValue("=?utf-8?q?a b?="), "=?utf-8?q?a b?=");
  EXPECT_EQ(DecodeHeaderValue("=?x-unknown-charset?q?abc?="), "abc");
}

TEST(HeaderDecodeTest, RawBytesAndFolding) {
  EXPECT_EQ(DecodeHeaderValue(" caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(DecodeHeaderValue("caf\xE9"), "caf\xEF\xBF\xBD");
  EXPECT_EQ(DecodeHeaderValue("a\r\n b"), "a b");
  EXPECT_EQ(DecodeHeaderValue(std::string("a\0b", 3)),
            "a\xEF\xBF\xBD"
            "b");
}

TEST(CharsetTest, ConvertsToUtf8) {
  EXPECT_EQ(ConvertToUtf8("\xE9t\xE9", "ISO-8859-15"), "\xC3\xA9t\xC3\xA9");
  EXPECT_EQ(ConvertToUtf8("\xE9t\xE9", "latin1"), "\xC3\xA9t\xC3\xA9");
  EXPECT_EQ(ConvertToUtf8("\xF0\xD2\xC9\xD7\xC5\xD4", "koi8-r"),
            "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82");
  EXPECT_EQ(ConvertToUtf8("\xCF\xF0\xE8\xE2\xE5\xF2", "Windows-1251"),
            "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82");
  EXPECT_EQ(ConvertToUtf8("\x80", " windows-1252 "), "\xE2\x82\xAC");
  EXPECT_EQ(ConvertToUtf8("abc", "US-ASCII"), "abc");
  EXPECT_EQ(ConvertToUtf8("\xFF", "utf-8"), "\xEF\xBF\xBD");
  EXPECT_EQ(ConvertToUtf8("\xFF", "no-such-charset"), "\xEF\xBF\xBD");
  EXPECT_EQ(ConvertToUtf8("\x1b$B$3$s$K$A$O\x1b(B", "ISO-2022-JP"),
            "\xE3\x81\x93\xE3\x82\x93\xE3\x81\xAB\xE3\x81\xA1\xE3\x81\xAF");
}

TEST(CharsetTest, InvalidBytesBecomeReplacementCharacters) {
  // 0xA4 opens a two-byte EUC-JP sequence that the end cuts off.
  EXPECT_EQ(ConvertToUtf8("a\xA4", "EUC-JP"), "a\xEF\xBF\xBD");
  EXPECT_EQ(ConvertToUtf8("\x81\x30x", "Shift_JIS").substr(0, 3), "\xEF\xBF\xBD");
  EXPECT_EQ(SanitizeUtf8("\xC3\x28"), "\xEF\xBF\xBD(");
  EXPECT_EQ(SanitizeUtf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(SanitizeUtf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong
  EXPECT_EQ(SanitizeUtf8("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");
}

TEST(DecodedParamTest, Values) {
  std::vector<Param> params = {{"name*", "UTF-8''Rechnung%20M%C3%A4rz%202026.pdf"},
                               {"filename", "=?utf-8?B?w6QucGRm?="},
                               {"n*", "''50%25%41"},
                               {"l*", "iso-8859-1'en'%E9t%E9"},
                               {"plain", "x y"}};
  EXPECT_EQ(DecodedParam(params, "name"), "Rechnung M\xC3\xA4rz 2026.pdf");
  EXPECT_EQ(DecodedParam(params, "FILENAME"), "\xC3\xA4.pdf");
  EXPECT_EQ(DecodedParam(params, "n"), "50%A");
  EXPECT_EQ(DecodedParam(params, "l"), "\xC3\xA9t\xC3\xA9");
  EXPECT_EQ(DecodedParam(params, "plain"), "x y");
  EXPECT_EQ(DecodedParam(params, "absent"), std::nullopt);
}

TEST(DecodedParamTest, FromAParsedAttachment) {
  Part root = ParseMessage(Fixture("attachment.eml"));
  const Part& pdf = root.children[1];
  EXPECT_EQ(DecodedParam(pdf.params, "name"), "Rechnung M\xC3\xA4rz 2026.pdf");
  EXPECT_EQ(DecodedParam(pdf.disposition_params, "filename"), "Rechnung M\xC3\xA4rz 2026.pdf");
}

TEST(SearchTextTest, PartsDecodedToUtf8) {
  std::string raw = Fixture("outlook_latin1.eml");
  Part root = ParseMessage(raw);
  EXPECT_EQ(PartSearchText(raw, root),
            "Gr\xC3\xBC\xC3\x9F Gott,\r\ndas Meeting ist verschoben.\r\n");
  EXPECT_EQ(DecodedHeaderValues(raw, root, "subject"),
            std::vector<std::string>{"Besprechung \xE2\x80\x93 Termin"});
  EXPECT_EQ(DecodedHeaderValues(raw, root, "FROM"),
            std::vector<std::string>{"\"M\xC3\xBCller, Hans\" <hans@example.at>"});
}

TEST(SearchTextTest, WholeMessageSkipsNonTextParts) {
  std::string raw = Fixture("attachment.eml");
  Part root = ParseMessage(raw);
  EXPECT_EQ(
      MessageSearchText(raw, root),
      "Hallo Ren\xC3\xA9,\r\nanbei die Rechnung f\xC3\xBCr M\xC3\xA4rz. \r\nGr\xC3\xBC\xC3\x9F"
      "e\r\n\n<html><body><p>Hallo</p></body></html>\r\n\n");
  EXPECT_EQ(PartSearchText(raw, root.children[1]), "");
}

TEST(SearchTextTest, EmbeddedMessagesAreSearched) {
  std::string raw = Fixture("nested.eml");
  Part root = ParseMessage(raw);
  EXPECT_EQ(MessageSearchText(raw, root), "hello\r\n\n<p>hi</p>\r\n\nhi there\r\n\n");
  EXPECT_EQ(DecodedHeaderValues(raw, root.children[1].children[0], "Subject"),
            std::vector<std::string>{"inner"});
}

TEST(SearchTextTest, FoldedEncodedSubject) {
  std::string raw = Fixture("long_folded.eml");
  EXPECT_EQ(DecodedHeaderValues(raw, ParseMessage(raw), "Subject"),
            std::vector<std::string>{"A very long subject that was folded by the sending client "
                                     "\xE2\x80\x94 twice and then some plain words"});
}

TEST(SearchTextTest, Base64TextPart) {
  std::string raw = Crlf(
      "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
      "R3LDvMOfZQ==\n");
  EXPECT_EQ(PartSearchText(raw, ParseMessage(raw)),
            "Gr\xC3\xBC\xC3\x9F"
            "e");
}

TEST(HeaderTest, SplitsFields) {
  std::string h = "A: 1\r\nB:2\r\n  cont\r\nno colon\r\nC : 3\r\n\r\nbody";
  HeaderBlock b = ParseHeader(h, 0, h.size(), 1000, 1000);
  ASSERT_EQ(b.fields.size(), 4u);
  EXPECT_EQ(b.end, h.find("body"));
  EXPECT_EQ(b.fields[0].name, "A");
  EXPECT_EQ(b.fields[0].raw_value, " 1");
  EXPECT_EQ(b.fields[1].raw_value, "2\r\n  cont");
  EXPECT_EQ(b.fields[1].size, 13u);
  EXPECT_FALSE(b.fields[2].has_colon);
  EXPECT_EQ(b.fields[3].name, "C");
  EXPECT_EQ(Unfold(b.fields[1].raw_value), "2  cont");
  EXPECT_EQ(FindField(b.fields, "c")->raw_value, " 3");
  EXPECT_EQ(FindField(b.fields, "no colon"), nullptr);
}

// --- Dates ---------------------------------------------------------------

TEST(DateTest, Rfc5322Forms) {
  EXPECT_EQ(ParseRfc5322Date("Tue, 3 Mar 2026 10:00:00 +0100"), (ParsedDate{1772528400, 60}));
  EXPECT_EQ(ParseRfc5322Date("Fri, 13 Feb 2026 12:30:00 -0500 (EST)"),
            (ParsedDate{1771003800, -300}));
  EXPECT_EQ(ParseRfc5322Date("Fri, 31 Dec 1999 23:59:59 +0530"), (ParsedDate{946664999, 330}));
  EXPECT_EQ(ParseRfc5322Date("31 Dec 2016 23:59:60 +0000"), (ParsedDate{1483228799, 0}));
}

TEST(DateTest, CommonMalformations) {
  // Two-digit year, no seconds, obsolete zone name, no weekday.
  EXPECT_EQ(ParseRfc5322Date("13 Feb 26 12:30 EST"), (ParsedDate{1771003800, -300}));
  // Full month name, lower case, doubled blanks.
  EXPECT_EQ(ParseRfc5322Date("thu,  19 february 2026  14:00:00 +0100"),
            (ParsedDate{1771506000, 60}));
  // asctime layout without a zone.
  EXPECT_EQ(ParseRfc5322Date("Mon Jan  2 15:04:05 2006"), (ParsedDate{1136214245, 0}));
  EXPECT_EQ(ParseRfc5322Date("2-Jan-2006 15:04:05 +0000"), (ParsedDate{1136214245, 0}));
  // Zone glued to the time, unknown zone name, 3-digit year.
  EXPECT_EQ(ParseRfc5322Date("2 Jan 2006 15:04:05+0000"), (ParsedDate{1136214245, 0}));
  EXPECT_EQ(ParseRfc5322Date("2 Jan 2006 15:04:05 XYZ"), (ParsedDate{1136214245, 0}));
  EXPECT_EQ(ParseRfc5322Date("2 Jan 106 15:04:05 GMT"), (ParsedDate{1136214245, 0}));
  // Date only.
  EXPECT_EQ(ParseRfc5322Date("2 Jan 2006"), (ParsedDate{1136160000, 0}));
}

TEST(DateTest, Garbage) {
  for (const char* bad : {"", "hello", "32 Jan 2026", "1 Foo 2026", "1 Jan 2026 25:00:00",
                          "1 Jan 2026 10:61", "Jan 2026", "1 Jan 2026 1:2:3:4"}) {
    EXPECT_EQ(ParseRfc5322Date(bad), std::nullopt) << bad;
  }
}

TEST(DateTest, DaysFromCivil) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
}

}  // namespace
}  // namespace pillarbox::mime
