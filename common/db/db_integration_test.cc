// Pool, transactions, error mapping and migrations against a real MariaDB.
#include <arpa/inet.h>
#include <cppconn/statement.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/synchronization/barrier.h"
#include "common/db/migrations.h"
#include "common/db/sql.h"
#include "common/db/transaction.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_database.h"
#include "gtest/gtest.h"

namespace crm::db {
namespace {

using ::crm::testing::IsOk;
using ::crm::testing::StatusIs;

absl::Time Soon() { return absl::Now() + absl::Seconds(20); }

class DbIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = crm::testing::TestDatabase::Create();
    ASSERT_TRUE(db.ok()) << db.status();
    db_.emplace(std::move(*db));
    pool_ = std::make_unique<ConnectionPool>(db_->config());
    ASSERT_THAT(ApplyMigrations(*pool_, {{"V001__t.sql",
                                          "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(50)) "
                                          "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n"
                                          "INSERT INTO t VALUES (1, 'a'), (2, 'b');\n"}},
                                Soon()),
                IsOk());
  }

  int64_t Count() {
    auto n = WithConnection(*pool_, Soon(), [](sql::Connection& c) -> absl::StatusOr<int64_t> {
      auto rs = Query(c, "SELECT COUNT(*) FROM t");
      rs->next();
      return rs->getInt64(1);
    });
    return n.ok() ? *n : -1;
  }

  std::optional<crm::testing::TestDatabase> db_;
  std::unique_ptr<ConnectionPool> pool_;
};

TEST_F(DbIntegrationTest, MigrationsApplyOnceAndRefuseChangedFiles) {
  const std::vector<Migration> same = {
      {"V001__t.sql",
       "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(50)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n"
       "INSERT INTO t VALUES (1, 'a'), (2, 'b');\n"}};
  EXPECT_THAT(ApplyMigrations(*pool_, same, Soon()), IsOk());
  EXPECT_EQ(Count(), 2);  // not applied twice

  std::vector<Migration> changed = same;
  changed[0].sql += "-- edited\n";
  EXPECT_THAT(ApplyMigrations(*pool_, changed, Soon()),
              StatusIs(absl::StatusCode::kFailedPrecondition));

  std::vector<Migration> next = same;
  next.push_back({"V002__more.sql", "INSERT INTO t VALUES (3, 'c');"});
  EXPECT_THAT(ApplyMigrations(*pool_, next, Soon()), IsOk());
  EXPECT_EQ(Count(), 3);
}

// The migrations' deadline bounds the wait for the database, not the work:
// a slow statement runs past the statement limit the pool sets from it.
TEST_F(DbIntegrationTest, MigrationsMayRunLongerThanTheirDeadline) {
  DbConfig one = db_->config();
  one.pool_size = 1;
  ConnectionPool pool(one);
  const std::vector<Migration> slow = {
      {"V001__t.sql",
       "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(50)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n"
       "INSERT INTO t VALUES (1, 'a'), (2, 'b');\n"},
      // SLEEP returns 1 when the statement is cut off, 0 when it ran out.
      {"V002__slow.sql", "CREATE TABLE slept AS SELECT SLEEP(1.5) AS interrupted;"}};
  EXPECT_THAT(ApplyMigrations(pool, slow, absl::Now() + absl::Milliseconds(500)), IsOk());
  auto slept = WithConnection(pool, Soon(), [](sql::Connection& c) -> absl::StatusOr<int> {
    auto rs = Query(c, "SELECT interrupted FROM slept");
    return rs->next() ? rs->getInt(1) : -1;
  });
  ASSERT_THAT(slept, IsOk());
  EXPECT_EQ(*slept, 0);
  // The session's limit is back to what the pool set for that lease.
  auto lease = pool.Acquire(absl::Now() + absl::Milliseconds(500));
  ASSERT_TRUE(lease.ok());
  auto rs = Query(lease->get(), "SELECT @@SESSION.max_statement_time");
  ASSERT_TRUE(rs->next());
  EXPECT_EQ(rs->getDouble(1), 1);
}

TEST_F(DbIntegrationTest, DuplicateKeyIsAlreadyExistsAndRollsBack) {
  absl::Status s = RunInTransaction(*pool_, Soon(), [](sql::Connection& c) {
    Execute(c, "INSERT INTO t VALUES (10, 'x')");
    Execute(c, "INSERT INTO t VALUES (1, 'dup')");
    return absl::OkStatus();
  });
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(Count(), 2);  // the first insert was rolled back
}

TEST_F(DbIntegrationTest, ErrorResultRollsBack) {
  absl::Status s = RunInTransaction(*pool_, Soon(), [](sql::Connection& c) {
    Execute(c, "INSERT INTO t VALUES (11, 'y')");
    return absl::FailedPreconditionError("rule refused");
  });
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(Count(), 2);
}

TEST_F(DbIntegrationTest, DeadlockVictimIsRetried) {
  // Two transactions lock rows 1 and 2 in opposite order; the barrier makes
  // the deadlock certain on the first attempt. The victim must be retried
  // by RunInTransaction and both must end up committed.
  absl::Barrier* both_hold_first_lock = new absl::Barrier(2);
  std::atomic<int> attempts{0};
  auto worker = [&](int first, int second, const char* value) {
    return RunInTransaction(*pool_, Soon(), [&, first, second, value](sql::Connection& c) {
      const int attempt = ++attempts;
      Execute(c, "UPDATE t SET v = ? WHERE id = ?", value, first);
      if (attempt <= 2 && both_hold_first_lock->Block()) delete both_hold_first_lock;
      Execute(c, "UPDATE t SET v = ? WHERE id = ?", value, second);
      return absl::OkStatus();
    });
  };
  absl::Status s1, s2;
  std::thread t1([&] { s1 = worker(1, 2, "one"); });
  std::thread t2([&] { s2 = worker(2, 1, "two"); });
  t1.join();
  t2.join();
  EXPECT_THAT(s1, IsOk());
  EXPECT_THAT(s2, IsOk());
  EXPECT_EQ(attempts.load(), 3);  // exactly one retry
}

TEST_F(DbIntegrationTest, PoolWaitsThenTimesOutWhenExhausted) {
  DbConfig one = db_->config();
  one.pool_size = 1;
  ConnectionPool pool(one);
  auto first = pool.Acquire(Soon());
  ASSERT_TRUE(first.ok());
  EXPECT_THAT(pool.Acquire(absl::Now() + absl::Milliseconds(50)).status(),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
}

// The pool lends the connection returned last, so under light load one
// connection stays warm and the others age out of use.
TEST_F(DbIntegrationTest, PoolLendsTheConnectionReturnedLast) {
  ConnectionPool pool(db_->config());
  auto id_of = [](Lease& lease) {
    auto rs = Query(lease.get(), "SELECT CONNECTION_ID()");
    rs->next();
    return rs->getInt64(1);
  };
  int64_t returned_first = 0, returned_last = 0;
  {
    auto a = pool.Acquire(Soon());
    auto b = pool.Acquire(Soon());
    ASSERT_TRUE(a.ok() && b.ok());
    returned_first = id_of(*a);
    returned_last = id_of(*b);
    ASSERT_NE(returned_first, returned_last);
    { Lease gone = std::move(*a); }  // returned now; b when the scope ends
  }
  auto again = pool.Acquire(Soon());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(id_of(*again), returned_last);
}

// A statement waits for a row lock no longer than the longest call could
// (MariaDB's own default is 50 s).
TEST_F(DbIntegrationTest, SessionsWaitForLocksAtMostTheConfiguredTime) {
  DbConfig config = db_->config();
  config.lock_wait_timeout = absl::Seconds(7);
  ConnectionPool pool(config);
  auto lease = pool.Acquire(Soon());
  ASSERT_TRUE(lease.ok());
  auto rs = Query(lease->get(), "SELECT @@SESSION.innodb_lock_wait_timeout");
  ASSERT_TRUE(rs->next());
  EXPECT_EQ(rs->getInt64(1), 7);
}

// The session's statement limit follows each lease's deadline, on one and
// the same connection.
TEST_F(DbIntegrationTest, StatementLimitFollowsTheLeasesDeadline) {
  DbConfig one = db_->config();
  one.pool_size = 1;
  ConnectionPool pool(one);
  auto limit_for = [&pool](absl::Time deadline) -> double {
    auto lease = pool.Acquire(deadline);
    if (!lease.ok()) return -1;
    auto rs = Query(lease->get(), "SELECT @@SESSION.max_statement_time");
    return rs->next() ? rs->getDouble(1) : -1;
  };
  EXPECT_EQ(limit_for(absl::Now() + absl::Milliseconds(1500)), 2);
  EXPECT_EQ(limit_for(absl::Now() + absl::Seconds(20)), 30);
  EXPECT_EQ(limit_for(absl::InfiniteFuture()), 0);  // jobs: no limit
  EXPECT_EQ(limit_for(absl::Now() + absl::Milliseconds(300)), 1);
}

// The caller's deadline reaches MariaDB: a statement waiting for a row lock
// ends soon after the call's time is up, not at innodb_lock_wait_timeout.
TEST_F(DbIntegrationTest, AStatementWaitingForALockStopsAtItsCallersDeadline) {
  auto holder = pool_->Acquire(Soon());
  ASSERT_TRUE(holder.ok());
  Execute(holder->get(), "START TRANSACTION");
  Execute(holder->get(), "UPDATE t SET v = 'held' WHERE id = 1");
  absl::Status waited = RunInTransaction(*pool_, absl::Now() + absl::Milliseconds(300), [](sql::Connection& c) {
    Execute(c, "UPDATE t SET v = 'late' WHERE id = 1");
    return absl::OkStatus();
  });
  EXPECT_THAT(waited, StatusIs(absl::StatusCode::kDeadlineExceeded));
  Execute(holder->get(), "ROLLBACK");
  // The cut-off connection went back to the pool in working order.
  EXPECT_EQ(Count(), 2);
}

TEST_F(DbIntegrationTest, StoresChineseText) {
  ASSERT_THAT(RunInTransaction(*pool_, Soon(), [](sql::Connection& c) {
                Execute(c, "INSERT INTO t VALUES (20, ?)", std::string("福州市鼓楼区 客户经理"));
                return absl::OkStatus();
              }),
              IsOk());
  auto v = WithConnection(*pool_, Soon(), [](sql::Connection& c) -> absl::StatusOr<std::string> {
    auto rs = Query(c, "SELECT v FROM t WHERE id = 20");
    rs->next();
    return std::string(rs->getString(1));
  });
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, "福州市鼓楼区 客户经理");
}

int64_t StatementsPrepared(sql::Connection& c) {
  std::unique_ptr<sql::Statement> stmt(c.createStatement());
  std::unique_ptr<sql::ResultSet> rs(
      stmt->executeQuery("SHOW SESSION STATUS LIKE 'Com_stmt_prepare'"));
  rs->next();
  return rs->getInt64(2);
}

TEST_F(DbIntegrationTest, PooledConnectionPreparesEachStatementOnce) {
  auto prepared = WithConnection(*pool_, Soon(), [](sql::Connection& c) -> absl::StatusOr<int64_t> {
    const int64_t before = StatementsPrepared(c);
    for (int i = 0; i < 5; ++i) {
      auto rs = Query(c, "SELECT v FROM t WHERE id = ?", 1 + i % 2);
      EXPECT_TRUE(rs->next());
      EXPECT_EQ(rs->getString(1), i % 2 == 0 ? "a" : "b");
      Execute(c, "UPDATE t SET v = v WHERE id = ?", 1);
    }
    return StatementsPrepared(c) - before;
  });
  ASSERT_THAT(prepared, IsOk());
  EXPECT_EQ(*prepared, 2);  // one SELECT, one UPDATE
}

TEST_F(DbIntegrationTest, NestedUseOfOneStatementKeepsBothResultSets) {
  auto rows = WithConnection(*pool_, Soon(), [](sql::Connection& c) -> absl::StatusOr<std::string> {
    std::string seen;
    auto outer = Query(c, "SELECT v FROM t WHERE id >= ? ORDER BY id", 1);
    while (outer->next()) {
      // The same SQL while `outer` is open must not clobber its rows.
      auto inner = Query(c, "SELECT v FROM t WHERE id >= ? ORDER BY id", 2);
      EXPECT_TRUE(inner->next());
      seen += outer->getString(1) + inner->getString(1);
    }
    return seen;
  });
  ASSERT_THAT(rows, IsOk());
  EXPECT_EQ(*rows, "abbb");
}

TEST(DbUnavailableTest, UnreachableServerIsUnavailable) {
  DbConfig c;
  c.host = "127.0.0.1";
  c.port = 1;  // nothing listens on port 1
  c.user = "nobody";
  c.database = "none";
  ConnectionPool pool(c);
  EXPECT_THAT(pool.Ping(Soon()), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(DbIntegrationTest, PingHasItsOwnConnectionSoABusyPoolStillAnswers) {
  DbConfig one = db_->config();
  one.pool_size = 1;
  ConnectionPool pool(one);
  auto lease = pool.Acquire(Soon());
  ASSERT_THAT(lease, IsOk());
  EXPECT_THAT(pool.Acquire(absl::Now() + absl::Milliseconds(100)), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(pool.Ping(Soon()), IsOk());
  EXPECT_THAT(pool.Ping(Soon()), IsOk());  // the same connection, kept
}

// A process may start before its database: the migrations wait for it (up
// to their deadline) instead of failing at once.
TEST(DbUnavailableTest, MigrationsWaitForADatabaseThatIsStillStarting) {
  auto mariadb = crm::testing::PrivateMariaDb::Start();
  ASSERT_TRUE(mariadb.ok()) << mariadb.status();
  ASSERT_THAT((*mariadb)->CreateDatabase("crm_late"), IsOk());
  ASSERT_THAT((*mariadb)->Kill(), IsOk());
  ConnectionPool pool((*mariadb)->Config("crm_late"));
  ASSERT_THAT(pool.Ping(Soon()), StatusIs(absl::StatusCode::kUnavailable));  // down as the migrations start

  absl::Status migrated;
  std::thread migrations([&] {
    migrated = ApplyMigrations(pool, {{"V001__late.sql", "CREATE TABLE late (id INT PRIMARY KEY) ENGINE=InnoDB;"}},
                               absl::Now() + absl::Seconds(60));
  });
  EXPECT_THAT((*mariadb)->Restart(), IsOk());
  migrations.join();
  EXPECT_THAT(migrated, IsOk());
  auto rows = WithConnection(pool, Soon(), [](sql::Connection& c) -> absl::StatusOr<int64_t> {
    auto rs = Query(c, "SELECT COUNT(*) FROM late");
    rs->next();
    return rs->getInt64(1);
  });
  EXPECT_THAT(rows, IsOk());
}

// A peer that accepts TCP connections (the kernel's backlog does) and never
// says a word, like a hung server or a stalled link.
TEST(DbUnavailableTest, SilentServerFailsThePingWithinTheProbeTimeout) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 8), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  DbConfig c;
  c.host = "127.0.0.1";
  c.port = ntohs(addr.sin_port);
  c.user = "nobody";
  c.database = "none";
  c.probe_timeout = absl::Seconds(1);  // the pool's own timeouts stay 3 s / 30 s
  ConnectionPool pool(c);
  for (int attempt = 0; attempt < 2; ++attempt) {  // the second one connects anew
    const absl::Time start = absl::Now();
    EXPECT_THAT(pool.Ping(Soon()), StatusIs(absl::StatusCode::kUnavailable));
    EXPECT_LT(absl::Now() - start, absl::Milliseconds(2500));
  }
  close(fd);
}

}  // namespace
}  // namespace crm::db
