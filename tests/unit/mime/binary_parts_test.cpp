#include "protocols/mime/binary_parts.h"

#include <gtest/gtest.h>

#include <string>

#include "common/base64.h"

namespace pillarbox::mime {
namespace {

using namespace std::string_literals;

TEST(EncodeBinaryParts, NothingToDo) {
  EXPECT_EQ(EncodeBinaryParts("Subject: x\r\n\r\nbody\r\n"), std::nullopt);
  // NUL in an encoded part or in the header: left as given.
  EXPECT_EQ(
      EncodeBinaryParts("MIME-Version: 1.0\r\nContent-Transfer-Encoding: base64\r\n\r\nA\0B\r\n"s),
      std::nullopt);
  // Not a MIME message: its Content-Transfer-Encoding would mean nothing.
  EXPECT_EQ(EncodeBinaryParts("Subject: x\r\n\r\nA\0B\r\n"s), std::nullopt);
  EXPECT_EQ(EncodeBinaryParts("X-A: \0\r\n\r\nbody\r\n"s), std::nullopt);
}

TEST(EncodeBinaryParts, SinglePartFieldReplacedWithContinuation) {
  std::string raw =
      "MIME-Version: 1.0\r\nContent-Transfer-Encoding:\r\n binary\r\nX-B: y\r\n\r\n\0-\xe4\n\r\n\n"s;
  EXPECT_EQ(EncodeBinaryParts(raw),
            "MIME-Version: 1.0\r\nContent-Transfer-Encoding: base64\r\nX-B: y\r\n\r\n" +
                Base64Encode("\0-\xe4\n\r\n\n"s));
}

TEST(EncodeBinaryParts, FieldAddedWhenMissingAndLinesWrapped) {
  std::string data(100, '\0');
  std::string raw = "MIME-Version: 1.0\n\n" + data;
  std::string b64 = Base64Encode(data);
  EXPECT_EQ(EncodeBinaryParts(raw), "MIME-Version: 1.0\nContent-Transfer-Encoding: base64\r\n\n" +
                                        b64.substr(0, 76) + "\r\n" + b64.substr(76));
}

TEST(EncodeBinaryParts, OnlyThePartsWithNul) {
  std::string raw =
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
      "--b\r\nContent-Transfer-Encoding: 8bit\r\n\r\nA\0B\r\n"
      "--b\r\n\r\nC\0\r\n"
      "--b\r\nContent-Type: message/rfc822\r\n\r\nMIME-Version: 1.0\r\n\r\nD\0\r\n"
      "--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: not MIME\r\n\r\nE\0\r\n"
      "--b--\r\n"s;
  EXPECT_EQ(EncodeBinaryParts(raw),
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
            "--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
            "--b\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
                Base64Encode("A\0B"s) +
                "\r\n"
                "--b\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
                Base64Encode("C\0"s) +
                "\r\n"
                "--b\r\nContent-Type: message/rfc822\r\n\r\nMIME-Version: 1.0\r\n"
                "Content-Transfer-Encoding: base64\r\n\r\n" +
                Base64Encode("D\0"s) +
                "\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: not MIME\r\n\r\nE\0\r\n"
                "--b--\r\n"s);
}

}  // namespace
}  // namespace pillarbox::mime
