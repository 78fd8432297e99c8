#include "common/auth/token_verifier.h"

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cmath>
#include <cstdlib>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

// Thread safety, checked for Debian 12's libjwt 1.10.2: the library has no
// mutable globals (its .data/.bss hold only the C runtime's 16 bytes) and
// each call owns its jwt_t; the key is only read. OpenSSL 3 is thread-safe,
// and jansson 2.14 seeds its hash once with an atomic test-and-set (we also
// trigger that in Create, before server threads start). So verification
// takes no lock (only the cache of verified tokens has one);
// token_verifier_test runs it from several threads at once.

namespace crm::auth {
namespace {

// Larger than any token we issue by far; refuses abuse before parsing.
constexpr size_t kMaxTokenBytes = 8 * 1024;
constexpr size_t kMinHmacKeyBytes = 32;
constexpr int kMinRsaBits = 2048;
// Distinct live tokens remembered; a service sees a few per user per hour.
// When full the cache starts over, which bounds memory under a flood of
// distinct valid tokens at the price of re-verifying.
constexpr size_t kMaxCachedTokens = 4096;
// The width of the owner/team columns a principal's names are stored in.
constexpr size_t kMaxPrincipalNameBytes = 100;

using google::protobuf::Struct;
using google::protobuf::Value;

struct JwtDeleter {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtDeleter>;

// libjwt 1.10 returns malloc'd strings and has no jwt_free_str.
struct FreeDeleter {
  void operator()(char* p) const { std::free(p); }
};

absl::Status Unauthenticated(const char* reason) { return absl::UnauthenticatedError(reason); }

std::optional<Struct> ParseJsonObject(const std::string& json) {
  Struct object;
  if (!google::protobuf::util::JsonStringToMessage(json, &object).ok()) return std::nullopt;
  return object;
}

const Value* Field(const Struct& object, const std::string& name) {
  auto it = object.fields().find(name);
  return it == object.fields().end() ? nullptr : &it->second;
}

// RFC 7519 NumericDate: seconds since the epoch, integer or not.
std::optional<absl::Time> NumericDate(const Value& value) {
  if (value.kind_case() != Value::kNumberValue || !std::isfinite(value.number_value())) {
    return std::nullopt;
  }
  return absl::UnixEpoch() + absl::Seconds(value.number_value());
}

bool AudienceMatches(const Value& aud, const std::string& audience) {
  if (aud.kind_case() == Value::kStringValue) return aud.string_value() == audience;
  if (aud.kind_case() != Value::kListValue) return false;
  for (const Value& v : aud.list_value().values()) {
    if (v.kind_case() == Value::kStringValue && v.string_value() == audience) return true;
  }
  return false;
}

absl::Status CheckRsaPublicKey(const std::string& pem) {
  // The same parser libjwt uses, so a key accepted here is usable there
  // (only SubjectPublicKeyInfo "BEGIN PUBLIC KEY" PEM, not PKCS#1).
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  if (!bio) return absl::InternalError("out of memory reading the RS256 public key");
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  if (!key) {
    return absl::InvalidArgumentError(
        "rs256_public_key_pem is not a PEM public key (\"BEGIN PUBLIC KEY\")");
  }
  if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) {
    return absl::InvalidArgumentError("rs256_public_key_pem is not an RSA key");
  }
  if (EVP_PKEY_get_bits(key.get()) < kMinRsaBits) {
    return absl::InvalidArgumentError(
        absl::StrCat("rs256_public_key_pem is shorter than ", kMinRsaBits, " bits"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<TokenVerifier>> TokenVerifier::Create(AuthConfig config,
                                                                     const crm::Clock& clock) {
  const bool has_hmac = !config.hs256_key.empty();
  const bool has_rsa = !config.rs256_public_key_pem.empty();
  if (has_hmac == has_rsa) {
    return absl::InvalidArgumentError(
        "exactly one of hs256_key and rs256_public_key_pem must be set");
  }
  // One algorithm for every key: pinning it is what stops a token from
  // choosing how it is checked.
  std::vector<std::string> keys = {has_hmac ? config.hs256_key : config.rs256_public_key_pem};
  keys.insert(keys.end(), config.rollover_keys.begin(), config.rollover_keys.end());
  if (keys.size() > kMaxKeys) {
    return absl::InvalidArgumentError(absl::StrCat("at most ", kMaxKeys, " verification keys"));
  }
  for (const std::string& key : keys) {
    if (has_hmac && key.size() < kMinHmacKeyBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("hs256_key must be at least ", kMinHmacKeyBytes, " bytes"));
    }
    // A PEM file given as an HMAC secret is a mix-up, and a dangerous one
    // when it is a public key: anyone holding it could sign tokens.
    if (has_hmac && absl::StrContains(key, "-----BEGIN ")) {
      return absl::InvalidArgumentError("hs256_key is a PEM document, not an HMAC secret");
    }
    if (has_rsa) {
      if (absl::Status s = CheckRsaPublicKey(key); !s.ok()) return s;
    }
  }
  if (config.issuer.empty()) return absl::InvalidArgumentError("issuer must be set");
  if (config.audience.empty()) return absl::InvalidArgumentError("audience must be set");
  if (config.leeway < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("leeway must not be negative");
  }

  // Creating one jwt_t makes jansson seed its hash function now, while
  // start-up is still single-threaded.
  jwt_t* warm_up = nullptr;
  if (jwt_new(&warm_up) != 0) return absl::InternalError("libjwt could not allocate");
  jwt_free(warm_up);

  const Algorithm algorithm = has_hmac ? Algorithm::kHs256 : Algorithm::kRs256;
  return std::unique_ptr<TokenVerifier>(
      new TokenVerifier(std::move(config), algorithm, std::move(keys), clock));
}

TokenVerifier::TokenVerifier(AuthConfig config, Algorithm algorithm, std::vector<std::string> keys,
                             const crm::Clock& clock)
    : config_(std::move(config)), algorithm_(algorithm), keys_(std::move(keys)), clock_(clock) {}

absl::StatusOr<Principal> TokenVerifier::Verify(std::string_view token) const {
  const std::string key(token);
  {
    absl::ReaderMutexLock lock(&cache_mu_);
    if (auto it = cache_.find(key); it != cache_.end()) {
      if (absl::Status window = CheckTimeWindow(it->second); !window.ok()) return window;
      return it->second.principal;
    }
  }
  absl::StatusOr<VerifiedToken> verified = VerifySignatureAndClaims(token);
  if (!verified.ok()) return verified.status();
  if (absl::Status window = CheckTimeWindow(*verified); !window.ok()) return window;
  {
    absl::MutexLock lock(&cache_mu_);
    if (cache_.size() >= kMaxCachedTokens) cache_.clear();
    cache_.emplace(key, *verified);
  }
  return verified->principal;
}

absl::Status TokenVerifier::CheckTimeWindow(const VerifiedToken& verified) const {
  const absl::Time now = clock_.Now();
  if (now >= verified.expires + config_.leeway) return Unauthenticated("token expired");
  if (now + config_.leeway < verified.not_before) return Unauthenticated("token not yet valid");
  return absl::OkStatus();
}

absl::StatusOr<TokenVerifier::VerifiedToken> TokenVerifier::VerifySignatureAndClaims(
    std::string_view token) const {
  if (token.empty()) return Unauthenticated("empty token");
  if (token.size() > kMaxTokenBytes) return Unauthenticated("token too long");

  // Debian's Abseil is built without std::string_view support.
  const std::vector<absl::string_view> parts =
      absl::StrSplit(absl::string_view(token.data(), token.size()), '.');
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty()) {
    return Unauthenticated("malformed token");
  }
  if (parts[2].empty()) return Unauthenticated("unsigned token");

  // Check the algorithm before libjwt sees the token: libjwt 1.10 takes it
  // from the header, so an HS256 token "signed" with our RSA public key as
  // the HMAC secret would otherwise verify (algorithm confusion), and with
  // no key it accepts alg "none".
  const std::string_view expected_alg = algorithm_ == Algorithm::kHs256 ? "HS256" : "RS256";
  std::string header_json;
  if (!absl::WebSafeBase64Unescape(parts[0], &header_json)) {
    return Unauthenticated("malformed token header");
  }
  const std::optional<Struct> header = ParseJsonObject(header_json);
  if (!header) return Unauthenticated("malformed token header");
  const Value* alg = Field(*header, "alg");
  if (alg == nullptr || alg->kind_case() != Value::kStringValue ||
      alg->string_value() != expected_alg) {
    return Unauthenticated("unsupported token algorithm");
  }
  // RFC 7515 §4.1.11: extensions we do not understand must be refused.
  if (Field(*header, "crit") != nullptr) return Unauthenticated("unsupported token header");

  const std::string token_z(token);  // libjwt wants a NUL-terminated string
  JwtPtr jwt;
  for (const std::string& key : keys_) {
    jwt_t* raw = nullptr;
    const int rc = jwt_decode(&raw, token_z.c_str(), reinterpret_cast<const unsigned char*>(key.data()),
                              static_cast<int>(key.size()));
    jwt.reset(raw);
    if (rc == 0 && jwt) break;
    jwt.reset();
  }
  if (!jwt) return Unauthenticated("invalid token signature");
  // Our JSON parser and libjwt's must agree on the algorithm (they could
  // differ on a header with a duplicated "alg").
  const char* verified_alg = jwt_alg_str(jwt_get_alg(jwt.get()));
  if (verified_alg == nullptr || verified_alg != expected_alg) {
    return Unauthenticated("unsupported token algorithm");
  }

  // Read the verified claims as JSON: jwt_get_grant_int cannot tell a
  // missing claim from a string one, nor read a non-integer NumericDate.
  std::unique_ptr<char, FreeDeleter> claims_json(jwt_get_grants_json(jwt.get(), nullptr));
  if (!claims_json) return Unauthenticated("malformed token claims");
  const std::optional<Struct> claims = ParseJsonObject(claims_json.get());
  if (!claims) return Unauthenticated("malformed token claims");

  const Value* iss = Field(*claims, "iss");
  if (iss == nullptr || iss->kind_case() != Value::kStringValue ||
      iss->string_value() != config_.issuer) {
    return Unauthenticated("wrong token issuer");
  }
  const Value* aud = Field(*claims, "aud");
  if (aud == nullptr || !AudienceMatches(*aud, config_.audience)) {
    return Unauthenticated("wrong token audience");
  }

  VerifiedToken verified;
  const Value* exp_claim = Field(*claims, "exp");
  if (exp_claim == nullptr) return Unauthenticated("token has no expiry");
  const std::optional<absl::Time> exp = NumericDate(*exp_claim);
  if (!exp) return Unauthenticated("malformed token expiry");
  verified.expires = *exp;
  verified.not_before = absl::InfinitePast();
  if (const Value* nbf_claim = Field(*claims, "nbf"); nbf_claim != nullptr) {
    const std::optional<absl::Time> nbf = NumericDate(*nbf_claim);
    if (!nbf) return Unauthenticated("malformed token not-before");
    verified.not_before = *nbf;
  }

  Principal& principal = verified.principal;
  const Value* sub = Field(*claims, "sub");
  if (sub == nullptr || sub->kind_case() != Value::kStringValue || sub->string_value().empty()) {
    return Unauthenticated("token has no subject");
  }
  // Subjects and teams are stored as owners, authors and idempotency
  // callers in columns of 100 characters: a longer one could only fail
  // deep inside a write.
  if (sub->string_value().size() > kMaxPrincipalNameBytes) return Unauthenticated("token subject too long");
  principal.subject = sub->string_value();
  const Value* role_claim = Field(*claims, "role");
  std::optional<Role> role;
  if (role_claim != nullptr && role_claim->kind_case() == Value::kStringValue) {
    role = ParseRole(role_claim->string_value());
  }
  if (!role) return Unauthenticated("token has no valid role");
  principal.role = *role;
  if (const Value* team = Field(*claims, "team"); team != nullptr) {
    if (team->kind_case() != Value::kStringValue) return Unauthenticated("malformed token team");
    if (team->string_value().size() > kMaxPrincipalNameBytes) return Unauthenticated("token team too long");
    principal.team = team->string_value();
  }
  return verified;
}

}  // namespace crm::auth
