// Every customers RPC over real gRPC against a real MariaDB.
#include <atomic>
#include <map>
#include <set>
#include <thread>

#include <cppconn/statement.h>
#include <google/protobuf/empty.pb.h>
#include <google/protobuf/util/message_differencer.h>
#include <mysql_driver.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "common/status/status.h"
#include "common/testing/request_id_scope.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_database.h"
#include "common/util/proto_time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "crm/customers/v1/events.pb.h"
#include "services/customers/src/stale_data_job.h"
#include "services/customers/test/customer_test_env.h"

namespace crm::customers {
namespace {

using ::crm::customers::testing::CustomersServer;
using ::crm::customers::testing::Enterprise;
using ::crm::customers::testing::RepositoryIndividual;
using ::crm::testing::HasFieldViolation;
using ::crm::testing::StatusIs;
using auth::Role;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;

// The events of payload type T on `feed`, in feed order, with the payload.
template <typename T>
std::vector<std::pair<events::v1::Event, T>> EventsOf(const std::vector<events::v1::Event>& feed) {
  std::vector<std::pair<events::v1::Event, T>> out;
  for (const events::v1::Event& e : feed) {
    if (e.type() != T::descriptor()->full_name()) continue;
    T payload;
    EXPECT_TRUE(e.payload().UnpackTo(&payload)) << e.type() << " " << e.sequence();
    out.emplace_back(e, std::move(payload));
  }
  return out;
}

// An instant in China Standard Time (the customers service's business zone).
absl::Time Cst(int y, int mo, int d, int h, int mi = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, 0), absl::FixedTimeZone(8 * 60 * 60));
}

// One run of the staleness announcer on `server`'s service and clock; -1 on error.
int64_t Sweep(CustomersServer& server, int batch_size = 500) {
  absl::StatusOr<int64_t> announced =
      server.service().AnnounceStaleCustomers(absl::Now() + absl::Seconds(60), batch_size);
  EXPECT_TRUE(announced.ok()) << announced.status();
  return announced.value_or(-1);
}

class CustomersIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = crm::testing::TestDatabase::Create();
    ASSERT_TRUE(db.ok()) << db.status();
    db_.emplace(std::move(*db));
    server_ = CustomersServer::Start(db_->config());
    ASSERT_NE(server_, nullptr);
  }

  pb::CustomerService::Stub& stub() { return server_->stub(); }

  absl::StatusOr<pb::Customer> Create(const pb::Customer& c, Role role = Role::kManager,
                                      const std::string& subject = "mgr-li",
                                      const std::string& request_id = "") {
    pb::CreateCustomerRequest req;
    *req.mutable_customer() = c;
    req.set_request_id(request_id);
    pb::Customer out;
    grpc::Status s = stub().CreateCustomer(server_->As(role, subject).get(), req, &out);
    if (!s.ok()) return FromGrpcStatus(s);
    return out;
  }

  absl::StatusOr<pb::Customer> Get(const std::string& name, Role role = Role::kManager,
                                   const std::string& subject = "mgr-li",
                                   const std::string& team = "east") {
    pb::GetCustomerRequest req;
    req.set_name(name);
    pb::Customer out;
    grpc::Status s = stub().GetCustomer(server_->As(role, subject, team).get(), req, &out);
    if (!s.ok()) return FromGrpcStatus(s);
    return out;
  }

  absl::StatusOr<pb::Customer> Update(const pb::Customer& c, std::vector<std::string> paths,
                                      Role role = Role::kManager, const std::string& subject = "mgr-li") {
    pb::UpdateCustomerRequest req;
    *req.mutable_customer() = c;
    for (auto& p : paths) req.mutable_update_mask()->add_paths(p);
    pb::Customer out;
    grpc::Status s = stub().UpdateCustomer(server_->As(role, subject).get(), req, &out);
    if (!s.ok()) return FromGrpcStatus(s);
    return out;
  }

  absl::StatusOr<pb::ListCustomersResponse> List(pb::ListCustomersRequest req,
                                                 Role role = Role::kManager,
                                                 const std::string& subject = "mgr-li",
                                                 const std::string& team = "east") {
    pb::ListCustomersResponse out;
    grpc::Status s = stub().ListCustomers(server_->As(role, subject, team).get(), req, &out);
    if (!s.ok()) return FromGrpcStatus(s);
    return out;
  }

  std::optional<crm::testing::TestDatabase> db_;
  std::unique_ptr<CustomersServer> server_;
};

TEST_F(CustomersIntegrationTest, CreateGetUpdateListArchive) {
  auto created = Create(Enterprise("福州闽江科技有限公司", 1));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->owner(), "mgr-li");
  EXPECT_EQ(created->team(), "east");
  EXPECT_EQ(created->status(), pb::ACTIVE);
  EXPECT_EQ(created->display_name(), "福州闽江科技有限公司");
  EXPECT_DOUBLE_EQ(created->completeness(), 1.0);

  auto got = Get(created->name());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->credit_code(), created->credit_code());
  EXPECT_EQ(got->etag(), created->etag());

  pb::Customer change;
  change.set_name(created->name());
  change.set_etag(created->etag());
  change.set_industry("软件和信息技术服务业");
  auto updated = Update(change, {"industry"});
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->industry(), "软件和信息技术服务业");
  EXPECT_EQ(updated->address(), created->address());  // untouched by the mask
  EXPECT_NE(updated->etag(), created->etag());

  auto listed = List({});
  ASSERT_TRUE(listed.ok());
  ASSERT_THAT(listed->customers(), SizeIs(1));

  pb::ArchiveCustomerRequest archive;
  archive.set_name(created->name());
  archive.set_etag(updated->etag());
  pb::Customer archived;
  ASSERT_TRUE(stub().ArchiveCustomer(server_->As(Role::kManager, "mgr-li").get(), archive, &archived).ok());
  EXPECT_EQ(archived.status(), pb::ARCHIVED);
  EXPECT_THAT(List({})->customers(), IsEmpty());
  pb::ListCustomersRequest with_archived;
  with_archived.set_show_archived(true);
  EXPECT_THAT(List(with_archived)->customers(), SizeIs(1));
}

TEST_F(CustomersIntegrationTest, InvalidInputNamesEachFieldOverTheWire) {
  pb::Customer bad = Enterprise("", 2);
  bad.set_credit_code("91350100M000100Y44");
  bad.set_phone("12345");
  auto result = Create(bad);
  EXPECT_THAT(result, HasFieldViolation("customer.display_name"));
  EXPECT_THAT(result, HasFieldViolation("customer.credit_code"));
  EXPECT_THAT(result, HasFieldViolation("customer.phone"));
  EXPECT_THAT(List({})->customers(), IsEmpty());  // nothing written

  pb::Customer unspecified_kind = Enterprise("某公司", 3);
  unspecified_kind.set_kind(pb::CUSTOMER_KIND_UNSPECIFIED);
  EXPECT_THAT(Create(unspecified_kind), HasFieldViolation("customer.kind"));
  EXPECT_THAT(Get("customers/abc"), HasFieldViolation("name"));
  EXPECT_THAT(Get("customers/999"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(CustomersIntegrationTest, DuplicateCreditCodeIsAlreadyExistsAndSimilarNamesAreFlagged) {
  auto first = Create(Enterprise("厦门海峡物流有限公司", 4));
  ASSERT_TRUE(first.ok());
  EXPECT_THAT(first->similar_customers(), IsEmpty());
  EXPECT_THAT(Create(Enterprise("另一个名字", 4)), StatusIs(absl::StatusCode::kAlreadyExists));
  auto similar = Create(Enterprise("厦门海峡物流", 5));
  ASSERT_TRUE(similar.ok());
  EXPECT_THAT(similar->similar_customers(), ElementsAre(first->name()));
}

TEST_F(CustomersIntegrationTest, ConcurrentUpdatesWithSameEtagExactlyOneWins) {
  auto created = Create(Enterprise("泉州纺织集团", 6));
  ASSERT_TRUE(created.ok());
  constexpr int kWriters = 8;
  std::atomic<int> ok{0}, aborted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      pb::Customer change;
      change.set_name(created->name());
      change.set_etag(created->etag());
      change.set_industry(absl::StrCat("industry-", i));
      auto r = Update(change, {"industry"});
      if (r.ok()) ++ok;
      if (r.status().code() == absl::StatusCode::kAborted) ++aborted;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(aborted.load(), kWriters - 1);
}

TEST_F(CustomersIntegrationTest, RetriedCreateWithSameRequestIdMakesOneRow) {
  const std::string request_id = "4b0e0c7e-5b1a-4d0e-9f3c-000000000001";
  auto first = Create(Enterprise("漳州食品有限公司", 7), Role::kManager, "mgr-li", request_id);
  ASSERT_TRUE(first.ok());
  auto again = Create(Enterprise("漳州食品有限公司", 7), Role::kManager, "mgr-li", request_id);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->name(), first->name());

  // Concurrent retries of a new request: one row, same answer for all.
  const std::string racing = "4b0e0c7e-5b1a-4d0e-9f3c-000000000002";
  std::vector<std::string> names(6);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < names.size(); ++i) {
    threads.emplace_back([&, i] {
      auto r = Create(Enterprise("莆田鞋业", 8), Role::kManager, "mgr-li", racing);
      names[i] = r.ok() ? r->name() : r.status().ToString();
    });
  }
  for (auto& t : threads) t.join();
  for (const std::string& n : names) EXPECT_EQ(n, names[0]);
  EXPECT_THAT(List({})->customers(), SizeIs(2));
}

// Issue 8: a request id is scoped to its caller. Keyed on (method, request
// id) alone, mgr-zhao (another team) reusing mgr-li's request id was handed
// mgr-li's customer; so were contacts, churn signals and reports.
TEST_F(CustomersIntegrationTest, RequestIdsAreScopedToTheCaller) {
  using crm::testing::ExpectRequestIdScopedToCaller;
  using crm::testing::IdempotentCreate;
  using Stub = pb::CustomerService::Stub;
  const std::map<std::string, std::pair<Role, std::string>> teams = {
      {"mgr-li", {Role::kManager, "east"}}, {"mgr-zhao", {Role::kManager, "west"}},
      {"sup-east", {Role::kSupervisor, "east"}}, {"admin", {Role::kAdmin, ""}}};
  // `rpc` as `caller`.
  auto call = [&](auto rpc, const std::string& caller, const auto& req, auto* resp) {
    const auto& [role, team] = teams.at(caller);
    return FromGrpcStatus((stub().*rpc)(server_->As(role, caller, team).get(), req, resp));
  };
  int n = 950;

  const IdempotentCreate customers{
      .create = [&](const std::string& caller, const std::string& request_id) -> absl::StatusOr<std::string> {
        pb::CreateCustomerRequest req;
        ++n;
        *req.mutable_customer() = Enterprise(absl::StrCat("幂等范围客户", n), n);
        req.set_request_id(request_id);
        pb::Customer out;
        RETURN_IF_ERROR(call(&Stub::CreateCustomer, caller, req, &out));
        return out.name();
      },
      .read = [&](const std::string& caller, const std::string& name) -> absl::StatusOr<std::string> {
        pb::GetCustomerRequest req;
        req.set_name(name);
        pb::Customer out;
        RETURN_IF_ERROR(call(&Stub::GetCustomer, caller, req, &out));
        out.clear_similar_customers();  // follows other customers' names
        return out.SerializeAsString();
      },
      .count = [&]() -> int64_t {
        pb::ListCustomersRequest req;
        req.set_page_size(100);
        pb::ListCustomersResponse out;
        EXPECT_THAT(call(&Stub::ListCustomers, "admin", req, &out), crm::testing::IsOk());
        return out.customers_size();
      }};
  ExpectRequestIdScopedToCaller(customers, "mgr-li", "mgr-zhao", "shared-request-id-1");

  // mgr-li's customer, which sup-east (their supervisor) reaches too.
  auto parent = Create(Enterprise("幂等范围父客户", 990));
  ASSERT_TRUE(parent.ok()) << parent.status();
  const IdempotentCreate contacts{
      .create = [&](const std::string& caller, const std::string& request_id) -> absl::StatusOr<std::string> {
        pb::CreateContactRequest req;
        req.set_parent(parent->name());
        req.mutable_contact()->set_display_name(absl::StrCat("联系人", ++n));
        req.mutable_contact()->set_role(pb::KEY_PERSON);
        req.mutable_contact()->set_phone("13800138000");
        req.set_request_id(request_id);
        pb::Contact out;
        RETURN_IF_ERROR(call(&Stub::CreateContact, caller, req, &out));
        return out.name();
      },
      .read = [&](const std::string& caller, const std::string& name) -> absl::StatusOr<std::string> {
        pb::GetContactRequest req;
        req.set_name(name);
        pb::Contact out;
        RETURN_IF_ERROR(call(&Stub::GetContact, caller, req, &out));
        return out.SerializeAsString();
      },
      .count = [&]() -> int64_t {
        pb::ListContactsRequest req;
        req.set_parent(parent->name());
        pb::ListContactsResponse out;
        EXPECT_THAT(call(&Stub::ListContacts, "admin", req, &out), crm::testing::IsOk());
        return out.contacts_size();
      }};
  ExpectRequestIdScopedToCaller(contacts, "mgr-li", "sup-east", "shared-request-id-2");

  auto list_signals = [&](const std::string& caller) -> absl::StatusOr<pb::ListChurnSignalsResponse> {
    pb::ListChurnSignalsRequest req;
    req.set_parent(parent->name());
    pb::ListChurnSignalsResponse out;
    RETURN_IF_ERROR(call(&Stub::ListChurnSignals, caller, req, &out));
    return out;
  };
  const IdempotentCreate churn_signals{
      .create = [&](const std::string& caller, const std::string& request_id) -> absl::StatusOr<std::string> {
        pb::RecordChurnSignalRequest req;
        req.set_parent(parent->name());
        req.mutable_signal()->set_kind(pb::MEMBERS_LEAVING);
        req.mutable_signal()->set_magnitude(++n);
        req.set_request_id(request_id);
        pb::ChurnSignal out;
        RETURN_IF_ERROR(call(&Stub::RecordChurnSignal, caller, req, &out));
        return out.name();
      },
      .read = [&](const std::string& caller, const std::string& name) -> absl::StatusOr<std::string> {
        ASSIGN_OR_RETURN(pb::ListChurnSignalsResponse listed, list_signals(caller));
        for (const pb::ChurnSignal& s : listed.signals()) {
          if (s.name() == name) return s.SerializeAsString();
        }
        return absl::NotFoundError(name);
      },
      .count = [&]() -> int64_t {
        return list_signals("admin").value_or(pb::ListChurnSignalsResponse()).signals_size();
      }};
  ExpectRequestIdScopedToCaller(churn_signals, "mgr-li", "sup-east", "shared-request-id-3");

  auto list_reports = [&](const std::string& caller) -> absl::StatusOr<pb::ListCompetitiveReportsResponse> {
    pb::ListCompetitiveReportsResponse out;
    RETURN_IF_ERROR(call(&Stub::ListCompetitiveReports, caller, pb::ListCompetitiveReportsRequest(), &out));
    return out;
  };
  const IdempotentCreate reports{
      .create = [&](const std::string& caller, const std::string& request_id) -> absl::StatusOr<std::string> {
        pb::CreateCompetitiveReportRequest req;
        req.mutable_report()->set_period("2027-01");
        req.mutable_report()->set_competitor_strategy(absl::StrCat("友商策略 ", ++n));
        req.set_request_id(request_id);
        pb::CompetitiveReport out;
        RETURN_IF_ERROR(call(&Stub::CreateCompetitiveReport, caller, req, &out));
        return out.name();
      },
      .read = [&](const std::string& caller, const std::string& name) -> absl::StatusOr<std::string> {
        ASSIGN_OR_RETURN(pb::ListCompetitiveReportsResponse listed, list_reports(caller));
        for (const pb::CompetitiveReport& r : listed.reports()) {
          if (r.name() == name) return r.SerializeAsString();
        }
        return absl::NotFoundError(name);
      },
      .count = [&]() -> int64_t {
        return list_reports("admin").value_or(pb::ListCompetitiveReportsResponse()).reports_size();
      }};
  ExpectRequestIdScopedToCaller(reports, "mgr-li", "mgr-zhao", "shared-request-id-4");
}

TEST_F(CustomersIntegrationTest, ManagersSeeOnlyTheirOwnSupervisorsTheirTeam) {
  auto li = Create(Enterprise("李的客户", 9), Role::kManager, "mgr-li");
  ASSERT_TRUE(li.ok());
  // Another manager: not found, not "permission denied" (existence hidden).
  EXPECT_THAT(Get(li->name(), Role::kManager, "mgr-wang"), StatusIs(absl::StatusCode::kNotFound));
  pb::Customer change;
  change.set_name(li->name());
  change.set_industry("x");
  EXPECT_THAT(Update(change, {"industry"}, Role::kManager, "mgr-wang"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(List({}, Role::kManager, "mgr-wang")->customers(), IsEmpty());
  // Supervisor of the same team sees it; of another team does not.
  EXPECT_TRUE(Get(li->name(), Role::kSupervisor, "sup-zhang", "east").ok());
  EXPECT_THAT(Get(li->name(), Role::kSupervisor, "sup-zhao", "west"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_TRUE(Get(li->name(), Role::kAdmin, "admin", "").ok());
  // A manager cannot hand the customer to someone else; a supervisor can.
  pb::Customer reassign;
  reassign.set_name(li->name());
  reassign.set_owner("mgr-wang");
  EXPECT_THAT(Update(reassign, {"owner"}, Role::kManager, "mgr-li"),
              StatusIs(absl::StatusCode::kPermissionDenied));
  auto moved = Update(reassign, {"owner"}, Role::kSupervisor, "sup-zhang");
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_TRUE(Get(li->name(), Role::kManager, "mgr-wang").ok());
  EXPECT_THAT(Get(li->name(), Role::kManager, "mgr-li"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(CustomersIntegrationTest, PaginationAndTamperedPageToken) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Create(Enterprise(absl::StrCat("分页客户", i), 20 + i)).ok());
  pb::ListCustomersRequest req;
  req.set_page_size(2);
  std::vector<std::string> seen;
  for (int page = 0; page < 5; ++page) {
    auto r = List(req);
    ASSERT_TRUE(r.ok()) << r.status();
    for (const auto& c : r->customers()) seen.push_back(c.name());
    if (r->next_page_token().empty()) break;
    req.set_page_token(r->next_page_token());
  }
  EXPECT_THAT(seen, SizeIs(5));

  req.set_page_token(List([] {
                       pb::ListCustomersRequest r;
                       r.set_page_size(2);
                       return r;
                     }())->next_page_token());
  std::string tampered = req.page_token();
  tampered[2] = tampered[2] == 'A' ? 'B' : 'A';
  req.set_page_token(tampered);
  EXPECT_THAT(List(req), HasFieldViolation("page_token"));
  // A token reused with other filters is refused too.
  pb::ListCustomersRequest other;
  other.set_page_size(2);
  other.set_industry("制造业");
  other.set_page_token(List([] {
                         pb::ListCustomersRequest r;
                         r.set_page_size(2);
                         return r;
                       }())->next_page_token());
  EXPECT_THAT(List(other), HasFieldViolation("page_token"));
  other.set_page_token("");
  other.set_page_size(-1);
  EXPECT_THAT(List(other), HasFieldViolation("page_size"));
}

TEST_F(CustomersIntegrationTest, BadTokensAreUnauthenticated) {
  auto created = Create(Enterprise("认证测试", 30));
  ASSERT_TRUE(created.ok());
  pb::GetCustomerRequest req;
  req.set_name(created->name());
  pb::Customer out;
  auto code_for = [&](const std::string& token) {
    return stub().GetCustomer(server_->WithToken(token).get(), req, &out).error_code();
  };
  const absl::Time now = server_->clock().Now();
  const std::string valid = server_->Token(Role::kManager, "mgr-li", "east", now, absl::Hours(1));
  EXPECT_EQ(code_for(valid), grpc::StatusCode::OK);
  // Wrong signature: the last character of the signature changed.
  std::string forged = valid;
  forged[forged.size() - 2] = forged[forged.size() - 2] == 'A' ? 'B' : 'A';
  EXPECT_EQ(code_for(forged), grpc::StatusCode::UNAUTHENTICATED);
  // Expired an hour ago (beyond the leeway).
  EXPECT_EQ(code_for(server_->Token(Role::kManager, "mgr-li", "east", now - absl::Hours(2), absl::Hours(1))),
            grpc::StatusCode::UNAUTHENTICATED);
  // alg: none with the same claims and no signature.
  const std::string payload = valid.substr(valid.find('.') + 1, valid.rfind('.') - valid.find('.') - 1);
  EXPECT_EQ(code_for("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + payload + "."),
            grpc::StatusCode::UNAUTHENTICATED);
  // No token at all.
  grpc::ClientContext bare;
  EXPECT_EQ(stub().GetCustomer(&bare, req, &out).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

// An import message for `parent` with `count` valid members.
pb::ImportMembersRequest MembersFor(const std::string& parent, int count) {
  pb::ImportMembersRequest message;
  message.set_parent(parent);
  for (int i = 0; i < count; ++i) {
    pb::Member* m = message.add_members();
    m->set_display_name(absl::StrCat("员工", i));
    m->set_phone(absl::StrCat("138", 10000000 + i));
    m->set_brand("全球通");
    m->add_products("5G 套餐");
  }
  return message;
}

TEST_F(CustomersIntegrationTest, ImportKeepsGoodRowsAndReportsBadOnes) {
  auto created = Create(Enterprise("宁德电池有限公司", 31));
  ASSERT_TRUE(created.ok());
  auto ctx = server_->As(Role::kManager, "mgr-li");
  pb::ImportMembersResponse response;
  auto writer = stub().ImportMembers(ctx.get(), &response);
  pb::ImportMembersRequest first = MembersFor(created->name(), 1500);
  first.mutable_members(3)->set_phone("not-a-phone");  // row 3
  first.mutable_members(7)->set_display_name("");      // row 7
  ASSERT_TRUE(writer->Write(first));
  pb::ImportMembersRequest second;
  pb::Member* m = second.add_members();
  m->set_display_name("最后一位");
  m->set_phone("13900000000");
  m->add_products("云桌面");
  ASSERT_TRUE(writer->Write(second));
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.imported(), 1499);
  EXPECT_EQ(response.rejected(), 2);
  ASSERT_THAT(response.errors(), SizeIs(2));
  EXPECT_EQ(response.errors(0).row(), 3);
  EXPECT_EQ(response.errors(0).field(), "members.phone");
  EXPECT_EQ(response.errors(1).row(), 7);
  EXPECT_TRUE(response.has_directory_collected_time());

  pb::ListMembersRequest list;
  list.set_parent(created->name());
  list.set_page_size(1000);
  int64_t total = 0;
  for (;;) {
    pb::ListMembersResponse page;
    ASSERT_TRUE(stub().ListMembers(server_->As(Role::kManager, "mgr-li").get(), list, &page).ok());
    total += page.members_size();
    if (page.next_page_token().empty()) break;
    list.set_page_token(page.next_page_token());
  }
  EXPECT_EQ(total, 1499);
}

// A message that fails to parse ends the stream's reads like its end does;
// the import must say so rather than commit what came before as if complete.
TEST_F(CustomersIntegrationTest, ImportRefusesAMessageWithInvalidUtf8) {
  auto created = Create(Enterprise("莆田鞋业有限公司", 33));
  ASSERT_TRUE(created.ok());
  auto ctx = server_->As(Role::kManager, "mgr-li");
  pb::ImportMembersResponse response;
  auto writer = stub().ImportMembers(ctx.get(), &response);
  ASSERT_TRUE(writer->Write(MembersFor(created->name(), 1000)));  // one whole batch
  pb::ImportMembersRequest bad = MembersFor("", 2);
  bad.mutable_members(1)->set_display_name("\xC0\xAF");  // an overlong '/'
  writer->Write(bad);
  writer->Write(MembersFor("", 5));
  writer->WritesDone();
  absl::Status status = FromGrpcStatus(writer->Finish());
  EXPECT_THAT(status, HasFieldViolation("members.display_name"));
  ASSERT_THAT(FieldViolations(status), SizeIs(1));
  EXPECT_THAT(FieldViolations(status)[0].description, ::testing::HasSubstr("message 1 of the stream"));

  pb::ListMembersRequest list;
  list.set_parent(created->name());
  list.set_page_size(1000);
  pb::ListMembersResponse page;
  ASSERT_TRUE(stub().ListMembers(server_->As(Role::kManager, "mgr-li").get(), list, &page).ok());
  EXPECT_EQ(page.members_size(), 1000) << "the batch flushed before the bad message stays, nothing after it";
}

// The owner and status filters of ListCustomers, as a supervisor who sees
// both managers' customers.
TEST_F(CustomersIntegrationTest, ListFiltersByOwnerAndStatus) {
  auto li = Create(Enterprise("李的活跃客户", 603), Role::kManager, "mgr-li");
  auto li_dormant = Create(Enterprise("李的休眠客户", 604), Role::kManager, "mgr-li");
  auto wang = Create(Enterprise("王的客户", 605), Role::kManager, "mgr-wang");
  ASSERT_TRUE(li.ok() && li_dormant.ok() && wang.ok());
  pb::Customer dormant;
  dormant.set_name(li_dormant->name());
  dormant.set_etag(li_dormant->etag());
  dormant.set_status(pb::DORMANT);
  ASSERT_TRUE(Update(dormant, {"status"}).ok());

  auto names = [](const absl::StatusOr<pb::ListCustomersResponse>& r) {
    std::set<std::string> out;
    if (r.ok()) for (const pb::Customer& c : r->customers()) out.insert(c.name());
    return out;
  };
  pb::ListCustomersRequest by_owner;
  by_owner.set_owner("mgr-wang");
  EXPECT_EQ(names(List(by_owner, Role::kSupervisor, "sup-zhang")), std::set<std::string>{wang->name()});
  by_owner.set_owner("mgr-li");
  EXPECT_EQ(names(List(by_owner, Role::kSupervisor, "sup-zhang")),
            (std::set<std::string>{li->name(), li_dormant->name()}));
  pb::ListCustomersRequest by_status;
  by_status.set_status(pb::DORMANT);
  EXPECT_EQ(names(List(by_status, Role::kSupervisor, "sup-zhang")), std::set<std::string>{li_dormant->name()});
  by_status.set_status(pb::ACTIVE);
  by_status.set_owner("mgr-li");
  EXPECT_EQ(names(List(by_status, Role::kSupervisor, "sup-zhang")), std::set<std::string>{li->name()});
}

// Every call that names a customer answers NOT_FOUND to a manager who does
// not own it, whatever the call would do (GW-2: existence hidden).
TEST_F(CustomersIntegrationTest, EveryCallOnAnotherManagersCustomerIsNotFound) {
  auto company = Create(Enterprise("李的企业客户", 600), Role::kManager, "mgr-li");
  ASSERT_TRUE(company.ok()) << company.status();
  pb::Customer individual;
  individual.set_kind(pb::INDIVIDUAL);
  individual.set_display_name("李的个人客户");
  individual.set_phone("13700002222");
  individual.set_aml_rating(pb::AML_LOW);
  auto person = Create(individual, Role::kManager, "mgr-li");
  ASSERT_TRUE(person.ok()) << person.status();
  pb::CreateContactRequest create_contact;
  create_contact.set_parent(company->name());
  create_contact.mutable_contact()->set_display_name("李的联系人");
  create_contact.mutable_contact()->set_role(pb::CONTACT);
  create_contact.mutable_contact()->set_phone("13800138001");
  pb::Contact contact;
  ASSERT_TRUE(stub().CreateContact(server_->As(Role::kManager, "mgr-li").get(), create_contact, &contact).ok());

  auto wang = [&] { return server_->As(Role::kManager, "mgr-wang"); };
  auto expect_not_found = [](const char* rpc, const grpc::Status& s) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << rpc << ": " << s.error_message();
  };
  pb::Customer customer;
  pb::Contact contact_out;
  google::protobuf::Empty empty;
  {
    pb::ArchiveCustomerRequest req;
    req.set_name(company->name());
    expect_not_found("ArchiveCustomer", stub().ArchiveCustomer(wang().get(), req, &customer));
  }
  {
    pb::VerifyCustomerRequest req;
    req.set_name(company->name());
    req.set_fields_checked(10);
    expect_not_found("VerifyCustomer", stub().VerifyCustomer(wang().get(), req, &customer));
  }
  {
    pb::ListCustomerChangesRequest req;
    req.set_customer(company->name());
    pb::ListCustomerChangesResponse out;
    expect_not_found("ListCustomerChanges", stub().ListCustomerChanges(wang().get(), req, &out));
  }
  {
    pb::ListTierChangesRequest req;
    req.set_customer(company->name());
    pb::ListTierChangesResponse out;
    expect_not_found("ListTierChanges", stub().ListTierChanges(wang().get(), req, &out));
  }
  {
    pb::GetContactRequest req;
    req.set_name(contact.name());
    expect_not_found("GetContact", stub().GetContact(wang().get(), req, &contact_out));
  }
  {
    pb::UpdateContactRequest req;
    req.mutable_contact()->set_name(contact.name());
    req.mutable_contact()->set_title("总经理");
    req.mutable_update_mask()->add_paths("title");
    expect_not_found("UpdateContact", stub().UpdateContact(wang().get(), req, &contact_out));
  }
  {
    pb::ListContactsRequest req;
    req.set_parent(company->name());
    pb::ListContactsResponse out;
    expect_not_found("ListContacts", stub().ListContacts(wang().get(), req, &out));
  }
  {
    pb::DeleteContactRequest req;
    req.set_name(contact.name());
    expect_not_found("DeleteContact", stub().DeleteContact(wang().get(), req, &empty));
  }
  {
    auto ctx = wang();
    pb::ImportMembersResponse out;
    auto writer = stub().ImportMembers(ctx.get(), &out);
    writer->Write(MembersFor(company->name(), 2));  // may fail once the server has answered
    writer->WritesDone();
    expect_not_found("ImportMembers", writer->Finish());
  }
  {
    pb::ListMembersRequest req;
    req.set_parent(company->name());
    pb::ListMembersResponse out;
    expect_not_found("ListMembers", stub().ListMembers(wang().get(), req, &out));
  }
  {
    pb::RecordChurnSignalRequest req;
    req.set_parent(company->name());
    req.set_request_id("churn-wang");
    req.mutable_signal()->set_kind(pb::MEMBERS_LEAVING);
    req.mutable_signal()->set_magnitude(10);
    req.mutable_signal()->set_note("10 名员工离网");
    pb::ChurnSignal out;
    expect_not_found("RecordChurnSignal", stub().RecordChurnSignal(wang().get(), req, &out));
  }
  {
    pb::ListChurnSignalsRequest req;
    req.set_parent(company->name());
    pb::ListChurnSignalsResponse out;
    expect_not_found("ListChurnSignals", stub().ListChurnSignals(wang().get(), req, &out));
  }
  {
    pb::SetRetentionStageRequest req;
    req.set_name(company->name());
    req.set_stage(pb::RETAINED);
    expect_not_found("SetRetentionStage", stub().SetRetentionStage(wang().get(), req, &customer));
  }
  {
    pb::AssessRiskToleranceRequest req;
    req.set_name(person->name());
    for (int a : {3, 3, 3, 3, 3}) req.add_answer_scores(a);
    expect_not_found("AssessRiskTolerance", stub().AssessRiskTolerance(wang().get(), req, &customer));
  }
  // Nothing was changed by any of them.
  auto still = Get(company->name());
  ASSERT_TRUE(still.ok()) << still.status();
  EXPECT_EQ(still->etag(), company->etag());
  EXPECT_TRUE(stub().GetContact(server_->As(Role::kManager, "mgr-li").get(),
                                [&] { pb::GetContactRequest r; r.set_name(contact.name()); return r; }(),
                                &contact_out).ok());
}

// A token may carry no team. A team-less supervisor or phone manager must not
// see every customer whose team is empty (here: one an admin created for a
// manager outside any team); the supervisor sees what they own.
TEST_F(CustomersIntegrationTest, TeamLessSupervisorsAndPhoneManagersSeeNoTeamLessCustomers) {
  pb::Customer unteamed = Enterprise("无团队客户", 601);
  unteamed.set_owner("mgr-solo");
  auto created = Create(unteamed, Role::kAdmin, "admin");
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_EQ(created->team(), "");
  EXPECT_THAT(List({}, Role::kAdmin, "admin", "")->customers(), SizeIs(1));

  EXPECT_THAT(List({}, Role::kSupervisor, "sup-none", "")->customers(), IsEmpty());
  EXPECT_THAT(Get(created->name(), Role::kSupervisor, "sup-none", ""), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(List({}, Role::kPhoneManager, "pm-none", "")->customers(), IsEmpty());
  EXPECT_THAT(Get(created->name(), Role::kPhoneManager, "pm-none", ""), StatusIs(absl::StatusCode::kNotFound));

  pb::Customer own = Enterprise("主管自己的客户", 602);
  own.set_owner("sup-none");
  auto owned = Create(own, Role::kAdmin, "admin");
  ASSERT_TRUE(owned.ok()) << owned.status();
  auto listed = List({}, Role::kSupervisor, "sup-none", "");
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_THAT(listed->customers(), SizeIs(1));
  EXPECT_EQ(listed->customers(0).name(), owned->name());
  EXPECT_TRUE(Get(owned->name(), Role::kSupervisor, "sup-none", "").ok());
}

TEST_F(CustomersIntegrationTest, ContactsLifecycleAndAudit) {
  auto customer = Create(Enterprise("三明钢铁", 32));
  ASSERT_TRUE(customer.ok());
  pb::CreateContactRequest create;
  create.set_parent(customer->name());
  create.mutable_contact()->set_display_name("陈总");
  create.mutable_contact()->set_role(pb::VIP);
  create.mutable_contact()->set_vip_level(pb::GOLD);
  create.mutable_contact()->set_phone("13800138000");
  create.mutable_contact()->mutable_birthday()->set_year(1970);
  create.mutable_contact()->mutable_birthday()->set_month(5);
  create.mutable_contact()->mutable_birthday()->set_day(20);
  pb::Contact contact;
  ASSERT_TRUE(stub().CreateContact(server_->As(Role::kManager, "mgr-li").get(), create, &contact).ok());
  EXPECT_EQ(contact.name().rfind(customer->name() + "/contacts/", 0), 0u);

  pb::UpdateContactRequest update;
  update.mutable_contact()->set_name(contact.name());
  update.mutable_contact()->set_etag(contact.etag());
  update.mutable_contact()->set_title("总经理");
  update.mutable_update_mask()->add_paths("title");
  pb::Contact updated;
  ASSERT_TRUE(stub().UpdateContact(server_->As(Role::kManager, "mgr-li").get(), update, &updated).ok());
  EXPECT_EQ(updated.title(), "总经理");

  pb::CreateContactRequest bad = create;
  bad.mutable_contact()->set_vip_level(pb::VIP_LEVEL_UNSPECIFIED);
  pb::Contact ignored;
  EXPECT_THAT(FromGrpcStatus(stub().CreateContact(server_->As(Role::kManager, "mgr-li").get(), bad, &ignored)),
              HasFieldViolation("contact.vip_level"));
  EXPECT_EQ(stub().CreateContact(server_->As(Role::kManager, "mgr-wang").get(), create, &ignored).error_code(),
            grpc::StatusCode::NOT_FOUND);

  pb::ListCustomerChangesRequest history;
  history.set_customer(customer->name());
  pb::ListCustomerChangesResponse changes;
  ASSERT_TRUE(stub().ListCustomerChanges(server_->As(Role::kManager, "mgr-li").get(), history, &changes).ok());
  bool saw_title = false;
  for (const auto& c : changes.changes()) {
    if (c.field() == "title") {
      saw_title = true;
      EXPECT_EQ(c.resource(), contact.name());
      EXPECT_EQ(c.old_value(), "");
      EXPECT_EQ(c.new_value(), "总经理");
      EXPECT_EQ(c.actor(), "mgr-li");
      EXPECT_EQ(c.method(), "UpdateContact");
    }
  }
  EXPECT_TRUE(saw_title);

  pb::DeleteContactRequest del;
  del.set_name(contact.name());
  del.set_etag(contact.etag());  // stale: the update moved it on
  google::protobuf::Empty empty;
  EXPECT_EQ(stub().DeleteContact(server_->As(Role::kManager, "mgr-li").get(), del, &empty).error_code(),
            grpc::StatusCode::ABORTED);
  del.set_etag(updated.etag());
  EXPECT_TRUE(stub().DeleteContact(server_->As(Role::kManager, "mgr-li").get(), del, &empty).ok());
}

TEST_F(CustomersIntegrationTest, CustomerFieldChangesAreAudited) {
  auto customer = Create(Enterprise("南平茶业", 33));
  ASSERT_TRUE(customer.ok());
  pb::Customer change;
  change.set_name(customer->name());
  change.set_employee_count(999);
  change.set_phone("13912345678");
  ASSERT_TRUE(Update(change, {"employee_count", "phone"}).ok());
  pb::ListCustomerChangesRequest req;
  req.set_customer(customer->name());
  pb::ListCustomerChangesResponse changes;
  ASSERT_TRUE(stub().ListCustomerChanges(server_->As(Role::kManager, "mgr-li").get(), req, &changes).ok());
  std::vector<std::string> fields;
  for (const auto& c : changes.changes()) fields.push_back(c.field() + ":" + c.old_value() + "→" + c.new_value());
  EXPECT_THAT(fields, UnorderedElementsAre("(created):→南平茶业", "employee_count:133→999",
                                           "phone:0591-87654321→13912345678"));
}

TEST_F(CustomersIntegrationTest, RecomputeTiersRanksAndRecordsChanges) {
  for (int i = 1; i <= 10; ++i) ASSERT_TRUE(Create(Enterprise(absl::StrCat("分级客户", i), 100 + i)).ok());
  pb::RecomputeTiersRequest req;
  pb::RecomputeTiersResponse resp;
  EXPECT_EQ(stub().RecomputeTiers(server_->As(Role::kManager, "mgr-li").get(), req, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(stub().RecomputeTiers(server_->As(Role::kAdmin, "admin", "").get(), req, &resp).ok());
  EXPECT_EQ(resp.ranked(), 10);
  EXPECT_EQ(resp.changed(), 10);  // all moved from unranked
  EXPECT_EQ(resp.tier_counts().at("A2"), 1);
  EXPECT_EQ(resp.tier_counts().at("B2"), 2);
  EXPECT_EQ(resp.tier_counts().at("C"), 7);

  // Nothing changed: a second run moves nobody.
  ASSERT_TRUE(stub().RecomputeTiers(server_->As(Role::kAdmin, "admin", "").get(), req, &resp).ok());
  EXPECT_EQ(resp.changed(), 0);

  pb::ListTierChangesRequest list;
  pb::ListTierChangesResponse changes;
  ASSERT_TRUE(stub().ListTierChanges(server_->As(Role::kManager, "mgr-li").get(), list, &changes).ok());
  ASSERT_THAT(changes.changes(), SizeIs(10));
  int to_a2 = 0;
  for (int i = 0; i < changes.changes_size(); ++i) {
    const pb::TierChange& c = changes.changes(i);
    EXPECT_EQ(c.old_tier(), pb::TIER_UNSPECIFIED);
    if (c.new_tier() == pb::A2) ++to_a2;
    // Recorded in rank order, each with its rank and score.
    EXPECT_EQ(c.reason(), absl::StrCat("on demand by admin (rank ", i + 1, " of 10)"));
    if (i > 0) {
      EXPECT_LE(c.score(), changes.changes(i - 1).score());
    }
  }
  EXPECT_EQ(to_a2, 1);
  EXPECT_EQ(changes.changes(0).new_tier(), pb::A2);
  // The top customer (largest revenue, most employees) is served one-to-one.
  pb::ListCustomersRequest a_only;
  a_only.set_tier(pb::A2);
  auto top = List(a_only);
  ASSERT_THAT(top->customers(), SizeIs(1));
  EXPECT_EQ(top->customers(0).display_name(), "分级客户10");
  EXPECT_EQ(top->customers(0).service_mode(), pb::ONE_TO_ONE);
  EXPECT_EQ(changes.changes(0).customer(), top->customers(0).name());
  EXPECT_DOUBLE_EQ(changes.changes(0).score(), top->customers(0).value_score());
}

TEST_F(CustomersIntegrationTest, StaleCustomersAppearWhenTheirIntervalPasses) {
  for (int i = 1; i <= 10; ++i) ASSERT_TRUE(Create(Enterprise(absl::StrCat("鲜度客户", i), 200 + i)).ok());
  pb::RecomputeTiersResponse tiers;
  ASSERT_TRUE(stub().RecomputeTiers(server_->As(Role::kAdmin, "admin", "").get(), {}, &tiers).ok());
  pb::ListStaleCustomersRequest req;
  pb::ListStaleCustomersResponse resp;
  ASSERT_TRUE(stub().ListStaleCustomers(server_->As(Role::kManager, "mgr-li").get(), req, &resp).ok());
  EXPECT_THAT(resp.stale(), IsEmpty());

  // Six weeks later: the A customer (monthly) is overdue, B (two months) not yet.
  server_->clock().Advance(absl::Hours(24 * 42));
  ASSERT_TRUE(stub().ListStaleCustomers(server_->As(Role::kManager, "mgr-li").get(), req, &resp).ok());
  ASSERT_THAT(resp.stale(), SizeIs(1));
  EXPECT_EQ(resp.stale(0).tier(), pb::A2);
  EXPECT_EQ(resp.stale(0).what(), pb::StaleCustomer::BASIC_DATA);
  pb::GetDataQualityReportRequest quality;
  pb::DataQualityReport report;
  ASSERT_TRUE(stub().GetDataQualityReport(server_->As(Role::kManager, "mgr-li").get(), quality, &report).ok());
  ASSERT_THAT(report.managers(), SizeIs(1));
  EXPECT_EQ(report.managers(0).stale_customers(), 1);
  EXPECT_DOUBLE_EQ(report.managers(0).freshness(), 0.9);

  // Re-verifying clears it.
  pb::VerifyCustomerRequest verify;
  verify.set_name(resp.stale(0).customer());
  verify.set_fields_checked(10);
  verify.set_fields_corrected(1);
  pb::Customer verified;
  ASSERT_TRUE(stub().VerifyCustomer(server_->As(Role::kManager, "mgr-li").get(), verify, &verified).ok());
  ASSERT_TRUE(stub().ListStaleCustomers(server_->As(Role::kManager, "mgr-li").get(), req, &resp).ok());
  EXPECT_THAT(resp.stale(), IsEmpty());

  // Seven months on, every directory is overdue too.
  server_->clock().Advance(absl::Hours(24 * 30 * 6));
  ASSERT_TRUE(stub().ListStaleCustomers(server_->As(Role::kManager, "mgr-li").get(), req, &resp).ok());
  int directories = 0;
  for (const auto& s : resp.stale()) directories += s.what() == pb::StaleCustomer::DIRECTORY;
  EXPECT_EQ(directories, 10);

  ASSERT_TRUE(stub().GetDataQualityReport(server_->As(Role::kManager, "mgr-li").get(), quality, &report).ok());
  ASSERT_THAT(report.managers(), SizeIs(1));
  EXPECT_EQ(report.managers(0).customers(), 10);
  EXPECT_DOUBLE_EQ(report.managers(0).accuracy_ab(), 0.9);  // 1 of 10 fields corrected
  EXPECT_FALSE(report.managers(0).meets_accuracy_target());  // needs > 95 %
  EXPECT_EQ(report.managers(0).stale_customers(), 10);  // a customer stale twice counts once

  // A team's rows (GW-4 team dashboards): its supervisor only.
  pb::GetDataQualityReportRequest team_quality;
  team_quality.set_team("east");
  ASSERT_TRUE(
      stub().GetDataQualityReport(server_->As(Role::kSupervisor, "sup-east", "east").get(), team_quality, &report).ok());
  int64_t li_customers = 0;
  for (const auto& m : report.managers()) li_customers += m.owner() == "mgr-li" ? m.customers() : 0;
  EXPECT_EQ(li_customers, 10);
  EXPECT_EQ(stub()
                .GetDataQualityReport(server_->As(Role::kSupervisor, "sup-west", "west").get(), team_quality, &report)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stub().GetDataQualityReport(server_->As(Role::kManager, "mgr-li").get(), team_quality, &report).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  team_quality.set_team("west");  // ADMIN: any team, and only that team's rows
  ASSERT_TRUE(stub().GetDataQualityReport(server_->As(Role::kAdmin, "admin").get(), team_quality, &report).ok());
  for (const auto& m : report.managers()) EXPECT_NE(m.owner(), "mgr-li");
  EXPECT_DOUBLE_EQ(report.managers(0).freshness(), 0.0);
}

TEST_F(CustomersIntegrationTest, ChurnSignalFlagsRiskAndNotifiesSupervisorForAB) {
  for (int i = 1; i <= 10; ++i) ASSERT_TRUE(Create(Enterprise(absl::StrCat("流失客户", i), 300 + i)).ok());
  pb::RecomputeTiersResponse tiers;
  ASSERT_TRUE(stub().RecomputeTiers(server_->As(Role::kAdmin, "admin", "").get(), {}, &tiers).ok());
  pb::ListCustomersRequest by_tier;
  by_tier.set_tier(pb::A2);
  const std::string a_customer = List(by_tier)->customers(0).name();
  by_tier.set_tier(pb::C);
  const std::string c_customer = List(by_tier)->customers(0).name();

  auto record = [&](const std::string& parent, const std::string& request_id) {
    pb::RecordChurnSignalRequest req;
    req.set_parent(parent);
    req.set_request_id(request_id);
    req.mutable_signal()->set_kind(pb::MEMBERS_LEAVING);
    req.mutable_signal()->set_magnitude(120);
    req.mutable_signal()->set_note("120 名员工携号转网");
    pb::ChurnSignal out;
    grpc::Status s = stub().RecordChurnSignal(server_->As(Role::kManager, "mgr-li").get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  };
  pb::ChurnSignal a_signal = record(a_customer, "churn-1");
  EXPECT_TRUE(a_signal.supervisor_notified());
  EXPECT_EQ(record(a_customer, "churn-1").name(), a_signal.name());  // retry: same signal
  EXPECT_FALSE(record(c_customer, "churn-2").supervisor_notified());

  auto flagged = Get(a_customer);
  EXPECT_TRUE(flagged->churn_risk());
  EXPECT_EQ(flagged->retention_stage(), pb::PRE_CHURN);
  pb::ListChurnSignalsRequest list;
  list.set_parent(a_customer);
  pb::ListChurnSignalsResponse signals;
  ASSERT_TRUE(stub().ListChurnSignals(server_->As(Role::kManager, "mgr-li").get(), list, &signals).ok());
  EXPECT_THAT(signals.signals(), SizeIs(1));

  pb::SetRetentionStageRequest retained;
  retained.set_name(a_customer);
  retained.set_stage(pb::RETAINED);
  pb::Customer after;
  ASSERT_TRUE(stub().SetRetentionStage(server_->As(Role::kManager, "mgr-li").get(), retained, &after).ok());
  EXPECT_FALSE(after.churn_risk());
}

// GW-5: each change is announced once on the feed, in commit order, and a
// refused or repeated call announces nothing.
TEST_F(CustomersIntegrationTest, ChangesAreAnnouncedOnTheEventFeed) {
  std::vector<std::string> names;
  for (int i = 1; i <= 10; ++i) {
    auto c = Create(Enterprise(absl::StrCat("事件客户", i), 700 + i));
    ASSERT_TRUE(c.ok()) << c.status();
    names.push_back(c->name());
  }
  EXPECT_THAT(Create(Enterprise("重复信用代码", 701)), StatusIs(absl::StatusCode::kAlreadyExists));
  std::vector<events::v1::Event> feed = server_->Events();
  ASSERT_THAT(feed, SizeIs(10));
  pb::CustomerCreated created;
  ASSERT_TRUE(feed[0].payload().UnpackTo(&created));
  EXPECT_EQ(feed[0].type(), "crm.customers.v1.CustomerCreated");
  EXPECT_EQ(feed[0].resource_name(), names[0]);
  EXPECT_EQ(feed[0].producer(), "customers");
  EXPECT_EQ(created.owner(), "mgr-li");

  pb::RecomputeTiersResponse tiers;
  ASSERT_TRUE(stub().RecomputeTiers(server_->As(Role::kAdmin, "admin", "").get(), {}, &tiers).ok());
  ASSERT_TRUE(stub().RecomputeTiers(server_->As(Role::kAdmin, "admin", "").get(), {}, &tiers).ok());
  feed = server_->Events();
  ASSERT_THAT(feed, SizeIs(20));  // the second recompute moved nobody
  std::string a_customer;
  for (size_t i = 10; i < 20; ++i) {
    pb::TierChanged moved;
    ASSERT_TRUE(feed[i].payload().UnpackTo(&moved)) << feed[i].type();
    EXPECT_EQ(moved.old_tier(), pb::TIER_UNSPECIFIED);
    EXPECT_EQ(moved.owner(), "mgr-li");
    EXPECT_EQ(moved.team(), "east");
    if (moved.new_tier() == pb::A2) a_customer = moved.customer();
  }
  ASSERT_FALSE(a_customer.empty());

  pb::RecordChurnSignalRequest churn;
  churn.set_parent(a_customer);
  churn.set_request_id("churn-event-1");
  churn.mutable_signal()->set_kind(pb::COMPETITOR_APPROACH);
  pb::ChurnSignal signal;
  for (int attempt = 0; attempt < 2; ++attempt) {  // the retry announces nothing
    ASSERT_TRUE(stub().RecordChurnSignal(server_->As(Role::kManager, "mgr-li").get(), churn, &signal).ok());
  }
  auto current = Get(names[0]);
  ASSERT_TRUE(current.ok());
  pb::Customer move;
  move.set_name(names[0]);
  move.set_etag(current->etag());
  move.set_owner("mgr-wang");
  ASSERT_TRUE(Update(move, {"owner"}, Role::kSupervisor, "sup-zhao").ok());

  feed = server_->Events();
  ASSERT_THAT(feed, SizeIs(22));
  pb::ChurnSignalRecorded recorded;
  ASSERT_TRUE(feed[20].payload().UnpackTo(&recorded)) << feed[20].type();
  EXPECT_EQ(recorded.signal(), signal.name());
  EXPECT_EQ(recorded.tier(), pb::A2);
  EXPECT_TRUE(recorded.supervisor_notified());  // CUS-8
  pb::OwnershipChanged ownership;
  ASSERT_TRUE(feed[21].payload().UnpackTo(&ownership)) << feed[21].type();
  EXPECT_EQ(ownership.old_owner(), "mgr-li");
  EXPECT_EQ(ownership.new_owner(), "mgr-wang");
  for (size_t i = 0; i < feed.size(); ++i) EXPECT_EQ(feed[i].sequence(), static_cast<int64_t>(i) + 1);
}

// SCH-5, SCH-6: contacts are announced with the customer's current owner and
// team; a retried create, an update that changes nothing and a refused call
// announce nothing.
TEST_F(CustomersIntegrationTest, ContactChangesAndVerificationsAreAnnouncedWithTheCurrentOwner) {
  auto customer = Create(Enterprise("莆田鞋业", 41));
  ASSERT_TRUE(customer.ok()) << customer.status();
  const size_t baseline = server_->Events().size();  // CustomerCreated

  pb::CreateContactRequest create;
  create.set_parent(customer->name());
  create.set_request_id("contact-event-1");
  pb::Contact& in = *create.mutable_contact();
  in.set_display_name("林总");
  in.set_role(pb::VIP);
  in.set_vip_level(pb::GOLD);
  in.set_phone("13800138001");
  in.mutable_birthday()->set_year(1968);
  in.mutable_birthday()->set_month(9);
  in.mutable_birthday()->set_day(12);
  pb::Contact contact;
  for (int attempt = 0; attempt < 2; ++attempt) {  // the retry announces nothing
    ASSERT_TRUE(stub().CreateContact(server_->As(Role::kManager, "mgr-li").get(), create, &contact).ok());
  }
  pb::Contact ignored;
  create.set_request_id("contact-event-2");
  EXPECT_EQ(stub().CreateContact(server_->As(Role::kManager, "mgr-wang").get(), create, &ignored).error_code(),
            grpc::StatusCode::NOT_FOUND);

  std::vector<events::v1::Event> feed = server_->Events();
  ASSERT_THAT(feed, SizeIs(baseline + 1));
  EXPECT_EQ(feed.back().type(), "crm.customers.v1.ContactAdded");
  EXPECT_EQ(feed.back().resource_name(), contact.name());
  pb::ContactAdded added;
  ASSERT_TRUE(feed.back().payload().UnpackTo(&added));
  EXPECT_EQ(added.contact(), contact.name());
  EXPECT_EQ(added.customer(), customer->name());
  EXPECT_EQ(added.display_name(), "林总");
  EXPECT_EQ(added.role(), pb::VIP);
  EXPECT_EQ(added.vip_level(), pb::GOLD);
  EXPECT_EQ(added.birthday().year(), 1968);
  EXPECT_EQ(added.birthday().month(), 9);
  EXPECT_EQ(added.birthday().day(), 12);
  EXPECT_EQ(added.owner(), "mgr-li");
  EXPECT_EQ(added.team(), "east");

  // An update that writes the value already stored changes nothing.
  pb::UpdateContactRequest same;
  same.mutable_contact()->set_name(contact.name());
  same.mutable_contact()->set_phone(contact.phone());
  same.mutable_update_mask()->add_paths("phone");
  pb::Contact unchanged;
  ASSERT_TRUE(stub().UpdateContact(server_->As(Role::kManager, "mgr-li").get(), same, &unchanged).ok());
  EXPECT_EQ(unchanged.etag(), contact.etag());
  EXPECT_THAT(server_->Events(), SizeIs(baseline + 1));

  // The customer moves to mgr-wang; the next contact change names the new owner.
  auto current = Get(customer->name());
  ASSERT_TRUE(current.ok());
  pb::Customer move;
  move.set_name(customer->name());
  move.set_etag(current->etag());
  move.set_owner("mgr-wang");
  ASSERT_TRUE(Update(move, {"owner"}, Role::kSupervisor, "sup-zhao").ok());
  pb::UpdateContactRequest promote;
  promote.mutable_contact()->set_name(contact.name());
  promote.mutable_contact()->set_etag(contact.etag());
  promote.mutable_contact()->set_vip_level(pb::DIAMOND);
  promote.mutable_update_mask()->add_paths("vip_level");
  pb::Contact promoted;
  ASSERT_TRUE(stub().UpdateContact(server_->As(Role::kManager, "mgr-wang").get(), promote, &promoted).ok());
  feed = server_->Events();
  ASSERT_THAT(feed, SizeIs(baseline + 3));
  EXPECT_EQ(feed[baseline + 1].type(), "crm.customers.v1.OwnershipChanged");
  EXPECT_EQ(feed.back().type(), "crm.customers.v1.ContactChanged");
  EXPECT_EQ(feed.back().resource_name(), contact.name());
  pb::ContactChanged changed;
  ASSERT_TRUE(feed.back().payload().UnpackTo(&changed));
  EXPECT_EQ(changed.contact(), contact.name());
  EXPECT_EQ(changed.customer(), customer->name());
  EXPECT_EQ(changed.display_name(), "林总");
  EXPECT_EQ(changed.role(), pb::VIP);
  EXPECT_EQ(changed.vip_level(), pb::DIAMOND);
  EXPECT_EQ(changed.birthday().day(), 12);
  EXPECT_EQ(changed.owner(), "mgr-wang");
  EXPECT_EQ(changed.team(), "east");

  // CUS-6: a verification is announced with its time.
  server_->clock().Advance(absl::Hours(3));
  pb::VerifyCustomerRequest verify;
  verify.set_name(customer->name());
  verify.set_fields_checked(12);
  pb::Customer verified;
  ASSERT_TRUE(stub().VerifyCustomer(server_->As(Role::kManager, "mgr-wang").get(), verify, &verified).ok());
  feed = server_->Events();
  ASSERT_THAT(feed, SizeIs(baseline + 4));
  EXPECT_EQ(feed.back().type(), "crm.customers.v1.CustomerVerified");
  EXPECT_EQ(feed.back().resource_name(), customer->name());
  pb::CustomerVerified verified_event;
  ASSERT_TRUE(feed.back().payload().UnpackTo(&verified_event));
  EXPECT_EQ(verified_event.customer(), customer->name());
  EXPECT_EQ(verified_event.owner(), "mgr-wang");
  EXPECT_EQ(verified_event.team(), "east");
  EXPECT_EQ(FromProto(verified_event.verify_time()), server_->clock().Now());
  EXPECT_EQ(FromProto(verified_event.verify_time()), FromProto(verified.last_verified_time()));

  // A delete with a stale etag is refused and announces nothing; then it goes.
  pb::DeleteContactRequest del;
  del.set_name(contact.name());
  del.set_etag(contact.etag());
  google::protobuf::Empty empty;
  EXPECT_EQ(stub().DeleteContact(server_->As(Role::kManager, "mgr-wang").get(), del, &empty).error_code(),
            grpc::StatusCode::ABORTED);
  del.set_etag(promoted.etag());
  ASSERT_TRUE(stub().DeleteContact(server_->As(Role::kManager, "mgr-wang").get(), del, &empty).ok());
  feed = server_->Events();
  ASSERT_THAT(feed, SizeIs(baseline + 5));
  EXPECT_EQ(feed.back().type(), "crm.customers.v1.ContactRemoved");
  EXPECT_EQ(feed.back().resource_name(), contact.name());
  pb::ContactRemoved removed;
  ASSERT_TRUE(feed.back().payload().UnpackTo(&removed));
  EXPECT_EQ(removed.contact(), contact.name());
  EXPECT_EQ(removed.customer(), customer->name());
  for (size_t i = 0; i < feed.size(); ++i) EXPECT_EQ(feed[i].sequence(), static_cast<int64_t>(i) + 1);
}

// CUS-6: each lapse of an A or B customer's basic data is announced once —
// not again by a second sweep or by another replica — and a verification
// starts a new lapse.
TEST_F(CustomersIntegrationTest, StaleBasicDataIsAnnouncedOncePerLapse) {
  for (int i = 1; i <= 10; ++i) ASSERT_TRUE(Create(Enterprise(absl::StrCat("陈旧客户", i), 400 + i)).ok());
  pb::RecomputeTiersResponse tiers;
  ASSERT_TRUE(stub().RecomputeTiers(server_->As(Role::kAdmin, "admin", "").get(), {}, &tiers).ok());
  ASSERT_EQ(tiers.tier_counts().at("A2"), 1);
  ASSERT_EQ(tiers.tier_counts().at("B2"), 2);
  pb::ListCustomersRequest a_only;
  a_only.set_tier(pb::A2);
  auto a_list = List(a_only);
  ASSERT_TRUE(a_list.ok());
  ASSERT_THAT(a_list->customers(), SizeIs(1));
  const pb::Customer a = a_list->customers(0);
  EXPECT_EQ(Sweep(*server_), 0);  // everything is fresh

  // Created 1 Jan 08:00 CST. On 12 Feb the A customer (monthly) is stale, B
  // (every two months) not yet.
  server_->clock().Advance(absl::Hours(24 * 42));
  EXPECT_EQ(Sweep(*server_), 1);
  EXPECT_EQ(Sweep(*server_), 0);
  // Another replica (or this one restarted) on the same database neither.
  auto replica = CustomersServer::Start(db_->config());
  ASSERT_NE(replica, nullptr);
  replica->clock().Set(server_->clock().Now());
  EXPECT_EQ(Sweep(*replica), 0);

  auto stale = EventsOf<pb::CustomerDataStale>(server_->Events());
  ASSERT_THAT(stale, SizeIs(1));
  EXPECT_EQ(stale[0].first.resource_name(), a.name());
  EXPECT_EQ(FromProto(stale[0].first.event_time()), server_->clock().Now());
  EXPECT_EQ(stale[0].second.customer(), a.name());
  EXPECT_EQ(stale[0].second.owner(), "mgr-li");
  EXPECT_EQ(stale[0].second.team(), "east");
  EXPECT_EQ(stale[0].second.tier(), pb::A2);
  EXPECT_EQ(FromProto(stale[0].second.last_verified_time()), FromProto(a.create_time()));
  EXPECT_EQ(FromProto(stale[0].second.stale_since()), Cst(2027, 2, 1, 8));

  // The manager re-verifies: fresh again, nothing to announce ...
  pb::VerifyCustomerRequest verify;
  verify.set_name(a.name());
  verify.set_fields_checked(10);
  pb::Customer verified;
  ASSERT_TRUE(stub().VerifyCustomer(server_->As(Role::kManager, "mgr-li").get(), verify, &verified).ok());
  EXPECT_EQ(Sweep(*server_), 0);
  // ... until that verification lapses too (26 Mar), by when the B
  // customers' two months (since 1 Jan) are over as well.
  server_->clock().Advance(absl::Hours(24 * 42));
  replica->clock().Set(server_->clock().Now());
  EXPECT_EQ(Sweep(*server_), 3);
  EXPECT_EQ(Sweep(*replica), 0);
  EXPECT_EQ(Sweep(*server_), 0);

  stale = EventsOf<pb::CustomerDataStale>(server_->Events());
  ASSERT_THAT(stale, SizeIs(4));
  std::map<std::string, int> per_customer;
  for (const auto& [event, payload] : stale) {
    ++per_customer[payload.customer()];
    EXPECT_EQ(event.resource_name(), payload.customer());
    if (event.sequence() <= stale[0].first.sequence()) continue;
    if (payload.customer() == a.name()) {
      EXPECT_EQ(payload.tier(), pb::A2);
      EXPECT_EQ(FromProto(payload.last_verified_time()), FromProto(verified.last_verified_time()));
      EXPECT_EQ(FromProto(payload.stale_since()), AddMonths(FromProto(verified.last_verified_time()), 1));
    } else {
      EXPECT_EQ(payload.tier(), pb::B2);
      EXPECT_EQ(FromProto(payload.last_verified_time()), FromProto(a.create_time()));  // created together
      EXPECT_EQ(FromProto(payload.stale_since()), Cst(2027, 3, 1, 8));
    }
  }
  EXPECT_EQ(per_customer.size(), 3u);
  EXPECT_EQ(per_customer[a.name()], 2);
}

// Sweeps running at the same time (replicas) claim disjoint customers: each
// stale customer is announced exactly once.
TEST_F(CustomersIntegrationTest, ConcurrentSweepsAnnounceEachLapseOnce) {
  for (int i = 1; i <= 30; ++i) ASSERT_TRUE(Create(Enterprise(absl::StrCat("并发陈旧", i), 450 + i)).ok());
  pb::RecomputeTiersResponse tiers;
  ASSERT_TRUE(stub().RecomputeTiers(server_->As(Role::kAdmin, "admin", "").get(), {}, &tiers).ok());
  ASSERT_EQ(tiers.tier_counts().at("A2"), 3);
  ASSERT_EQ(tiers.tier_counts().at("B1") + tiers.tier_counts().at("B2"), 6);
  // 70 days on, the 3 A and the 6 B customers are stale.
  server_->clock().Advance(absl::Hours(24 * 70));
  auto replica = CustomersServer::Start(db_->config());
  ASSERT_NE(replica, nullptr);
  replica->clock().Set(server_->clock().Now());

  std::atomic<int64_t> announced{0};
  std::vector<std::thread> sweeps;
  for (int i = 0; i < 4; ++i) {
    CustomersServer& on = i % 2 == 0 ? *server_ : *replica;
    // Small batches, so the sweeps interleave batch by batch.
    sweeps.emplace_back([&on, &announced] { announced += Sweep(on, 2); });
  }
  for (std::thread& t : sweeps) t.join();
  EXPECT_EQ(announced.load(), 9);
  EXPECT_EQ(Sweep(*server_), 0);

  const auto stale = EventsOf<pb::CustomerDataStale>(server_->Events());
  ASSERT_THAT(stale, SizeIs(9));
  std::set<std::string> customers;
  for (const auto& [event, payload] : stale) {
    customers.insert(payload.customer());
    EXPECT_NE(payload.tier(), pb::C);
  }
  EXPECT_EQ(customers.size(), 9u);
}

TEST_F(CustomersIntegrationTest, ArchivedCustomersAreNeverAnnouncedStale) {
  for (int i = 1; i <= 10; ++i) ASSERT_TRUE(Create(Enterprise(absl::StrCat("归档陈旧", i), 500 + i)).ok());
  pb::RecomputeTiersResponse tiers;
  ASSERT_TRUE(stub().RecomputeTiers(server_->As(Role::kAdmin, "admin", "").get(), {}, &tiers).ok());
  pb::ListCustomersRequest a_only;
  a_only.set_tier(pb::A2);
  auto a_list = List(a_only);
  ASSERT_TRUE(a_list.ok());
  ASSERT_THAT(a_list->customers(), SizeIs(1));
  pb::ArchiveCustomerRequest archive;
  archive.set_name(a_list->customers(0).name());
  pb::Customer archived;
  ASSERT_TRUE(stub().ArchiveCustomer(server_->As(Role::kManager, "mgr-li").get(), archive, &archived).ok());

  server_->clock().Advance(absl::Hours(24 * 42));  // the A customer would be stale
  EXPECT_EQ(Sweep(*server_), 0);
  server_->clock().Advance(absl::Hours(24 * 42));  // and now the two B customers are
  EXPECT_EQ(Sweep(*server_), 2);
  const auto stale = EventsOf<pb::CustomerDataStale>(server_->Events());
  ASSERT_THAT(stale, SizeIs(2));
  for (const auto& [event, payload] : stale) {
    EXPECT_NE(payload.customer(), archived.name());
    EXPECT_EQ(payload.tier(), pb::B2);
  }
}

// The background job runs the sweep on its schedule; its repeated runs
// still announce the lapse once.
TEST_F(CustomersIntegrationTest, StaleDataJobAnnouncesInTheBackground) {
  for (int i = 1; i <= 10; ++i) ASSERT_TRUE(Create(Enterprise(absl::StrCat("后台陈旧", i), 550 + i)).ok());
  pb::RecomputeTiersResponse tiers;
  ASSERT_TRUE(stub().RecomputeTiers(server_->As(Role::kAdmin, "admin", "").get(), {}, &tiers).ok());
  server_->clock().Advance(absl::Hours(24 * 42));

  StaleDataJob job(server_->service(), {.interval = absl::Milliseconds(10)});
  job.Start();
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  std::vector<std::pair<events::v1::Event, pb::CustomerDataStale>> stale;
  while (stale.empty() && absl::Now() < give_up) {
    stale = EventsOf<pb::CustomerDataStale>(server_->Events());
  }
  ASSERT_THAT(stale, SizeIs(1));
  // Let it run a few more times before it stops.
  const absl::Time settle = absl::Now() + absl::Milliseconds(100);
  while (absl::Now() < settle) (void)server_->Events();
  job.Stop();
  EXPECT_THAT(EventsOf<pb::CustomerDataStale>(server_->Events()), SizeIs(1));
  EXPECT_EQ(stale[0].second.tier(), pb::A2);
}

TEST_F(CustomersIntegrationTest, RiskToleranceOnlyForIndividuals) {
  pb::Customer person;
  person.set_kind(pb::INDIVIDUAL);
  person.set_display_name("王女士");
  person.set_phone("13700001111");
  person.set_aml_rating(pb::AML_LOW);
  auto created = Create(person);
  ASSERT_TRUE(created.ok()) << created.status();
  pb::AssessRiskToleranceRequest req;
  req.set_name(created->name());
  for (int a : {4, 4, 3, 4, 4}) req.add_answer_scores(a);  // average 3.8
  pb::Customer assessed;
  ASSERT_TRUE(stub().AssessRiskTolerance(server_->As(Role::kManager, "mgr-li").get(), req, &assessed).ok());
  EXPECT_EQ(assessed.risk_tolerance(), pb::GROWTH);
  EXPECT_EQ(assessed.risk_assessed_on().year(), 2027);  // the fake clock's date

  auto company = Create(Enterprise("企业不能做问卷", 400));
  req.set_name(company->name());
  EXPECT_EQ(stub().AssessRiskTolerance(server_->As(Role::kManager, "mgr-li").get(), req, &assessed).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(CustomersIntegrationTest, CompetitiveReportsVisibleToTeamSupervisor) {
  pb::CreateCompetitiveReportRequest req;
  req.mutable_report()->set_period("2027-01");
  req.mutable_report()->set_competitor_strategy("友商推出 5G 专线五折");
  pb::CompetitiveReport report;
  ASSERT_TRUE(stub().CreateCompetitiveReport(server_->As(Role::kManager, "mgr-li").get(), req, &report).ok());
  EXPECT_EQ(report.author(), "mgr-li");
  req.mutable_report()->set_period("2027-13");
  EXPECT_THAT(FromGrpcStatus(stub().CreateCompetitiveReport(server_->As(Role::kManager, "mgr-li").get(), req, &report)),
              HasFieldViolation("report.period"));

  pb::ListCompetitiveReportsRequest list;
  pb::ListCompetitiveReportsResponse resp;
  ASSERT_TRUE(stub().ListCompetitiveReports(server_->As(Role::kSupervisor, "sup", "east").get(), list, &resp).ok());
  EXPECT_THAT(resp.reports(), SizeIs(1));
  ASSERT_TRUE(stub().ListCompetitiveReports(server_->As(Role::kManager, "mgr-wang").get(), list, &resp).ok());
  EXPECT_THAT(resp.reports(), IsEmpty());
}

TEST_F(CustomersIntegrationTest, ValueModelUpdateIsValidatedAndEtagged) {
  pb::ValueModel model;
  ASSERT_TRUE(stub().GetValueModel(server_->As(Role::kManager, "mgr-li").get(), {}, &model).ok());
  pb::UpdateValueModelRequest req;
  req.mutable_value_model()->set_revenue_weight(-1);
  req.mutable_value_model()->set_etag(model.etag());
  req.mutable_update_mask()->add_paths("revenue_weight");
  pb::ValueModel out;
  EXPECT_EQ(stub().UpdateValueModel(server_->As(Role::kManager, "mgr-li").get(), req, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(FromGrpcStatus(stub().UpdateValueModel(server_->As(Role::kAdmin, "admin", "").get(), req, &out)),
              HasFieldViolation("value_model.revenue_weight"));
  req.mutable_value_model()->set_revenue_weight(0.7);
  ASSERT_TRUE(stub().UpdateValueModel(server_->As(Role::kAdmin, "admin", "").get(), req, &out).ok());
  EXPECT_DOUBLE_EQ(out.revenue_weight(), 0.7);
  EXPECT_EQ(stub().UpdateValueModel(server_->As(Role::kAdmin, "admin", "").get(), req, &out).error_code(),
            grpc::StatusCode::ABORTED);  // the etag moved on
}

// The database dies under a running service and comes back: health goes
// NOT_SERVING and back to SERVING, and calls work again without a restart.
TEST(CustomersDatabaseRestartTest, HealthFollowsTheDatabaseAndCallsRecover) {
  auto mariadb = crm::testing::PrivateMariaDb::Start();
  ASSERT_TRUE(mariadb.ok()) << mariadb.status();
  ASSERT_TRUE((*mariadb)->CreateDatabase("crm_customers").ok());
  db::DbConfig config = (*mariadb)->Config("crm_customers");
  // Every idle connection is pinged before it is lent (a second by default):
  // the second restart below must not depend on how long a restart takes.
  config.ping_after_idle = absl::ZeroDuration();
  auto server = CustomersServer::Start(config);
  ASSERT_NE(server, nullptr);

  auto health = grpc::health::v1::Health::NewStub(server->channel());
  grpc::ClientContext watch_ctx;
  watch_ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(120)));
  grpc::health::v1::HealthCheckRequest watch_req;
  watch_req.set_service("crm.customers.v1.CustomerService");
  auto watch = health->Watch(&watch_ctx, watch_req);
  // The next status that differs from the last one seen (a watcher may be
  // told the same status twice).
  auto last = grpc::health::v1::HealthCheckResponse::UNKNOWN;
  auto next_status = [&] {
    grpc::health::v1::HealthCheckResponse r;
    while (watch->Read(&r)) {
      if (r.status() != last) return last = r.status();
    }
    return grpc::health::v1::HealthCheckResponse::UNKNOWN;
  };
  ASSERT_EQ(next_status(), grpc::health::v1::HealthCheckResponse::SERVING);

  pb::CreateCustomerRequest create;
  *create.mutable_customer() = Enterprise("重启前", 500);
  pb::Customer before;
  ASSERT_TRUE(server->stub().CreateCustomer(server->As(Role::kManager, "mgr-li").get(), create, &before).ok());

  ASSERT_TRUE((*mariadb)->Kill().ok());
  EXPECT_EQ(next_status(), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  pb::GetCustomerRequest get;
  get.set_name(before.name());
  pb::Customer out;
  EXPECT_EQ(server->stub().GetCustomer(server->As(Role::kManager, "mgr-li").get(), get, &out).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  ASSERT_TRUE((*mariadb)->Restart().ok());
  EXPECT_EQ(next_status(), grpc::health::v1::HealthCheckResponse::SERVING);
  grpc::Status after = server->stub().GetCustomer(server->As(Role::kManager, "mgr-li").get(), get, &out);
  EXPECT_TRUE(after.ok()) << after.error_message();
  EXPECT_EQ(out.display_name(), "重启前");

  // Again, but with no call while the database is down: the pool's idle
  // connections died unseen, and the first calls afterwards must not fail
  // on them.
  ASSERT_TRUE((*mariadb)->Kill().ok());
  EXPECT_EQ(next_status(), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  ASSERT_TRUE((*mariadb)->Restart().ok());
  EXPECT_EQ(next_status(), grpc::health::v1::HealthCheckResponse::SERVING);
  after = server->stub().GetCustomer(server->As(Role::kManager, "mgr-li").get(), get, &out);
  EXPECT_TRUE(after.ok()) << after.error_message();
  *create.mutable_customer() = Enterprise("重启后", 501);
  pb::Customer created_after;
  after = server->stub().CreateCustomer(server->As(Role::kManager, "mgr-li").get(), create, &created_after);
  EXPECT_TRUE(after.ok()) << after.error_message();
  watch_ctx.TryCancel();
}

// ------------------------------------------------------------ creates written in batches

// What CreateCustomer answers is assembled from what it wrote (no read-back):
// it must be exactly what GetCustomer reads, clock fractions included.
TEST_F(CustomersIntegrationTest, CreateAnswersWhatGetReads) {
  server_->clock().Advance(absl::Nanoseconds(1234567891));  // below DATETIME(6)'s microseconds
  pb::Customer full = Enterprise("福州马尾造船有限公司", 901);
  full.set_it_usage_notes("用友 ERP");
  full.set_competitor_notes("无");
  full.set_high_value(true);
  full.set_churn_risk(true);
  pb::Customer minimal;
  minimal.set_kind(pb::INDIVIDUAL);
  minimal.set_display_name("林小姐");
  minimal.set_aml_rating(pb::AML_LOW);
  for (const pb::Customer& input : {full, minimal}) {
    auto created = Create(input);
    ASSERT_TRUE(created.ok()) << created.status();
    auto read = Get(created->name());
    ASSERT_TRUE(read.ok()) << read.status();
    pb::Customer answered = *created;
    answered.clear_similar_customers();
    std::string diff;
    google::protobuf::util::MessageDifferencer differ;
    differ.ReportDifferencesToString(&diff);
    EXPECT_TRUE(differ.Compare(*read, answered)) << input.display_name() << ": " << diff;
  }
}

TEST_F(CustomersIntegrationTest, ManyConcurrentCreatesWithOneRequestIdMakeOneCustomer) {
  const std::string request_id = "4b0e0c7e-5b1a-4d0e-9f3c-0000000000aa";
  constexpr int kCallers = 12;  // the test server has 16 threads
  std::vector<std::string> names(kCallers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back([&, i] {
      auto r = Create(Enterprise("福清玻璃有限公司", 902), Role::kManager, "mgr-li", request_id);
      names[i] = r.ok() ? r->name() : r.status().ToString();
    });
  }
  for (auto& t : threads) t.join();
  for (const std::string& n : names) EXPECT_EQ(n, names[0]);
  EXPECT_THAT(List({})->customers(), SizeIs(1));
  EXPECT_THAT(EventsOf<pb::CustomerCreated>(server_->Events()), SizeIs(1));
}

// Every customer created by concurrent calls (written in shared
// transactions) has its own audit row and CustomerCreated event.
TEST_F(CustomersIntegrationTest, ConcurrentCreatesAreEachAuditedAndAnnounced) {
  constexpr int kThreads = 12, kPerThread = 8;
  std::vector<std::vector<std::string>> created(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int n = 1000 + t * kPerThread + i;
        pb::Customer c = Enterprise(absl::StrCat("并发创建客户", n), n);
        if (i % 2 == 1) {  // individuals (no credit code) too
          c = pb::Customer();
          c.set_kind(pb::INDIVIDUAL);
          c.set_display_name(absl::StrCat("并发个人", n));
        }
        auto r = Create(c, Role::kManager, "mgr-li", absl::StrCat("batch-", n));
        created[t].push_back(r.ok() ? r->name() : r.status().ToString());
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> names;
  for (const auto& per_thread : created) names.insert(per_thread.begin(), per_thread.end());
  ASSERT_THAT(names, SizeIs(kThreads * kPerThread));
  for (const std::string& name : names) {
    ASSERT_EQ(name.rfind("customers/", 0), 0u) << name;
    pb::ListCustomerChangesRequest req;
    req.set_customer(name);
    pb::ListCustomerChangesResponse changes;
    ASSERT_TRUE(stub().ListCustomerChanges(server_->As(Role::kManager, "mgr-li").get(), req, &changes).ok());
    ASSERT_THAT(changes.changes(), SizeIs(1)) << name;
    EXPECT_EQ(changes.changes(0).field(), "(created)");
  }
  std::set<std::string> announced;
  for (const auto& [event, payload] : EventsOf<pb::CustomerCreated>(server_->Events())) {
    announced.insert(event.resource_name());
  }
  EXPECT_EQ(announced, names);
}

// One batch (what concurrent calls share) with requests that fail on their
// own: the others are created, each failing one gets its own answer.
TEST_F(CustomersIntegrationTest, ABatchAnswersEachRequestAndCommitsTheGoodOnes) {
  auto holder = Create(Enterprise("已有信用代码", 910), Role::kManager, "mgr-li", "first-910");
  ASSERT_TRUE(holder.ok()) << holder.status();
  // A row the database itself refuses, as a broken column or constraint would.
  {
    auto conn = db::OpenConnection(*sql::mysql::get_mysql_driver_instance(), db_->config());
    ASSERT_TRUE(conn.ok()) << conn.status();
    std::unique_ptr<sql::Statement> stmt((*conn)->createStatement());
    stmt->execute(
        "CREATE TRIGGER refuse_one BEFORE INSERT ON customers FOR EACH ROW "
        "IF NEW.display_name = '拒绝写入' THEN "
        "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test'; END IF");
  }
  db::ConnectionPool pool(db_->config());
  MysqlCustomerRepository repo(pool);
  const Actor actor{"mgr-li", "CreateCustomer", server_->clock().Now()};
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  using NewCustomer = MysqlCustomerRepository::NewCustomer;
  using Item = MysqlCustomerRepository::CreateCommit::Item;
  const pb::Customer good1 = RepositoryIndividual("批量甲"), good2 = RepositoryIndividual("批量乙"),
                     refused = RepositoryIndividual("拒绝写入");
  pb::Customer taken_code = Enterprise("另一家公司", 910);
  taken_code.set_status(pb::ACTIVE);
  taken_code.set_owner("mgr-li");
  const std::string id1 = "batch-good-1", id2 = "batch-good-2", id3 = "batch-refused", id4 = "batch-taken",
                    replayed = "first-910";
  const NewCustomer requests[] = {
      {deadline, good1, id1, actor},       {deadline, taken_code, id4, actor}, {deadline, refused, id3, actor},
      {deadline, good2, id2, actor},       {deadline, good1, id1, actor},  // a retry inside the batch
      {deadline, holder.value(), replayed, actor},                        // a retry of a committed create
  };
  std::vector<Item> items;
  for (const NewCustomer& r : requests) items.push_back(Item{r});
  std::vector<Item*> batch;
  for (Item& item : items) batch.push_back(&item);
  const size_t events_before = server_->Events().size();

  repo.CreateCustomers(absl::MakeSpan(batch));

  ASSERT_TRUE(items[0].result.ok()) << items[0].result.status();
  ASSERT_TRUE(items[3].result.ok()) << items[3].result.status();
  EXPECT_THAT(items[1].result, StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_NE(items[1].result.status().message().find(holder->name()), absl::string_view::npos)
      << items[1].result.status();
  EXPECT_FALSE(items[2].result.ok());
  ASSERT_TRUE(items[4].result.ok()) << items[4].result.status();
  EXPECT_EQ(items[4].result->name(), items[0].result->name());
  ASSERT_TRUE(items[5].result.ok()) << items[5].result.status();
  EXPECT_EQ(items[5].result->name(), holder->name());
  EXPECT_TRUE(Get(items[0].result->name()).ok());
  EXPECT_TRUE(Get(items[3].result->name()).ok());
  pb::ListCustomersRequest by_name;
  by_name.set_name_contains("拒绝写入");
  EXPECT_THAT(List(by_name)->customers(), IsEmpty());
  EXPECT_EQ(server_->Events().size(), events_before + 2);

  // Without a refused row the batch commits in one transaction; the taken
  // credit code is still answered on its own.
  const pb::Customer good3 = RepositoryIndividual("批量丙");
  const std::string id5 = "batch-good-3", id6 = "batch-taken-again";
  const NewCustomer fresh{deadline, good3, id5, actor}, taken_again{deadline, taken_code, id6, actor};
  std::vector<Item> second = {Item{fresh}, Item{taken_again}};
  std::vector<Item*> second_batch = {&second[0], &second[1]};
  repo.CreateCustomers(absl::MakeSpan(second_batch));
  ASSERT_TRUE(second[0].result.ok()) << second[0].result.status();
  EXPECT_THAT(second[1].result, StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(server_->Events().size(), events_before + 3);
}

// CUS-11 in a batch: similar names are found by one range read over the
// batch's name keys; a key that a far more common one crowds out of that
// read's limit is answered by per-key reads, and keys are compared as the
// column's collation does ("café" and "cafe" are one name).
TEST_F(CustomersIntegrationTest, ABatchFindsSimilarNamesForEveryKey) {
  auto create_individual = [&](const std::string& name) {
    pb::Customer c;
    c.set_kind(pb::INDIVIDUAL);
    c.set_display_name(name);
    auto created = Create(c);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? created->name() : "";
  };
  std::vector<std::string> common;  // "aaa" sorts before "zzz": it fills the range read first
  for (int i = 0; i < 30; ++i) common.push_back(create_individual(i % 2 == 0 ? "AAA" : "aaa ltd"));
  const std::string rare = create_individual("zzz");
  const std::string plain = create_individual("Cafe Ltd");

  db::ConnectionPool pool(db_->config());
  MysqlCustomerRepository repo(pool);
  const Actor actor{"mgr-li", "CreateCustomer", server_->clock().Now()};
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  using Item = MysqlCustomerRepository::CreateCommit::Item;
  auto run = [&](std::vector<Item>& items) {
    std::vector<Item*> batch;
    for (Item& item : items) batch.push_back(&item);
    repo.CreateCustomers(absl::MakeSpan(batch));
    for (const Item& item : items) ASSERT_TRUE(item.result.ok()) << item.result.status();
  };
  // 31 rows of "aaa" fill the range read's limit of 2 × 11 before "zzz".
  std::vector<Item> crowded = {Item{{deadline, RepositoryIndividual("aaa"), "similar-1", actor}},
                               Item{{deadline, RepositoryIndividual("ZZZ Inc."), "similar-2", actor}}};
  ASSERT_NO_FATAL_FAILURE(run(crowded));
  // The ten lowest ids of the common name; the batch's own row is not listed.
  EXPECT_THAT(crowded[0].result->similar_customers(),
              ElementsAreArray(std::vector<std::string>(common.begin(), common.begin() + 10)));
  EXPECT_THAT(crowded[1].result->similar_customers(), ElementsAre(rare));

  // Within the limit: the range read answers, matching by collation.
  std::vector<Item> accented = {Item{{deadline, RepositoryIndividual("Café"), "similar-3", actor}},
                                Item{{deadline, RepositoryIndividual("bbb"), "similar-4", actor}}};
  ASSERT_NO_FATAL_FAILURE(run(accented));
  EXPECT_THAT(accented[0].result->similar_customers(), ElementsAre(plain));
  EXPECT_THAT(accented[1].result->similar_customers(), IsEmpty());
}

// Issue 8 in the group commit: two callers' creates with one request id in
// one batch are two customers, and each caller's retry in a later batch
// gets its own.
TEST_F(CustomersIntegrationTest, ABatchKeepsEachCallersRequestIdsApart) {
  db::ConnectionPool pool(db_->config());
  MysqlCustomerRepository repo(pool);
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  const Actor li{"mgr-li", "CreateCustomer", server_->clock().Now()};
  const Actor zhao{"mgr-zhao", "CreateCustomer", server_->clock().Now()};
  auto owned_by = [](const pb::Customer& c, const std::string& owner, const std::string& team) {
    pb::Customer out = c;
    out.set_status(pb::ACTIVE);
    out.set_owner(owner);
    out.set_team(team);
    return out;
  };
  const pb::Customer lis = owned_by(Enterprise("批量李的客户", 920), "mgr-li", "east");
  const pb::Customer zhaos = owned_by(Enterprise("批量赵的客户", 921), "mgr-zhao", "west");
  const pb::Customer other = owned_by(Enterprise("批量另一客户", 922), "mgr-li", "east");
  const std::string shared = "batch-shared-request-id";
  using NewCustomer = MysqlCustomerRepository::NewCustomer;
  using Item = MysqlCustomerRepository::CreateCommit::Item;
  auto run = [&](std::vector<NewCustomer> requests) {
    std::vector<Item> items;
    for (const NewCustomer& r : requests) items.push_back(Item{r});
    std::vector<Item*> batch;
    for (Item& item : items) batch.push_back(&item);
    repo.CreateCustomers(absl::MakeSpan(batch));
    std::vector<std::string> names;
    for (const Item& item : items) {
      names.push_back(item.result.ok() ? item.result->name() : item.result.status().ToString());
    }
    return names;
  };

  const std::vector<std::string> first =
      run({{deadline, lis, shared, li}, {deadline, zhaos, shared, zhao}, {deadline, lis, shared, li}});
  ASSERT_EQ(first[0].rfind("customers/", 0), 0u) << first[0];
  ASSERT_EQ(first[1].rfind("customers/", 0), 0u) << first[1];
  EXPECT_NE(first[1], first[0]);
  EXPECT_EQ(first[2], first[0]);
  auto zhaos_read = Get(first[1], Role::kManager, "mgr-zhao", "west");
  ASSERT_TRUE(zhaos_read.ok()) << zhaos_read.status();
  EXPECT_EQ(zhaos_read->display_name(), zhaos.display_name());

  const std::vector<std::string> retried =
      run({{deadline, zhaos, shared, zhao}, {deadline, other, "batch-other", li}, {deadline, lis, shared, li}});
  EXPECT_EQ(retried[0], first[1]);
  EXPECT_EQ(retried[2], first[0]);
  pb::ListCustomersRequest all;
  auto listed = List(all, Role::kAdmin, "admin");
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_THAT(listed->customers(), SizeIs(3));
}

// GetCustomer's read batching: one batch answers every read as a lone read
// would — each its own row, a missing id NOT_FOUND, an id read twice in the
// batch both times, an expired read DEADLINE_EXCEEDED — and a batch whose
// size is not a power of two pads its IN list without changing an answer.
TEST_F(CustomersIntegrationTest, ABatchOfReadsAnswersEachReadAsAloneReadWould) {
  std::vector<pb::Customer> created;
  for (int i = 0; i < 3; ++i) {
    pb::Customer c = Enterprise(absl::StrCat("批量读取", i), 930 + i);
    c.set_owner("mgr-li");
    auto made = Create(c);
    ASSERT_TRUE(made.ok()) << made.status();
    created.push_back(*made);
  }
  db::ConnectionPool pool(db_->config());
  MysqlCustomerRepository repo(pool);
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  const auto id_of = [](const pb::Customer& c) {
    int64_t id = 0;
    EXPECT_TRUE(absl::SimpleAtoi(absl::string_view(c.name()).substr(10), &id)) << c.name();
    return id;
  };
  const int64_t missing = id_of(created[2]) + 1000;
  using Read = MysqlCustomerRepository::CustomerRead;
  using Item = MysqlCustomerRepository::ReadBatch::Item;
  const Read reads[] = {{deadline, id_of(created[1])},
                        {deadline, missing},
                        {deadline, id_of(created[0])},
                        {absl::Now() - absl::Seconds(1), id_of(created[2])},
                        {deadline, id_of(created[1])},
                        {deadline, id_of(created[2])}};
  std::vector<Item> items;
  for (const Read& r : reads) items.push_back(Item{r});
  std::vector<Item*> batch;
  for (Item& item : items) batch.push_back(&item);

  repo.GetCustomers(absl::MakeSpan(batch));

  const auto expect_read = [&](const Item& item, const pb::Customer& want) {
    ASSERT_TRUE(item.result.ok()) << item.result.status();
    auto alone = Get(want.name());
    ASSERT_TRUE(alone.ok()) << alone.status();
    google::protobuf::util::MessageDifferencer differ;
    std::string diff;
    differ.ReportDifferencesToString(&diff);
    EXPECT_TRUE(differ.Compare(*alone, *item.result)) << diff;
  };
  expect_read(items[0], created[1]);
  EXPECT_THAT(items[1].result, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_NE(items[1].result.status().message().find(absl::StrCat("customers/", missing)), std::string::npos)
      << items[1].result.status();
  expect_read(items[2], created[0]);
  EXPECT_THAT(items[3].result, StatusIs(absl::StatusCode::kDeadlineExceeded));
  expect_read(items[4], created[1]);
  expect_read(items[5], created[2]);
}

}  // namespace
}  // namespace crm::customers
