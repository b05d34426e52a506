// SORT, UID SORT, ESORT and THREAD transcripts against a store in a
// temporary directory.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "protocols/analyzer.h"
#include "protocols/imap/imap_session.h"
#include "protocols/imap/sort_cache.h"
#include "tests/support/test_support.h"

namespace pillarbox::imap {
namespace {

using pillarbox::testing::FakeOutput;
using pillarbox::testing::FakeTimers;
using pillarbox::testing::StoreFixture;

std::string Crlf(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

class SortSessionTest : public ::testing::Test {
 protected:
  explicit SortSessionTest(std::function<void(storage::StoreOptions&)> adjust = nullptr)
      : fx_(std::move(adjust)), throttle_(config_.auth) {
    ctx_.store = &fx_.store();
    ctx_.config = &config_;
    ctx_.registry = &registry_;
    ctx_.throttle = &throttle_;
    ctx_.timer = timers_.Fn();
    ctx_.sort_cache = &cache_;
    // A {PLAIN} hash keeps the tests fast (yescrypt is slow by design).
    auto user = fx_.Wait<storage::UserRecord>([&](storage::Callback<storage::UserRecord> cb) {
      fx_.store().CreateUser("joe", "{PLAIN}secret", cb);
    });
    EXPECT_TRUE(user.ok());
    if (user.ok()) user_ = *user;
  }

  void Deliver(const std::string& text, std::optional<storage::UnixTime> internal = {}) {
    storage::AppendRequest req;
    req.user = user_.id;
    req.bytes = std::make_shared<const std::string>(Crlf(text));
    req.internal_date = internal;
    auto r = fx_.Wait<storage::AppendResult>(
        [&](storage::Callback<storage::AppendResult> cb) { fx_.store().Append(req, cb); });
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  // Logs in, selects INBOX and returns what `command` wrote.
  std::string Session(const std::string& command) {
    if (!session_) {
      info_.peer_ip = "127.0.0.1";
      info_.loopback = true;
      session_ = MakeSession(ctx_, info_, out_);
      session_->Start();
      Run("L LOGIN joe secret\r\n", "L");
      Run("S SELECT INBOX\r\n", "S");
    }
    return Run(command, command.substr(0, command.find(' ')));
  }

  std::string Run(const std::string& input, const std::string& tag) {
    out_.Take();
    session_->OnInput(input);
    fx_.RunUntil([&] {
      timers_.Advance(std::chrono::milliseconds(0));
      const std::string& w = out_.written();
      return w.starts_with(tag + " ") || w.find("\r\n" + tag + " ") != std::string::npos;
    });
    return out_.Take();
  }

  // The three messages of imaptest's sort-addresses and others.
  void DeliverSample() {
    Deliver(
        "From: user2@domain2.org\nTo: foo bar <user2@domain2.org>\nSubject: Re: b\n"
        "Date: Fri, 22 Feb 2008 02:00:00 +0000\nMessage-ID: <b@x>\nReferences: <a@x>\n\n1\n",
        1000);
    Deliver(
        "From: =?iso-8859-1?q?Zo=E9?= <user2@domain1.org>\nTo: user2@domain1.org\n"
        "Subject: a\nMessage-ID: <a@x>\n\n22\n",
        3000);
    Deliver(
        "From: user1@domain1.org\nTo: Al <user1@domain1.org>\nSubject: [list] b\n"
        "Date: Fri, 22 Feb 2008 01:00:00 +0000\nMessage-ID: <c@x>\n\n333\n",
        2000);
  }

  StoreFixture fx_;
  config::Config config_;
  protocols::SessionRegistry registry_;
  protocols::AuthThrottle throttle_;
  FakeTimers timers_;
  SortKeyCache cache_;
  protocols::SessionContext ctx_;
  storage::UserRecord user_;
  protocols::ConnectionInfo info_;
  FakeOutput out_;
  std::unique_ptr<protocols::Session> session_;
};

TEST_F(SortSessionTest, SortTranscripts) {
  DeliverSample();
  EXPECT_EQ(Session("a SORT (FROM) UTF-8 ALL\r\n"), "* SORT 3 1 2\r\na OK Sort completed.\r\n");
  EXPECT_EQ(Session("b SORT (REVERSE ARRIVAL) US-ASCII ALL\r\n"),
            "* SORT 2 3 1\r\nb OK Sort completed.\r\n");
  EXPECT_EQ(Session("c SORT (SUBJECT REVERSE DATE) UTF-8 ALL\r\n"),
            "* SORT 2 1 3\r\nc OK Sort completed.\r\n");
  EXPECT_EQ(Session("d SORT (DATE) UTF-8 ALL\r\n"), "* SORT 2 3 1\r\nd OK Sort completed.\r\n");
  EXPECT_EQ(Session("e SORT (DISPLAYFROM) UTF-8 ALL\r\n"),
            "* SORT 3 1 2\r\ne OK Sort completed.\r\n");
  EXPECT_EQ(Session("f SORT (DISPLAYTO SIZE) UTF-8 ALL\r\n"),
            "* SORT 3 1 2\r\nf OK Sort completed.\r\n");
  EXPECT_EQ(Session("g SORT (SIZE) UTF-8 2:3\r\n"), "* SORT 2 3\r\ng OK Sort completed.\r\n");
  EXPECT_EQ(Session("h UID SORT (REVERSE SIZE) UTF-8 FROM user2\r\n"),
            "* SORT 1 2\r\nh OK Sort completed.\r\n");
  EXPECT_EQ(Session("i SORT (TO) UTF-8 SUBJECT nothing\r\n"), "* SORT\r\ni OK Sort completed.\r\n");
}

TEST_F(SortSessionTest, SortErrors) {
  DeliverSample();
  EXPECT_EQ(Session("a SORT (BOGUS) UTF-8 ALL\r\n"),
            "a BAD Error in IMAP command SORT: Unknown sort criterion BOGUS\r\n");
  EXPECT_EQ(Session("b SORT (DATE) UTF-8\r\n"),
            "b BAD Error in IMAP command SORT: Missing search keys\r\n");
  EXPECT_EQ(Session("c SORT (DATE) KOI9 ALL\r\n"),
            "c NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset.\r\n");
  EXPECT_EQ(Session("d SORT DATE UTF-8 ALL\r\n"),
            "d BAD Error in IMAP command SORT: Sort criteria must be a non-empty list\r\n");
  EXPECT_EQ(Session("e THREAD SIDEWAYS UTF-8 ALL\r\n"),
            "e BAD Error in IMAP command THREAD: Unknown thread algorithm SIDEWAYS\r\n");
}

TEST_F(SortSessionTest, Esort) {
  DeliverSample();
  EXPECT_EQ(Session("a SORT RETURN (MIN MAX COUNT ALL) (ARRIVAL) UTF-8 ALL\r\n"),
            "* ESEARCH (TAG \"a\") MIN 1 MAX 2 COUNT 3 ALL 1,3,2\r\na OK Sort completed.\r\n");
  EXPECT_EQ(Session("b UID SORT RETURN (COUNT ALL) (REVERSE ARRIVAL) UTF-8 1:2\r\n"),
            "* ESEARCH (TAG \"b\") UID COUNT 2 ALL 2,1\r\nb OK Sort completed.\r\n");
  EXPECT_EQ(Session("c SORT RETURN () (SUBJECT) UTF-8 ALL\r\n"),
            "* ESEARCH (TAG \"c\") ALL 2,1,3\r\nc OK Sort completed.\r\n");
  EXPECT_EQ(Session("d SORT RETURN (MIN COUNT) (SUBJECT) UTF-8 SUBJECT zzz\r\n"),
            "* ESEARCH (TAG \"d\") COUNT 0\r\nd OK Sort completed.\r\n");
  EXPECT_EQ(Session("e SORT RETURN (SAVE) (SUBJECT) UTF-8 ALL\r\n"),
            "e BAD Error in IMAP command SORT: Unknown RETURN option SAVE\r\n");
}

TEST_F(SortSessionTest, ThreadTranscripts) {
  DeliverSample();
  EXPECT_EQ(Session("a THREAD REFERENCES UTF-8 ALL\r\n"),
            "* THREAD (2 1)(3)\r\na OK Thread completed.\r\n");
  EXPECT_EQ(Session("b UID THREAD ORDEREDSUBJECT UTF-8 ALL\r\n"),
            "* THREAD (2)(3 1)\r\nb OK Thread completed.\r\n");
  EXPECT_EQ(Session("c THREAD REFERENCES UTF-8 2:3\r\n"),
            "* THREAD (2)(3)\r\nc OK Thread completed.\r\n");
  EXPECT_EQ(Session("d THREAD REFERENCES UTF-8 SUBJECT zzz\r\n"),
            "* THREAD\r\nd OK Thread completed.\r\n");
}

TEST_F(SortSessionTest, SameAnswersWithoutTheCache) {
  ctx_.sort_cache = nullptr;
  DeliverSample();
  EXPECT_EQ(Session("a SORT (SUBJECT REVERSE DATE) UTF-8 ALL\r\n"),
            "* SORT 2 1 3\r\na OK Sort completed.\r\n");
  EXPECT_EQ(Session("b THREAD REFERENCES UTF-8 ALL\r\n"),
            "* THREAD (2 1)(3)\r\nb OK Thread completed.\r\n");
  EXPECT_EQ(cache_.mailboxes(), 0u);
}

// The cache needs no telling: a new UID is read when asked for, an expunged
// one is never asked for again.
TEST_F(SortSessionTest, RepeatedSortSeesAppendsAndExpunges) {
  DeliverSample();
  EXPECT_EQ(Session("a SORT (SUBJECT) UTF-8 ALL\r\n"), "* SORT 2 1 3\r\na OK Sort completed.\r\n");
  EXPECT_EQ(cache_.mailboxes(), 1u);
  EXPECT_GT(cache_.bytes(), 0u);
  Deliver("Subject: Re: 0 first\nMessage-ID: <d@x>\nReferences: <c@x>\n\n4444\n", 4000);
  EXPECT_EQ(Session("b NOOP\r\n"), "* 4 EXISTS\r\n* 4 RECENT\r\nb OK NOOP completed.\r\n");
  EXPECT_EQ(Session("c SORT (SUBJECT) UTF-8 ALL\r\n"),
            "* SORT 4 2 1 3\r\nc OK Sort completed.\r\n");
  EXPECT_EQ(Session("d THREAD REFERENCES UTF-8 ALL\r\n"),
            "* THREAD (2 1)(3 4)\r\nd OK Thread completed.\r\n");
  EXPECT_EQ(Session("e STORE 2 +FLAGS.SILENT (\\Deleted)\r\n"), "e OK Store completed.\r\n");
  EXPECT_EQ(Session("f EXPUNGE\r\n"), "* 2 EXPUNGE\r\nf OK Expunge completed.\r\n");
  EXPECT_EQ(Session("g UID SORT (REVERSE SUBJECT) UTF-8 ALL\r\n"),
            "* SORT 1 3 4\r\ng OK Sort completed.\r\n");
  EXPECT_EQ(Session("h THREAD ORDEREDSUBJECT UTF-8 ALL\r\n"),
            "* THREAD (3)(2 1)\r\nh OK Thread completed.\r\n");
  EXPECT_EQ(cache_.mailboxes(), 1u);
}

TEST_F(SortSessionTest, CacheOverItsBoundKeepsNothingButAnswers) {
  SortKeyCache tiny(1);
  ctx_.sort_cache = &tiny;
  DeliverSample();
  EXPECT_EQ(Session("a SORT (DISPLAYFROM) UTF-8 ALL\r\n"),
            "* SORT 3 1 2\r\na OK Sort completed.\r\n");
  EXPECT_EQ(Session("b SORT (DISPLAYFROM) UTF-8 ALL\r\n"),
            "* SORT 3 1 2\r\nb OK Sort completed.\r\n");
  EXPECT_EQ(tiny.mailboxes(), 0u);
  EXPECT_EQ(tiny.bytes(), 0u);
}

// A store made before sort keys were kept: the keys come from the message.
class OldStoreSortTest : public SortSessionTest {
 protected:
  OldStoreSortTest()
      : SortSessionTest([](storage::StoreOptions& o) {
          o.analyzer = [](std::string_view bytes) {
            storage::AnalyzedMessage a = protocols::MakeMessageAnalyzer()(bytes);
            a.sort_keys.clear();
            return a;
          };
        }) {}
};

TEST_F(OldStoreSortTest, KeysComputedFromTheMessage) {
  DeliverSample();
  {
    auto view = fx_.store().Read();
    auto msgs = view->ListMessages(view->FindMailbox(user_.id, "INBOX")->id);
    ASSERT_EQ(msgs.size(), 3u);
    EXPECT_EQ(view->SortKeys(msgs[0].blob).status().code(), Code::kNotFound);
  }
  EXPECT_EQ(Session("a SORT (SUBJECT REVERSE DATE) UTF-8 ALL\r\n"),
            "* SORT 2 1 3\r\na OK Sort completed.\r\n");
  EXPECT_EQ(Session("b THREAD REFERENCES UTF-8 ALL\r\n"),
            "* THREAD (2 1)(3)\r\nb OK Thread completed.\r\n");
}

}  // namespace
}  // namespace pillarbox::imap
