// RFC 5322 address lists as IMAP envelope address structures.
#include "protocols/mime/address.h"

#include <gtest/gtest.h>

#include "protocols/mime/imap_render.h"

namespace pillarbox::mime {
namespace {

// The address list as IMAP writes it in an envelope.
std::string Render(std::string_view value) {
  Envelope e;
  e.to = ParseAddressList(value);
  std::string r = RenderEnvelope(e);
  // "(NIL NIL NIL NIL NIL <to> NIL NIL NIL NIL)"
  return r.substr(21, r.size() - 21 - 17);
}

TEST(AddressTest, Rfc5322Examples) {
  EXPECT_EQ(
      Render("Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>"),
      R"x((("Mary Smith" NIL "mary" "x.test")(NIL NIL "jdoe" "example.org")("Who?" NIL "one" "y.test")))x");
  EXPECT_EQ(
      Render("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;"),
      R"x(((NIL NIL "A Group" NIL)("Ed Jones" NIL "c" "a.test")(NIL NIL "joe" "where.test")("John" NIL "jdoe" "one.test")(NIL NIL NIL NIL)))x");
  EXPECT_EQ(Render("Undisclosed recipients:;"),
            R"x(((NIL NIL "Undisclosed recipients" NIL)(NIL NIL NIL NIL)))x");
  EXPECT_EQ(Render("\"Joe Q. Public\" <john.q.public@example.com>"),
            R"x((("Joe Q. Public" NIL "john.q.public" "example.com")))x");
}

TEST(AddressTest, ObsoleteAndOddForms) {
  EXPECT_EQ(Render("\"a b\"@x.org"), R"x(((NIL NIL "a b" "x.org")))x");
  EXPECT_EQ(Render("a . b @ x . org"), R"x(((NIL NIL "a.b" "x.org")))x");
  EXPECT_EQ(Render("x@y,,,z@w"), R"x(((NIL NIL "x" "y")(NIL NIL "z" "w")))x");
  EXPECT_EQ(Render("<j@x> (comment)"), R"x(((NIL NIL "j" "x")))x");
  EXPECT_EQ(Render("Jo.Smith <j@x>"), R"x((("Jo.Smith" NIL "j" "x")))x");
  EXPECT_EQ(Render("a@b, "), R"x(((NIL NIL "a" "b")))x");
  EXPECT_EQ(Render("=?utf-8?q?A?= \"B\" <c@d>"), R"x((("=?utf-8?q?A?= B" NIL "c" "d")))x");
  EXPECT_EQ(Render("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>"),
            R"x((("Pete" NIL "pete" "silly.test")))x");
}

TEST(AddressTest, BrokenInputStopsLikeDovecot) {
  EXPECT_EQ(Render("John <j@x>, garbage here, k@y"),
            R"x((("John" NIL "j" "x")(NIL NIL "garbage" "MISSING_DOMAIN")))x");
  EXPECT_EQ(Render("\"unterminated <j@x>"),
            R"x(((NIL NIL "unterminated <j@x>" "MISSING_DOMAIN")))x");
  EXPECT_EQ(Render("a@b;c@d"), R"x(((NIL NIL "a" "b")))x");
  EXPECT_EQ(Render(""), "NIL");
  EXPECT_EQ(Render("   "), "NIL");
  EXPECT_EQ(Render("(only a comment)"), "NIL");
}

TEST(AddressTest, ManyAddressesAreCapped) {
  std::string many;
  for (int i = 0; i < 20000; ++i) many += "a@b,";
  EXPECT_EQ(ParseAddressList(many).size(), 10000u);
}

}  // namespace
}  // namespace pillarbox::mime
