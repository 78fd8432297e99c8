// Token keys and secrets on the real crm-customers binary, configured by
// environment like a container: a key rollover (two verification keys at
// once, then the old one removed with a restart), key lists that must stop
// start-up, and secrets that must stay out of start-up errors, logs and
// the errors clients get.

#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/wait.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/status/grpc_status.h"
#include "common/testing/status_matchers.h"
#include "crm/customers/v1/customers.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/service_process.h"
#include "tests/security/secret_scan.h"

namespace crm {
namespace {

namespace cpb = ::crm::customers::v1;
using crm::testing::E2eToken;
using crm::testing::IsOk;
using crm::testing::kE2eKey;
using crm::testing::ServiceProcess;
using crm::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const auth::Principal kManager{"mgr-keys", auth::Role::kManager, "east"};

class KeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto service = ServiceProcess::Create("customers", CRM_CUSTOMERS_BINARY);
    ASSERT_THAT(service, IsOk());
    service_ = *std::move(service);
  }
  void TearDown() override {
    for (const std::string& f : files_) std::remove(f.c_str());
  }

  std::string KeyFile(const std::string& name, const std::string& key) {
    const std::string path = absl::StrCat(::testing::TempDir(), "keys-test-", getpid(), "-", name);
    EXPECT_TRUE(secret_scan::WriteFile(path, key));
    files_.push_back(path);
    return path;
  }

  // ListCustomers with `authorization` as the metadata value.
  absl::Status List(const std::string& authorization) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", authorization);
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    cpb::ListCustomersResponse out;
    const grpc::Status s =
        cpb::CustomerService::NewStub(service_->channel())->ListCustomers(&ctx, cpb::ListCustomersRequest(), &out);
    if (!s.ok()) errors_.push_back(s.error_message());
    return FromGrpcStatus(s);
  }

  std::unique_ptr<ServiceProcess> service_;
  std::vector<std::string> files_;
  std::vector<std::string> errors_;
};

TEST_F(KeysTest, RolloverAcceptsOldAndNewKeyThenTheOldOneIsRemoved) {
  const std::string new_key = secret_scan::RandomSecret("new-hs256-key");
  const std::string third_key = secret_scan::RandomSecret("third-hs256-key");
  // Step 2 of a rollover: the new key signs, the old one still verifies.
  service_->env()["CRM_JWT_HS256_KEY_FILE"] = absl::StrCat(KeyFile("new.key", new_key), ",", KeyFile("old.key", kE2eKey));
  ASSERT_THAT(service_->Start(), IsOk());
  const std::string old_token = E2eToken(kManager, kE2eKey), new_token = E2eToken(kManager, new_key),
                    third_token = E2eToken(kManager, third_key);
  EXPECT_THAT(List(absl::StrCat("Bearer ", old_token)), IsOk());
  EXPECT_THAT(List(absl::StrCat("Bearer ", new_token)), IsOk());
  EXPECT_THAT(List(absl::StrCat("Bearer ", third_token)),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("signature")));

  // Step 3: the old key removed, the process restarted. The old key's
  // token, verified (and remembered) by the previous process a moment ago,
  // is refused: the cache of verified tokens lived in that process.
  const std::optional<int> stopped = service_->Stop(SIGTERM);
  ASSERT_TRUE(stopped.has_value());
  service_->env()["CRM_JWT_HS256_KEY_FILE"] = KeyFile("new-only.key", new_key);
  ASSERT_THAT(service_->Start(), IsOk());
  EXPECT_THAT(List(absl::StrCat("Bearer ", old_token)),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("signature")));
  EXPECT_THAT(List(absl::StrCat("Bearer ", new_token)), IsOk());

  // Neither key nor any token shows in the log or in what clients were told.
  std::map<std::string, std::string> texts = {{"customers log", service_->Log()}};
  for (size_t i = 0; i < errors_.size(); ++i) texts[absl::StrCat("error #", i)] = errors_[i];
  const std::vector<secret_scan::Secret> secrets = {
      {"old key", kE2eKey},
      {"new key", new_key},
      {"third key", third_key},
      {"old token's signature", old_token.substr(old_token.rfind('.') + 1)},
      {"new token's signature", new_token.substr(new_token.rfind('.') + 1)},
      {"database password", service_->database().password}};
  EXPECT_THAT(secret_scan::Leaks(secrets, texts), IsEmpty());
}

TEST_F(KeysTest, BadKeyListsStopStartUpWithoutShowingTheKeys) {
  const std::string key = secret_scan::RandomSecret("listed-hs256-key");
  const std::string file = KeyFile("listed.key", key);
  const std::string short_key = "short-secret-xyz";  // under 32 bytes
  const std::string pem = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAxyz\n-----END PUBLIC KEY-----";
  const std::map<std::string, std::string> cases = {
      {"an empty entry", absl::StrCat(file, ",")},
      {"five keys", absl::StrJoin(std::vector<std::string>(5, file), ",")},
      {"a short rollover key", absl::StrCat(file, ",", KeyFile("short.key", short_key))},
      {"a PEM public key as an HMAC secret", absl::StrCat(file, ",", KeyFile("public.pem", pem))},
      {"a missing file", absl::StrCat(file, ",", file, ".missing")},
  };
  for (const auto& [what, value] : cases) {
    SCOPED_TRACE(what);
    service_->env()["CRM_JWT_HS256_KEY_FILE"] = value;
    const std::optional<int> status = service_->RunToExit(absl::Seconds(30));
    ASSERT_TRUE(status.has_value()) << "still running";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 2) << service_->Log();
    const std::string log = service_->Log();
    EXPECT_THAT(log, ::testing::Not(IsEmpty()));
    EXPECT_THAT(secret_scan::Leaks({{"listed key", key}, {"short key", short_key}, {"PEM key", pem}},
                                   {{"start-up log", log}}),
                IsEmpty());
  }
}

// A wrong database password: the process gives up (after its start-up
// wait for the database) without printing either password.
TEST_F(KeysTest, WrongDatabasePasswordIsNotPrinted) {
  const std::string wrong = secret_scan::RandomSecret("wrong-db-password");
  service_->env()["CRM_DB_PASSWORD_FILE"] = KeyFile("wrong.password", wrong);
  const std::optional<int> status = service_->RunToExit(absl::Seconds(120));
  ASSERT_TRUE(status.has_value()) << "still running";
  EXPECT_FALSE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  const std::string log = service_->Log();
  EXPECT_THAT(log, HasSubstr("denied")) << log;  // the reason is there ...
  EXPECT_THAT(secret_scan::Leaks({{"wrong password", wrong}, {"real password", service_->database().password}},
                                 {{"start-up log", log}}),
              IsEmpty());  // ... the passwords are not
}

// Malformed and forged tokens: the client learns why, not the token back.
TEST_F(KeysTest, RefusedTokensAreNotEchoed) {
  ASSERT_THAT(service_->Start(), IsOk());
  const std::string forged = E2eToken(kManager, secret_scan::RandomSecret("forger-hs256-key"));
  const std::string garbage = absl::StrCat(secret_scan::RandomSecret("garbage"), ".", secret_scan::RandomSecret("x"));
  for (const std::string& authorization :
       {absl::StrCat("Bearer ", forged), absl::StrCat("Bearer ", garbage), absl::StrCat("Basic ", garbage)}) {
    EXPECT_THAT(List(authorization), StatusIs(absl::StatusCode::kUnauthenticated));
  }
  ASSERT_EQ(errors_.size(), 3u);
  std::map<std::string, std::string> texts = {{"customers log", service_->Log()}};
  for (size_t i = 0; i < errors_.size(); ++i) texts[absl::StrCat("error #", i)] = errors_[i];
  EXPECT_THAT(secret_scan::Leaks({{"forged token's signature", forged.substr(forged.rfind('.') + 1)},
                                  {"garbage token", garbage}},
                                 texts),
              IsEmpty());
}

}  // namespace
}  // namespace crm
