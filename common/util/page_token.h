#pragma once
// Opaque page tokens (AIP-158). A token carries the cursor of the last row
// returned plus a fingerprint of the query it belongs to, signed with
// HMAC-SHA256 so a client can neither forge a cursor nor reuse a token with
// different filters: either is INVALID_ARGUMENT on "page_token".

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace crm {

class PageTokenCodec {
 public:
  explicit PageTokenCodec(std::string key) : key_(std::move(key)) {}

  // `query` identifies the listing (method + filters); `cursor` is opaque to
  // the codec (e.g. the last id).
  std::string Encode(absl::string_view query, absl::string_view cursor) const;
  // An empty token means "first page" and decodes to an empty cursor.
  absl::StatusOr<std::string> Decode(absl::string_view query, absl::string_view token) const;

 private:
  std::string Sign(absl::string_view payload) const;
  std::string key_;
};

// Page size rule shared by every List RPC: 0 → default, capped at max,
// negative → INVALID_ARGUMENT on "page_size".
absl::StatusOr<int> EffectivePageSize(int requested, int default_size = 50, int max_size = 500);

}  // namespace crm
