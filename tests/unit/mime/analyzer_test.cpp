// The store's message analyzer: stored structure and journal subject.
#include "protocols/analyzer.h"

#include <gtest/gtest.h>

#include "mime_test_util.h"
#include "protocols/mime/message.h"
#include "protocols/mime/structure_codec.h"

namespace pillarbox::protocols {
namespace {

using mime::testing::Crlf;
using mime::testing::Fixture;

TEST(AnalyzerTest, StoresTheParsedStructure) {
  storage::MessageAnalyzer analyze = MakeMessageAnalyzer();
  std::string raw = Fixture("attachment.eml");
  storage::AnalyzedMessage a = analyze(raw);
  Result<mime::Part> back = mime::DeserializeStructure(a.structure);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, mime::ParseMessage(raw));
  EXPECT_EQ(a.subject, "Rechnung f\xC3\xBCr M\xC3\xA4rz");
}

TEST(AnalyzerTest, NoSubject) {
  storage::AnalyzedMessage a = MakeMessageAnalyzer()(Crlf("From: a@b\n\nx\n"));
  EXPECT_EQ(a.subject, "");
  EXPECT_TRUE(mime::DeserializeStructure(a.structure).ok());
}

TEST(AnalyzerTest, LongSubjectIsCutAtACharacterBoundary) {
  std::string subject;
  for (int i = 0; i < 200; ++i) subject += "\xC3\xA4";  // 400 bytes of "ä"
  storage::AnalyzedMessage a = MakeMessageAnalyzer()(Crlf("Subject: " + subject + "\n\n"));
  EXPECT_EQ(a.subject.size(), 256u);
  EXPECT_EQ(a.subject, subject.substr(0, 256));
  std::string odd = "x" + subject;
  a = MakeMessageAnalyzer()(Crlf("Subject: " + odd + "\n\n"));
  EXPECT_EQ(a.subject, odd.substr(0, 255));
}

TEST(AnalyzerTest, GarbageStillGetsAStructure) {
  std::string raw("\0\xff\r\n\r\n\x80", 7);
  storage::AnalyzedMessage a = MakeMessageAnalyzer()(raw);
  EXPECT_TRUE(mime::DeserializeStructure(a.structure).ok());
}

}  // namespace
}  // namespace pillarbox::protocols
