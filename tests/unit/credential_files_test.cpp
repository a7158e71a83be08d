// FunkLoad's passwords and groups files, and the store's round robin and leases.
#include <gtest/gtest.h>

#include <set>

#include "credential/credential_files.hpp"
#include "credential/credential_store.hpp"

namespace bm::credential {
namespace {

// The shape of FunkLoad's demo files: comments, blank lines, a group named twice.
constexpr std::string_view kPasswords =
    "# $Id$\n"
    "#\n"
    "admin:admin\n"
    "\n"
    "fl_member_01:pw01\n"
    "fl_member_02:pw:with:colons\n"
    "fl_member_03 : spaced \n"
    "fl_member_04:\n";
constexpr std::string_view kGroups =
    "# The Zope admin group\n"
    "AdminZope:admin\n"
    "\n"
    "FL_Member:fl_member_01,fl_member_02\n"
    "FL_Member:fl_member_03, fl_member_04\n";

CredentialBook book() {
  std::string error;
  auto parsed = parse_credentials(kPasswords, "passwords.txt", kGroups, "groups.txt", &error);
  EXPECT_TRUE(parsed) << error;
  return parsed.value_or(CredentialBook{});
}

TEST(CredentialFiles, ReadsFunkLoadFilesUnchanged) {
  const CredentialBook b = book();
  ASSERT_EQ(b.credentials.size(), 5u);
  EXPECT_EQ(b.credentials[2], (Credential{"fl_member_02", "pw:with:colons"}));
  EXPECT_EQ(b.credentials[3], (Credential{"fl_member_03", "spaced"}));
  EXPECT_EQ(b.credentials[4], (Credential{"fl_member_04", ""}));
  EXPECT_EQ(b.groups.at("FL_Member"), (std::vector<std::size_t>{1, 2, 3, 4}));
  EXPECT_EQ(b.groups.at("AdminZope"), (std::vector<std::size_t>{0}));
  EXPECT_EQ(b.groups.at("").size(), 5u);
}

TEST(CredentialFiles, MalformedLinesNameFileAndLine) {
  std::string error;
  EXPECT_FALSE(parse_credentials("a:1\nno colon here\n", "pw.txt", "", "", &error));
  EXPECT_EQ(error, "pw.txt:2: expected login:password");
  EXPECT_FALSE(parse_credentials("a:1\n:2\n", "pw.txt", "", "", &error));
  EXPECT_EQ(error, "pw.txt:2: empty login before ':'");
  EXPECT_FALSE(parse_credentials("a:1\n# c\na:2\n", "pw.txt", "", "", &error));
  EXPECT_EQ(error, "pw.txt:3: login 'a' is given twice");
  EXPECT_FALSE(parse_credentials("a:1\n", "pw.txt", "g:a\n\nh:a, b\n", "groups.txt", &error));
  EXPECT_EQ(error, "groups.txt:3: group 'h': login 'b' is not in pw.txt");
  EXPECT_FALSE(parse_credentials("a:1\n", "pw.txt", "nogroup\n", "groups.txt", &error));
  EXPECT_EQ(error, "groups.txt:1: expected group:login1, login2, ...");
  EXPECT_FALSE(parse_credentials("# only a comment\n", "pw.txt", "", "", &error));
  EXPECT_EQ(error, "pw.txt: no credentials (expected login:password lines)");
  EXPECT_FALSE(parse_credentials(std::string("a:b\x01\n"), "pw.txt", "", "", &error));
  EXPECT_EQ(error, "pw.txt:1: control character in the line");
}

TEST(CredentialFiles, MissingFileIsOneLine) {
  std::string error;
  EXPECT_FALSE(read_credential_files("/nonexistent/passwords.txt", "", &error));
  EXPECT_EQ(error, "cannot read the credentials file /nonexistent/passwords.txt: No such file or directory");
}

TEST(CredentialStore, RoundRobinPerGroupAsFunkLoad) {
  CredentialStore store(book());
  std::vector<std::string> logins;
  for (int i = 0; i < 5; ++i) logins.push_back(store.next("FL_Member")->login);
  EXPECT_EQ(logins, (std::vector<std::string>{"fl_member_01", "fl_member_02", "fl_member_03", "fl_member_04",
                                               "fl_member_01"}));
  EXPECT_EQ(store.next("")->login, "admin");
  EXPECT_FALSE(store.next("nobody"));
  EXPECT_EQ(store.list("AdminZope")->size(), 1u);
  EXPECT_EQ(store.groups(), (std::vector<std::string>{"AdminZope", "FL_Member"}));
  EXPECT_EQ(store.next_sequence(), 1u);
  EXPECT_EQ(store.next_sequence(), 2u);
}

TEST(CredentialStore, LoopOnFirstCredentialsLimitsEachGroup) {
  CredentialStore store(book(), 2);
  EXPECT_EQ(store.list("FL_Member")->size(), 2u);
  EXPECT_EQ(store.next("FL_Member")->login, "fl_member_01");
  EXPECT_EQ(store.next("FL_Member")->login, "fl_member_02");
  EXPECT_EQ(store.next("FL_Member")->login, "fl_member_01");
}

TEST(CredentialStore, LeasesAreExclusiveAcrossGroupsUntilReleasedOrExpired) {
  CredentialStore store(book(), 0, 42);
  std::set<std::string> held;
  std::vector<CredentialStore::Lease> leases;
  for (int i = 0; i < 4; ++i) {
    auto lease = store.lease("FL_Member", 0, 1000);
    ASSERT_TRUE(lease);
    EXPECT_TRUE(held.insert(lease->credential.login).second) << "leased twice: " << lease->credential.login;
    leases.push_back(*lease);
  }
  EXPECT_FALSE(store.lease("FL_Member", 0, 1000)) << "every member is held";
  // The unnamed group shares the same logins: only admin is free there.
  auto admin = store.lease("", 0, 1000);
  ASSERT_TRUE(admin);
  EXPECT_EQ(admin->credential.login, "admin");
  EXPECT_FALSE(store.lease("", 0, 1000));

  EXPECT_TRUE(store.release(leases[1].id));
  EXPECT_FALSE(store.release(leases[1].id)) << "released twice";
  auto again = store.lease("FL_Member", 10, 1000);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->credential.login, leases[1].credential.login);

  EXPECT_EQ(store.expire(999), 0u);
  EXPECT_EQ(store.expire(1000), 4u) << "three FL_Member leases and admin's end at 1000; the one taken at 10 ends at 1010";
  EXPECT_FALSE(store.release(leases[0].id)) << "an expired lease is gone";
  EXPECT_EQ(store.held(), 1u);
  const auto status = store.status();
  ASSERT_EQ(status.size(), 3u);
  EXPECT_EQ(status[2].name, "FL_Member");
  EXPECT_EQ(status[2].leases, 5u);
  EXPECT_EQ(status[2].expired, 3u);
  EXPECT_EQ(status[2].held, 1u);
}

TEST(CredentialStore, LeasesGoRoundTheGroupSoEveryCredentialIsUsed) {
  CredentialStore store(book());
  std::set<std::string> used;
  for (int i = 0; i < 8; ++i) {
    auto lease = store.lease("FL_Member", 0, 1000);
    ASSERT_TRUE(lease);
    used.insert(lease->credential.login);
    store.release(lease->id);
  }
  EXPECT_EQ(used.size(), 4u);
}

}  // namespace
}  // namespace bm::credential
