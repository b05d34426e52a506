#include "common/base64.h"

#include <gtest/gtest.h>

namespace pillarbox {
namespace {

TEST(Base64, Rfc4648Vectors) {
  const std::pair<std::string, std::string> kVectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : kVectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    auto decoded = Base64Decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << encoded;
    EXPECT_EQ(*decoded, plain);
  }
}

TEST(Base64, BinaryRoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t n = 0; n <= all.size(); ++n) {
    std::string piece = all.substr(0, n);
    auto decoded = Base64Decode(Base64Encode(piece));
    ASSERT_TRUE(decoded.has_value()) << n;
    EXPECT_EQ(*decoded, piece);
  }
  EXPECT_EQ(Base64Encode(std::string("\0user\0pass", 10)), "AHVzZXIAcGFzcw==");
}

TEST(Base64, RejectsMalformed) {
  for (const char* bad : {"Z", "Zg", "Zg=", "Zm9", "Zg==Zg==", "Z===", "====", "Zm9v\r\n", " Zm9v",
                          "Zm 9v", "Zm9v=", "Zh==", "Zm9=", "Zm-v", "Zm_v", "=Zm9"}) {
    EXPECT_FALSE(Base64Decode(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace pillarbox
