#include "http/request_writer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

// Counts heap allocations, to check the no-allocation promise of the hot path.
#include "counting_allocator.hpp"

namespace bm::http {
namespace {

Url url(std::string_view text) { return parse_url(text, nullptr).value(); }

TEST(AppendRequest, GetWithHeadersInOrder) {
  std::string out;
  const Header headers[] = {{"User-Agent", "bm/1"}, {"Accept", "*/*"}};
  append_request(out, "GET", url("http://example.com:8080/p?q=1#f"), headers, "");
  EXPECT_EQ(out,
            "GET /p?q=1 HTTP/1.1\r\n"
            "Host: example.com:8080\r\n"
            "User-Agent: bm/1\r\n"
            "Accept: */*\r\n"
            "\r\n");
}

TEST(AppendRequest, AppendsWithoutClearing) {
  std::string out = "previous";
  append_request(out, "GET", url("https://h/"), {}, "");
  EXPECT_EQ(out, "previousGET / HTTP/1.1\r\nHost: h\r\n\r\n");
}

TEST(AppendRequest, PostCarriesContentLengthAndBody) {
  std::string out;
  const Header headers[] = {{"Content-Type", "application/x-www-form-urlencoded"}};
  append_request(out, "POST", url("http://h/form"), headers, "a=1&b=2");
  EXPECT_EQ(out,
            "POST /form HTTP/1.1\r\n"
            "Host: h\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            "Content-Length: 7\r\n"
            "\r\n"
            "a=1&b=2");
}

TEST(AppendRequest, ContentLengthZeroOnlyForMethodsThatHaveABody) {
  for (const char* method : {"POST", "PUT", "PATCH"}) {
    std::string out;
    append_request(out, method, url("http://h/"), {}, "");
    EXPECT_EQ(out, std::string(method) + " / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
  }
  for (const char* method : {"GET", "DELETE", "HEAD", "OPTIONS"}) {
    std::string out;
    append_request(out, method, url("http://h/"), {}, "");
    EXPECT_EQ(out, std::string(method) + " / HTTP/1.1\r\nHost: h\r\n\r\n");
  }
  std::string out;
  append_request(out, "DELETE", url("http://h/x"), {}, "{}");
  EXPECT_EQ(out, "DELETE /x HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}");
}

TEST(AppendRequest, CallerHostAndLengthHeadersAreNotDuplicated) {
  std::string out;
  const Header headers[] = {{"host", "virtual.example"}, {"content-length", "3"}};
  append_request(out, "POST", url("http://127.0.0.1:8080/"), headers, "abc");
  EXPECT_EQ(out,
            "POST / HTTP/1.1\r\n"
            "host: virtual.example\r\n"
            "content-length: 3\r\n"
            "\r\n"
            "abc");

  std::string chunked;
  const Header te[] = {{"Transfer-Encoding", "chunked"}};
  append_request(chunked, "POST", url("http://h/"), te, "0\r\n\r\n");
  EXPECT_EQ(chunked, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
}

TEST(AppendRequest, Ipv6HostIsBracketed) {
  std::string out;
  append_request(out, "GET", url("http://[::1]:8080/"), {}, "");
  EXPECT_EQ(out, "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n");
  out.clear();
  append_request(out, "GET", url("https://[::1]/"), {}, "");
  EXPECT_EQ(out, "GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n");
}

TEST(AppendRequest, DoesNotAllocateWhenTheBufferHasRoom) {
  const Url target = url("http://example.com:8080/some/path?query=1");
  const Header headers[] = {{"User-Agent", "bm"}, {"Cookie", "a=1; b=2"}};
  std::string out;
  out.reserve(1024);
  const size_t before = g_allocations;
  for (int i = 0; i < 100; ++i) {
    out.clear();
    append_request(out, "POST", target, headers, "payload");
  }
  EXPECT_EQ(g_allocations - before, 0u);
  EXPECT_EQ(out.capacity(), 1024u);
}

TEST(AppendRequest, GrowsAnEmptyBufferAtMostOnce) {
  std::string out;
  const std::string body(5000, 'x');
  const size_t before = g_allocations;
  append_request(out, "PUT", url("http://h/"), {}, body);
  EXPECT_EQ(g_allocations - before, 1u);
  EXPECT_TRUE(out.ends_with("\r\n\r\n" + body));
}

TEST(Multipart, FieldsThenFilesWithTheBoundary) {
  std::string boundary;
  const std::string body = multipart_body(
      {{"name", "Ann"}, {"city", "Z\xc3\xbcrich"}},
      {{"upload", "notes.txt", "text/plain", "line1\r\nline2"}, {"blob", "b.bin", "", "\x01\x02"}},
      boundary, 42);
  ASSERT_FALSE(boundary.empty());
  EXPECT_LE(boundary.size(), 70u);  // RFC 2046 limit
  const std::string d = "--" + boundary;
  EXPECT_EQ(body,
            d + "\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nAnn\r\n" +
            d + "\r\nContent-Disposition: form-data; name=\"city\"\r\n\r\nZ\xc3\xbcrich\r\n" +
            d + "\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"notes.txt\"\r\n"
                "Content-Type: text/plain\r\n\r\nline1\r\nline2\r\n" +
            d + "\r\nContent-Disposition: form-data; name=\"blob\"; filename=\"b.bin\"\r\n"
                "Content-Type: application/octet-stream\r\n\r\n\x01\x02\r\n" +
            d + "--\r\n");
}

TEST(Multipart, BoundaryIsDeterministicPerSeed) {
  std::string a, b, c;
  EXPECT_EQ(multipart_body({{"k", "v"}}, {}, a, 7), multipart_body({{"k", "v"}}, {}, b, 7));
  EXPECT_EQ(a, b);
  multipart_body({{"k", "v"}}, {}, c, 8);
  EXPECT_NE(a, c);
}

TEST(Multipart, BoundaryNeverOccursInsideAPart) {
  std::string first;
  multipart_body({}, {}, first, 99);
  const std::string hostile = "before--" + first + "after";
  std::string chosen;
  const std::string body = multipart_body({{"f", hostile}}, {{"g", "x", "", hostile}}, chosen, 99);
  EXPECT_NE(chosen, first);
  EXPECT_EQ(hostile.find("--" + chosen), std::string::npos);
  EXPECT_NE(body.find(hostile), std::string::npos);
}

TEST(Multipart, QuotesAndLineBreaksInNamesAreEscaped) {
  std::string boundary;
  const std::string body =
      multipart_body({{"a\"b\r\nc", "v"}}, {{"f", "evil\".txt", "text/plain", ""}}, boundary, 1);
  EXPECT_NE(body.find("name=\"a%22b%0D%0Ac\""), std::string::npos);
  EXPECT_NE(body.find("filename=\"evil%22.txt\""), std::string::npos);
}

TEST(Multipart, EmptyFormIsJustTheClosingDelimiter) {
  std::string boundary;
  const std::string body = multipart_body({}, {}, boundary, 3);
  EXPECT_EQ(body, "--" + boundary + "--\r\n");
}

TEST(BasicAuth, Rfc7617Example) {
  EXPECT_EQ(basic_auth_value("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  EXPECT_EQ(basic_auth_value("", ""), "Basic Og==");
  EXPECT_EQ(basic_auth_value("user", "p\xc3\xa4ss:word"), "Basic dXNlcjpww6Rzczp3b3Jk");
}

TEST(Base64, Rfc4648TestVectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    std::string out;
    append_base64(out, plain);
    EXPECT_EQ(out, encoded) << plain;
  }
  std::string binary;
  append_base64(binary, std::string_view("\xff\xfe\x00", 3));
  EXPECT_EQ(binary, "//4A");
}

}  // namespace
}  // namespace bm::http
