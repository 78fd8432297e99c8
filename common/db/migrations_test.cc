#include "common/db/migrations.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::db {
namespace {

using ::testing::ElementsAre;

TEST(SplitStatementsTest, SplitsOnTrailingSemicolonsAndSkipsComments) {
  EXPECT_THAT(SplitStatements("-- header\nCREATE TABLE a (\n x INT\n);\n\nINSERT INTO a VALUES (1);\n"),
              ElementsAre("CREATE TABLE a (\n x INT\n)", "INSERT INTO a VALUES (1)"));
}

TEST(SplitStatementsTest, KeepsSemicolonsInsideALine) {
  EXPECT_THAT(SplitStatements("INSERT INTO t VALUES ('a;b');"), ElementsAre("INSERT INTO t VALUES ('a;b')"));
}

TEST(Sha256Test, KnownVector) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace crm::db
