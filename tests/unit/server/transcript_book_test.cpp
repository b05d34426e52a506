#include "server/transcript_book.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace pillarbox::server {
namespace {

class TranscriptBookTest : public ::testing::Test {
 protected:
  ~TranscriptBookTest() override { TranscriptBook::Global().Disable(); }
  TranscriptBook& book() { return TranscriptBook::Global(); }
};

TEST_F(TranscriptBookTest, DisabledRecordsNothing) {
  book().Open(1, "imap", "127.0.0.1");
  book().Add(1, 'C', "a1 NOOP");
  EXPECT_FALSE(book().enabled());
  EXPECT_FALSE(book().Text(1).has_value());
}

TEST_F(TranscriptBookTest, KeepsLiveAndTheLastClosedSessions) {
  book().Configure({.closed_kept = 2, .max_bytes_per_session = 1u << 20, .dir = ""});
  for (std::uint64_t id = 1; id <= 4; ++id) {
    book().Open(id, "pop3", "127.0.0.1");
    book().Add(id, 'C', "STAT");
    book().Add(id, 'S', "+OK 0 0");
  }
  book().Close(1);
  book().Close(2);
  book().Close(3);
  EXPECT_FALSE(book().Text(1).has_value());  // dropped: two closed are kept
  ASSERT_TRUE(book().Text(2).has_value());
  EXPECT_NE(book().Text(2)->find("(closed)"), std::string::npos);
  ASSERT_TRUE(book().Text(4).has_value());
  const std::string live = *book().Text(4);
  EXPECT_NE(live.find("(live)"), std::string::npos);
  EXPECT_NE(live.find(" C: STAT\n"), std::string::npos);
  EXPECT_NE(live.find(" S: +OK 0 0\n"), std::string::npos);
  auto list = book().List();
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].session, 4u);  // live first
  EXPECT_TRUE(list[0].live);
  EXPECT_EQ(list[1].session, 3u);  // then closed, newest first
  EXPECT_EQ(list[2].session, 2u);
  // A closed session takes no more lines.
  book().Add(3, 'C', "late");
  EXPECT_EQ(book().Text(3)->find("late"), std::string::npos);
}

TEST_F(TranscriptBookTest, LongSessionsKeepTheirLatestLines) {
  book().Configure({.closed_kept = 5, .max_bytes_per_session = 200, .dir = ""});
  book().Open(7, "imap", "::1");
  for (int i = 0; i < 50; ++i) book().Add(7, 'C', "a" + std::to_string(i) + " NOOP");
  const std::string text = *book().Text(7);
  EXPECT_NE(text.find("earlier lines dropped"), std::string::npos);
  EXPECT_NE(text.find("a49 NOOP"), std::string::npos);
  EXPECT_EQ(text.find("a0 NOOP"), std::string::npos);
}

TEST_F(TranscriptBookTest, WritesFilesInTheBackground) {
  auto dir =
      std::filesystem::temp_directory_path() / ("pb-transcripts-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  book().Configure({.closed_kept = 5, .max_bytes_per_session = 1u << 20, .dir = dir.string()});
  book().Open(9, "smtp", "127.0.0.1");
  book().Add(9, 'S', "220 ready");
  book().Add(9, '!', "fault: RCPT reply 452 4.2.2 injected");
  book().Close(9);
  book().Disable();  // joins the writer: the file is complete
  std::ifstream in(dir / "9-smtp.log");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("# session 9 smtp from 127.0.0.1"), std::string::npos);
  EXPECT_NE(text.str().find(" S: 220 ready\n"), std::string::npos);
  EXPECT_NE(text.str().find(" !: fault: RCPT reply 452 4.2.2 injected\n"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace pillarbox::server
