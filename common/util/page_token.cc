#include "common/util/page_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status/status.h"

namespace crm {
namespace {
constexpr size_t kMacBytes = 16;  // truncated HMAC-SHA256: 128 bits is plenty here
}  // namespace

std::string PageTokenCodec::Sign(absl::string_view payload) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), mac, &mac_len);
  return std::string(reinterpret_cast<const char*>(mac), kMacBytes);
}

std::string PageTokenCodec::Encode(absl::string_view query, absl::string_view cursor) const {
  std::string mac = Sign(absl::StrCat(query, absl::string_view("\0", 1), cursor));
  return absl::WebSafeBase64Escape(absl::StrCat(mac, cursor));
}

absl::StatusOr<std::string> PageTokenCodec::Decode(absl::string_view query,
                                                   absl::string_view token) const {
  if (token.empty()) return std::string();
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw) || raw.size() < kMacBytes) {
    return InvalidField("page_token", "malformed page token");
  }
  std::string cursor = raw.substr(kMacBytes);
  std::string expected = Sign(absl::StrCat(query, absl::string_view("\0", 1), cursor));
  if (CRYPTO_memcmp(expected.data(), raw.data(), kMacBytes) != 0) {
    return InvalidField("page_token",
                        "page token was altered or belongs to a different query");
  }
  return cursor;
}

absl::StatusOr<int> EffectivePageSize(int requested, int default_size, int max_size) {
  if (requested < 0) return InvalidField("page_size", "must not be negative");
  if (requested == 0) return default_size;
  return std::min(requested, max_size);
}

}  // namespace crm
