#include "common/testing/bad_input.h"

#include <grpcpp/generic/generic_stub.h>

#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "common/db/sql.h"
#include "common/status/grpc_status.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace crm::testing {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

std::unique_ptr<Message> Copy(const Message& m) {
  std::unique_ptr<Message> copy(m.New());
  copy->CopyFrom(m);
  return copy;
}

// The message holding the last segment of `path` and that field, or a
// test failure (a typo in a table must not pass silently).
std::pair<Message*, const FieldDescriptor*> Resolve(Message& root, const std::string& path) {
  Message* m = &root;
  const std::vector<std::string> parts = absl::StrSplit(path, '.');
  for (size_t i = 0; i < parts.size(); ++i) {
    const FieldDescriptor* f = m->GetDescriptor()->FindFieldByName(parts[i]);
    if (f == nullptr || f->is_repeated()) {
      ADD_FAILURE() << root.GetDescriptor()->full_name() << " has no singular field " << path;
      return {nullptr, nullptr};
    }
    if (i + 1 == parts.size()) return {m, f};
    if (f->type() != FieldDescriptor::TYPE_MESSAGE) {
      ADD_FAILURE() << path << ": " << parts[i] << " is not a message";
      return {nullptr, nullptr};
    }
    m = m->GetReflection()->MutableMessage(m, f);
  }
  return {nullptr, nullptr};
}

}  // namespace

BadInputTable::BadInputTable(const std::string& service)
    : service_(google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service)) {
  if (service_ == nullptr) ADD_FAILURE() << "no service " << service << " linked in";
}

BadInputTable& BadInputTable::AddRequest(std::string name, const std::string& rpc, const Message& request,
                                         grpc::StatusCode code, std::string field) {
  const google::protobuf::MethodDescriptor* method = service_ ? service_->FindMethodByName(rpc) : nullptr;
  if (method == nullptr || method->input_type() != request.GetDescriptor()) {
    ADD_FAILURE() << name << ": no rpc " << rpc << " taking " << request.GetDescriptor()->full_name();
    return *this;
  }
  std::string bytes = request.SerializeAsString();
  // Same length, so every enclosing length prefix stays right; 0xC0 0xAF is
  // an overlong "/", which no UTF-8 decoder may accept.
  const std::string marker = kInvalidUtf8;
  for (size_t at = bytes.find(marker); at != std::string::npos; at = bytes.find(marker, at)) {
    bytes[at] = '\xC0';
    bytes[at + 1] = '\xAF';
  }
  rows_.push_back({std::move(name), absl::StrCat("/", service_->full_name(), "/", rpc), std::move(bytes), code,
                   std::move(field)});
  return *this;
}

BadInputTable& BadInputTable::AddString(std::string name, const std::string& rpc, const Message& valid,
                                        const std::string& path, const std::string& value, grpc::StatusCode code,
                                        std::string field) {
  std::unique_ptr<Message> request = Copy(valid);
  auto [m, f] = Resolve(*request, path);
  if (f == nullptr) return *this;
  if (f->type() != FieldDescriptor::TYPE_STRING) {
    ADD_FAILURE() << path << " is not a string";
    return *this;
  }
  m->GetReflection()->SetString(m, f, value);
  return AddRequest(std::move(name), rpc, *request, code, std::move(field));
}

BadInputTable& BadInputTable::AddTooLong(const std::string& rpc, const Message& valid, const std::string& path,
                                         size_t max_bytes, const std::string& field) {
  return AddString(absl::StrCat(path, " of ", max_bytes + 1, " bytes"), rpc, valid, path,
                   std::string(max_bytes + 1, 'x'), grpc::StatusCode::INVALID_ARGUMENT,
                   field.empty() ? path : field);
}

BadInputTable& BadInputTable::AddUnknownEnum(const std::string& rpc, const Message& valid, const std::string& path,
                                             const std::string& field) {
  std::unique_ptr<Message> request = Copy(valid);
  auto [m, f] = Resolve(*request, path);
  if (f == nullptr) return *this;
  if (f->type() != FieldDescriptor::TYPE_ENUM) {
    ADD_FAILURE() << path << " is not an enum";
    return *this;
  }
  m->GetReflection()->SetEnumValue(m, f, 999);
  return AddRequest(absl::StrCat(path, " = 999"), rpc, *request, grpc::StatusCode::INVALID_ARGUMENT,
                    field.empty() ? path : field);
}

BadInputTable& BadInputTable::AddBadNames(const std::string& rpc, const Message& valid, const std::string& path,
                                          const std::string& name, bool optional) {
  const size_t slash = name.rfind('/');
  const std::string parent = name.substr(0, slash + 1);  // "customers/12/contacts/"
  const std::string id = name.substr(slash + 1);
  for (const std::string& bad :
       {std::string(), parent + "abc", parent + "-1", parent + "0", parent + "+" + id, parent + "0" + id,
        parent + " " + id, parent + id + " ", parent + "99999999999999999999", name + "/extra", "x" + name,
        parent}) {
    if (optional && bad.empty()) continue;
    AddString(absl::StrCat(path, " \"", bad, "\""), rpc, valid, path, bad, grpc::StatusCode::INVALID_ARGUMENT,
              path);
  }
  return *this;
}

BadInputTable& BadInputTable::AddBadPaging(const std::string& rpc, const Message& valid,
                                           const std::string& foreign_token, const std::string& prefix) {
  std::unique_ptr<Message> request = Copy(valid);
  auto [m, f] = Resolve(*request, prefix + "page_size");
  if (f != nullptr) {
    m->GetReflection()->SetInt32(m, f, -1);
    AddRequest(prefix + "page_size -1", rpc, *request, grpc::StatusCode::INVALID_ARGUMENT, prefix + "page_size");
  }
  AddString(prefix + "page_token garbage", rpc, valid, prefix + "page_token", "not-a-page-token!",
            grpc::StatusCode::INVALID_ARGUMENT, prefix + "page_token");
  return AddString(prefix + "page_token of another query", rpc, valid, prefix + "page_token", foreign_token,
                   grpc::StatusCode::INVALID_ARGUMENT, prefix + "page_token");
}

BadInputTable& BadInputTable::AddInvalidUtf8(const std::string& rpc, const Message& valid, const std::string& path) {
  return AddString(path + " invalid UTF-8", rpc, valid, path, kInvalidUtf8, grpc::StatusCode::INVALID_ARGUMENT, path);
}

BadInputTable& BadInputTable::AddOversize(const std::string& rpc, const Message& valid, const std::string& path) {
  return AddString(absl::StrCat(path, " of ", kOversizeBytes, " bytes"), rpc, valid, path,
                   std::string(kOversizeBytes, 'x'), grpc::StatusCode::RESOURCE_EXHAUSTED, "");
}

void BadInputTable::ExpectAllRefused(const std::shared_ptr<grpc::Channel>& channel,
                                     const std::function<std::unique_ptr<grpc::ClientContext>()>& context) const {
  grpc::GenericStub stub(channel);
  std::cout << "[ bad input ] " << rows_.size() << " rows to " << service_->full_name() << std::endl;
  for (const BadInputRow& row : rows_) {
    SCOPED_TRACE(absl::StrCat("row \"", row.name, "\" (", row.method, ")"));
    grpc::Slice slice(row.request);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    grpc::Status status;
    absl::Notification done;
    std::unique_ptr<grpc::ClientContext> ctx = context();
    stub.UnaryCall(ctx.get(), row.method, grpc::StubOptions(), &request, &response, [&](grpc::Status s) {
      status = std::move(s);
      done.Notify();
    });
    done.WaitForNotification();  // bounded by the context's deadline
    const absl::Status got = FromGrpcStatus(status);
    if (row.code == grpc::StatusCode::INVALID_ARGUMENT) {
      EXPECT_THAT(got, HasFieldViolation(row.field));
    } else {
      EXPECT_THAT(got, StatusIs(static_cast<absl::StatusCode>(row.code)));
      if (!row.field.empty()) {
        EXPECT_THAT(std::string(got.message()), ::testing::HasSubstr(row.field));
      }
    }
  }
}

absl::StatusOr<std::map<std::string, std::string>> DatabaseDigest(db::ConnectionPool& pool) {
  auto lease = pool.Acquire(absl::Now() + absl::Seconds(10));
  if (!lease.ok()) return lease.status();
  try {
    std::vector<std::string> tables;
    for (auto rs = db::Query(lease->get(), "SHOW TABLES"); rs->next();) tables.push_back(rs->getString(1));
    std::map<std::string, std::string> digest;
    for (const std::string& table : tables) {
      auto count = db::Query(lease->get(), absl::StrCat("SELECT COUNT(*) FROM `", table, "`"));
      auto checksum = db::Query(lease->get(), absl::StrCat("CHECKSUM TABLE `", table, "`"));
      if (!count->next() || !checksum->next()) return absl::InternalError(absl::StrCat("cannot digest ", table));
      digest[table] = absl::StrCat(count->getInt64(1), " rows, checksum ", std::string(checksum->getString(2)));
    }
    return digest;
  } catch (const std::exception& e) {
    return absl::InternalError(e.what());
  }
}

void ExpectAllRefusedChangingNothing(const BadInputTable& table, const std::shared_ptr<grpc::Channel>& channel,
                                     const std::function<std::unique_ptr<grpc::ClientContext>()>& context,
                                     const std::vector<db::ConnectionPool*>& pools) {
  std::vector<std::map<std::string, std::string>> before;
  for (db::ConnectionPool* pool : pools) {
    auto digest = DatabaseDigest(*pool);
    ASSERT_THAT(digest, IsOk());
    EXPECT_EQ(digest->count("event_outbox"), 1u) << "the outbox is compared too";
    before.push_back(*std::move(digest));
  }
  table.ExpectAllRefused(channel, context);
  for (size_t i = 0; i < pools.size(); ++i) {
    auto after = DatabaseDigest(*pools[i]);
    ASSERT_THAT(after, IsOk());
    EXPECT_EQ(*after, before[i]) << "a refused request wrote to database " << i;
  }
}

}  // namespace crm::testing
