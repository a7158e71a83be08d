// Decoding of targets, query strings and form bodies for the demo server.
#include <gtest/gtest.h>

#include <string>


#include "service/form.hpp"

namespace bm::service {
namespace {

TEST(DemoForm, PercentDecode) {
  EXPECT_EQ(percent_decode("a%20b+c", false), "a b+c");
  EXPECT_EQ(percent_decode("a%20b+c", true), "a b c");
  EXPECT_EQ(percent_decode("%3c%3E%25", true), "<>%");
  EXPECT_EQ(percent_decode("%00", true), std::string(1, '\0'));
  EXPECT_EQ(percent_decode("", true), "");
  EXPECT_FALSE(percent_decode("%", true));
  EXPECT_FALSE(percent_decode("%4", true));
  EXPECT_FALSE(percent_decode("%zz", true));
  EXPECT_FALSE(percent_decode("ab%g1", true));
}

TEST(DemoForm, ParamsKeepEmptyValuesAndTheFirstOfRepeatedNames) {
  const std::optional<Params> params = Params::parse("user=alice&empty=&flag&&name=a+b%21&user=bob");
  ASSERT_TRUE(params);
  EXPECT_EQ(params->get("user"), "alice");
  EXPECT_EQ(params->get("empty"), "");
  EXPECT_EQ(params->get("flag"), "");
  EXPECT_EQ(params->get("name"), "a b!");
  EXPECT_FALSE(params->get("missing"));
  EXPECT_FALSE(Params::parse("a=%"));
  EXPECT_FALSE(Params::parse("%zz=1"));
  EXPECT_FALSE(Params::parse("")->get("a"));
}

TEST(DemoForm, ParamsNeverReadPastTheirInput) {
  // The input ends inside a buffer that goes on: nothing after it may leak in.
  const std::string buffer = "values=1,2&more=3";
  const std::optional<Params> params = Params::parse(std::string_view(buffer).substr(0, 7));
  ASSERT_TRUE(params);
  EXPECT_EQ(params->get("values"), "");
  EXPECT_FALSE(params->get("more"));
}

TEST(DemoForm, Targets) {
  const std::optional<Target> target = parse_target("/a%20dir/x?q=tea+cup&n=1");
  ASSERT_TRUE(target);
  EXPECT_EQ(target->path, "/a dir/x");
  EXPECT_EQ(target->encoded_query, "q=tea+cup&n=1");
  EXPECT_EQ(target->query.get("q"), "tea cup");
  const std::optional<Target> plain = parse_target("/");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->path, "/");
  EXPECT_EQ(plain->encoded_query, "");
  EXPECT_EQ(parse_target("/a+b")->path, "/a+b");  // '+' is a space only in queries
  EXPECT_FALSE(parse_target("http://host/"));
  EXPECT_FALSE(parse_target("*"));
  EXPECT_FALSE(parse_target(""));
  EXPECT_FALSE(parse_target("/%zz"));
  EXPECT_FALSE(parse_target("/ok?bad=%"));
}

}  // namespace
}  // namespace bm::service
