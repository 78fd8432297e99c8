#pragma once
// Table-driven bad-input tests (each service's <svc>_bad_input_test.cc).
// A row is a valid request changed by a small lambda (or by one of the
// shortcuts below, which reach fields by their dotted path through
// reflection); the table sends every row as raw bytes through a generic
// stub, so a row can carry what a typed stub would never send (invalid
// UTF-8 in a string field) and oversize messages meet the server's real
// limit. Each row must be refused with its code and, for INVALID_ARGUMENT,
// a google.rpc.BadRequest naming its field. DatabaseDigest() is the
// "changes nothing" check: compare it before and after the table.

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "absl/status/statusor.h"
#include "common/db/pool.h"

namespace crm::testing {

// Put this in a string field: the row's serialized request gets invalid
// UTF-8 (an overlong encoding) of the same length in its place. Protobuf
// refuses to serialize-then-parse such a proto3 string, so it cannot be set
// directly on a typed request.
inline constexpr char kInvalidUtf8[] = "<<not-utf-8>>";

// Larger than the servers' default --max_message_bytes (8 MiB).
inline constexpr size_t kOversizeBytes = 8 * 1024 * 1024 + 1024;

// Beyond 9999-12-31, the last instant a google.protobuf.Timestamp may hold.
inline constexpr int64_t kYear10000 = 253402300800;

struct BadInputRow {
  std::string name;
  std::string method;   // "/crm.customers.v1.CustomerService/CreateCustomer"
  std::string request;  // the request on the wire
  grpc::StatusCode code;
  std::string field;  // the field violation expected with INVALID_ARGUMENT
};

class BadInputTable {
 public:
  // `service` is the fully qualified service name, e.g. "crm.customers.v1.CustomerService".
  explicit BadInputTable(const std::string& service);

  // A row: `valid` changed by `mutate`, sent to `rpc`, refused with
  // INVALID_ARGUMENT naming `field`.
  template <typename Request, typename Mutate>
  BadInputTable& Add(std::string name, const std::string& rpc, Request valid, Mutate mutate, std::string field) {
    mutate(valid);
    return AddRequest(std::move(name), rpc, valid, grpc::StatusCode::INVALID_ARGUMENT, std::move(field));
  }
  // A row refused with another code; `message_part` (if any) must appear
  // in the status message.
  template <typename Request, typename Mutate>
  BadInputTable& AddWithCode(std::string name, const std::string& rpc, Request valid, Mutate mutate,
                             grpc::StatusCode code, std::string message_part = "") {
    mutate(valid);
    return AddRequest(std::move(name), rpc, valid, code, std::move(message_part));
  }

  // Shortcuts on the field at dotted `path` of `valid` (messages on the way
  // are created); the expected violation is `path` unless `field` is given.
  //
  // The string one byte longer than `max_bytes`.
  BadInputTable& AddTooLong(const std::string& rpc, const google::protobuf::Message& valid, const std::string& path,
                            size_t max_bytes, const std::string& field = "");
  // Enum number 999 (proto3 keeps unknown enum numbers).
  BadInputTable& AddUnknownEnum(const std::string& rpc, const google::protobuf::Message& valid,
                                const std::string& path, const std::string& field = "");
  // Resource names that must not parse, derived from a valid `name` such
  // as "customers/12/contacts/3": empty, a non-numeric, negative, zero,
  // signed, zero-padded, space-padded or overflowing last id, an extra
  // segment, a misspelt collection. `optional` names (empty = all) skip
  // the empty one.
  BadInputTable& AddBadNames(const std::string& rpc, const google::protobuf::Message& valid, const std::string& path,
                             const std::string& name, bool optional = false);
  // page_size -1, a garbage page_token and `foreign_token` (a genuine token
  // of another query), on fields page_size/page_token at `prefix`.
  BadInputTable& AddBadPaging(const std::string& rpc, const google::protobuf::Message& valid,
                              const std::string& foreign_token, const std::string& prefix = "");
  // Invalid UTF-8 in the string at `path`: protobuf refuses to parse the
  // request before any handler runs, and common/server's parse-error
  // interceptor answers INVALID_ARGUMENT naming `path`.
  BadInputTable& AddInvalidUtf8(const std::string& rpc, const google::protobuf::Message& valid,
                                const std::string& path);
  // A string of kOversizeBytes at `path`: RESOURCE_EXHAUSTED from the
  // server's message size limit, before any handler runs.
  BadInputTable& AddOversize(const std::string& rpc, const google::protobuf::Message& valid, const std::string& path);

  const std::vector<BadInputRow>& rows() const { return rows_; }

  // Sends every row over `channel` (each with a fresh context from
  // `context`) and expects its refusal; a failure names the row.
  void ExpectAllRefused(const std::shared_ptr<grpc::Channel>& channel,
                        const std::function<std::unique_ptr<grpc::ClientContext>()>& context) const;

 private:
  BadInputTable& AddRequest(std::string name, const std::string& rpc, const google::protobuf::Message& request,
                            grpc::StatusCode code, std::string field);
  // A copy of `valid` with the string at `path` set to `value`.
  BadInputTable& AddString(std::string name, const std::string& rpc, const google::protobuf::Message& valid,
                           const std::string& path, const std::string& value, grpc::StatusCode code,
                           std::string field);

  const google::protobuf::ServiceDescriptor* service_;
  std::vector<BadInputRow> rows_;
};

// Every table of the connected database with its row count and CHECKSUM
// TABLE value: equal digests before and after mean no row was written.
absl::StatusOr<std::map<std::string, std::string>> DatabaseDigest(db::ConnectionPool& pool);

// table.ExpectAllRefused(channel, context) with every database of `pools`
// digested before and after: all must be unchanged. Each database must
// have an event_outbox, so the outbox is compared too.
void ExpectAllRefusedChangingNothing(const BadInputTable& table, const std::shared_ptr<grpc::Channel>& channel,
                                     const std::function<std::unique_ptr<grpc::ClientContext>()>& context,
                                     const std::vector<db::ConnectionPool*>& pools);

}  // namespace crm::testing
