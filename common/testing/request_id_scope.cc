#include "common/testing/request_id_scope.h"

#include "absl/strings/ascii.h"
#include "gtest/gtest.h"

namespace crm::testing {

void ExpectRequestIdScopedToCaller(const IdempotentCreate& c, const std::string& first, const std::string& second,
                                   const std::string& request_id) {
  SCOPED_TRACE("request id " + request_id + " used by " + first + " then " + second);
  const int64_t before = c.count();
  const absl::StatusOr<std::string> a = c.create(first, request_id);
  ASSERT_TRUE(a.ok()) << a.status();
  const absl::StatusOr<std::string> a_as_created = c.read(first, *a);
  ASSERT_TRUE(a_as_created.ok()) << a_as_created.status();

  const absl::StatusOr<std::string> b = c.create(second, request_id);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_NE(*b, *a) << second << " was handed " << first << "'s resource";
  EXPECT_TRUE(c.read(second, *b).ok()) << second << " cannot read what it created";
  const absl::StatusOr<std::string> a_now = c.read(first, *a);
  ASSERT_TRUE(a_now.ok()) << a_now.status();
  EXPECT_EQ(*a_now, *a_as_created) << first << "'s resource changed";
  EXPECT_EQ(c.count(), before + 2);

  const absl::StatusOr<std::string> a_retry = c.create(first, request_id);
  ASSERT_TRUE(a_retry.ok()) << a_retry.status();
  EXPECT_EQ(*a_retry, *a);
  const absl::StatusOr<std::string> b_retry = c.create(second, request_id);
  ASSERT_TRUE(b_retry.ok()) << b_retry.status();
  EXPECT_EQ(*b_retry, *b);
  EXPECT_EQ(c.count(), before + 2) << "a retry made a new resource";

  // Request ids are compared byte for byte: the same id in another case is
  // another request, never a replay of the first (it may still be refused
  // by the resource's own rules, e.g. one expense claim per month).
  std::string other_case = request_id;
  for (char& ch : other_case) ch = absl::ascii_isupper(ch) ? absl::ascii_tolower(ch) : absl::ascii_toupper(ch);
  ASSERT_NE(other_case, request_id) << "the request id needs a letter";
  const absl::StatusOr<std::string> a_other_case = c.create(first, other_case);
  if (a_other_case.ok()) {
    EXPECT_NE(*a_other_case, *a) << "\"" << other_case << "\" replayed \"" << request_id << "\"";
  }
}

}  // namespace crm::testing
