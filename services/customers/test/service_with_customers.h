#pragma once
// A gtest fixture for a service's test server in front of a real customers
// server, each on its own test database (the bad-input tests of the
// services that look customers up). `Server::Start(config, customers)`
// takes the customers server's channel or its "127.0.0.1:<port>" address;
// `Server` has channel() and pool().

#include <memory>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "common/db/pool.h"
#include "common/testing/bad_input.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_database.h"
#include "gtest/gtest.h"
#include "services/customers/test/customer_test_env.h"

namespace crm::customers::testing {

template <typename Server>
class ServiceWithCustomers : public ::testing::Test {
 protected:
  void SetUp() override {
    auto customers_db = crm::testing::TestDatabase::Create();
    auto db = crm::testing::TestDatabase::Create();
    ASSERT_THAT(customers_db, crm::testing::IsOk());
    ASSERT_THAT(db, crm::testing::IsOk());
    customers_db_.emplace(std::move(*customers_db));
    db_.emplace(std::move(*db));
    customers_ = CustomersServer::Start(customers_db_->config());
    ASSERT_NE(customers_, nullptr);
    if constexpr (std::is_invocable_v<decltype(&Server::Start), const db::DbConfig&,
                                      std::shared_ptr<grpc::Channel>>) {
      server_ = Server::Start(db_->config(), customers_->channel());
    } else {
      server_ = Server::Start(db_->config(), absl::StrCat("127.0.0.1:", customers_->port()));
    }
    ASSERT_NE(server_, nullptr);
    customers_pool_ = std::make_unique<db::ConnectionPool>(customers_db_->config());
  }

  // Every row of `table` refused by the server, and neither database changed.
  void ExpectAllRefusedChangingNothing(const crm::testing::BadInputTable& table,
                                       const std::function<std::unique_ptr<grpc::ClientContext>()>& context) {
    crm::testing::ExpectAllRefusedChangingNothing(table, server_->channel(), context,
                                                  {&server_->pool(), customers_pool_.get()});
  }

  std::optional<crm::testing::TestDatabase> customers_db_;
  std::optional<crm::testing::TestDatabase> db_;
  std::unique_ptr<CustomersServer> customers_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<db::ConnectionPool> customers_pool_;
};

}  // namespace crm::customers::testing
