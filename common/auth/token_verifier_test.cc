#include "common/auth/token_verifier.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/substitute.h"
#include "common/auth/token_minter.h"
#include "common/testing/status_matchers.h"
#include "common/util/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::auth {
namespace {

using ::crm::testing::IsOk;
using ::crm::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::StatusCode kUnauthenticated = absl::StatusCode::kUnauthenticated;
constexpr char kKey[] = "0123456789abcdef0123456789abcdef-test-key";
constexpr char kIssuer[] = "crm-test";
constexpr char kAudience[] = "crm";

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

// ---- Hand-made tokens, independent of libjwt ----

std::string Segment(absl::string_view json) { return absl::WebSafeBase64Escape(json); }

std::string SignHs256(absl::string_view header, absl::string_view payload, absl::string_view key) {
  const std::string signing_input = absl::StrCat(Segment(header), ".", Segment(payload));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac,
       &mac_len);
  return absl::StrCat(signing_input, ".",
                      Segment(absl::string_view(reinterpret_cast<char*>(mac), mac_len)));
}

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

PkeyPtr GenerateRsaKey(size_t bits) {
  return PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", bits), &EVP_PKEY_free);
}

std::string PublicKeyPem(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  PEM_write_bio_PUBKEY(bio.get(), key);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, len);
}

std::string PrivateKeyPem(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, len);
}

std::string SignRs256(absl::string_view header, absl::string_view payload, EVP_PKEY* key) {
  const std::string signing_input = absl::StrCat(Segment(header), ".", Segment(payload));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EXPECT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key), 1);
  size_t sig_len = 0;
  const auto* tbs = reinterpret_cast<const unsigned char*>(signing_input.data());
  EXPECT_EQ(EVP_DigestSign(ctx.get(), nullptr, &sig_len, tbs, signing_input.size()), 1);
  std::string sig(sig_len, '\0');
  EXPECT_EQ(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &sig_len, tbs,
                           signing_input.size()),
            1);
  sig.resize(sig_len);
  return absl::StrCat(signing_input, ".", Segment(sig));
}

constexpr char kHs256Header[] = R"({"alg":"HS256","typ":"JWT"})";
constexpr char kRs256Header[] = R"({"alg":"RS256","typ":"JWT"})";

// Claims valid at kNow, with `extra` spliced in (or replacing nothing).
std::string Claims(absl::string_view extra = "") {
  return absl::Substitute(
      R"({"iss":"crm-test","aud":"crm","sub":"u-42","role":"SUPERVISOR","team":"north",)"
      R"("iat":$0,"exp":$1$2})",
      absl::ToUnixSeconds(kNow), absl::ToUnixSeconds(kNow + absl::Hours(1)), extra);
}

// Claims built field by field, for tests that leave one out.
std::string ClaimsWithout(absl::string_view omitted) {
  std::vector<std::string> fields = {
      R"("iss":"crm-test")", R"("aud":"crm")", R"("sub":"u-42")", R"("role":"MANAGER")",
      absl::StrCat(R"("exp":)", absl::ToUnixSeconds(kNow + absl::Hours(1)))};
  std::string out = "{";
  for (const std::string& f : fields) {
    if (absl::StrContains(f, absl::StrCat("\"", omitted, "\""))) continue;
    if (out.size() > 1) out += ",";
    out += f;
  }
  return out + "}";
}

AuthConfig Hs256Config() {
  AuthConfig config;
  config.hs256_key = kKey;
  config.issuer = kIssuer;
  config.audience = kAudience;
  return config;
}

class TokenVerifierTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_key_ = GenerateRsaKey(2048).release();
    ASSERT_NE(rsa_key_, nullptr);
  }
  static void TearDownTestSuite() { EVP_PKEY_free(rsa_key_); }

  void SetUp() override {
    auto verifier = TokenVerifier::Create(Hs256Config(), clock_);
    ASSERT_THAT(verifier, IsOk());
    hs256_ = *std::move(verifier);
  }

  std::unique_ptr<TokenVerifier> Rs256Verifier() {
    AuthConfig config = Hs256Config();
    config.hs256_key.clear();
    config.rs256_public_key_pem = PublicKeyPem(rsa_key_);
    auto verifier = TokenVerifier::Create(config, clock_);
    EXPECT_THAT(verifier, IsOk());
    return verifier.ok() ? *std::move(verifier) : nullptr;
  }

  static EVP_PKEY* rsa_key_;
  FakeClock clock_{kNow};
  std::unique_ptr<TokenVerifier> hs256_;
};

EVP_PKEY* TokenVerifierTest::rsa_key_ = nullptr;

// ---- Accepted tokens ----

TEST_F(TokenVerifierTest, ValidHs256TokenYieldsPrincipal) {
  auto principal = hs256_->Verify(SignHs256(kHs256Header, Claims(), kKey));
  ASSERT_THAT(principal, IsOk());
  EXPECT_EQ(principal->subject, "u-42");
  EXPECT_EQ(principal->role, Role::kSupervisor);
  EXPECT_EQ(principal->team, "north");
}

TEST_F(TokenVerifierTest, TeamIsOptional) {
  auto principal = hs256_->Verify(SignHs256(kHs256Header, ClaimsWithout("team"), kKey));
  ASSERT_THAT(principal, IsOk());
  EXPECT_EQ(principal->role, Role::kManager);
  EXPECT_EQ(principal->team, "");
}

TEST_F(TokenVerifierTest, OverlongSubjectOrTeamIsRefused) {
  const std::string at_limit(100, 's');
  const std::string over(101, 's');
  auto with = [&](absl::string_view sub, absl::string_view team) {
    return hs256_->Verify(SignHs256(
        kHs256Header,
        absl::Substitute(R"({"iss":"crm-test","aud":"crm","sub":"$0","role":"MANAGER","team":"$1","exp":$2})", sub,
                         team, absl::ToUnixSeconds(kNow + absl::Hours(1))),
        kKey));
  };
  EXPECT_THAT(with(at_limit, at_limit), IsOk());
  EXPECT_THAT(with(over, "north"), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(with("u-42", over), StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(TokenVerifierTest, MintedTokenVerifies) {
  const Principal in{.subject = "张三", .role = Role::kPhoneManager, .team = "华东"};
  auto token = MintHs256Token(kKey, kIssuer, kAudience, in, kNow, absl::Hours(12));
  ASSERT_THAT(token, IsOk());
  auto out = hs256_->Verify(*token);
  ASSERT_THAT(out, IsOk());
  EXPECT_EQ(out->subject, in.subject);
  EXPECT_EQ(out->role, in.role);
  EXPECT_EQ(out->team, in.team);

  // Answered from the cache of verified tokens: expiry must still apply.
  clock_.Advance(absl::Hours(12) + absl::Seconds(30));
  EXPECT_THAT(hs256_->Verify(*token), StatusIs(kUnauthenticated, HasSubstr("expired")));
}

TEST_F(TokenVerifierTest, MinterRefusesBadInput) {
  const Principal p{.subject = "u", .role = Role::kAdmin, .team = ""};
  EXPECT_THAT(MintHs256Token("short", kIssuer, kAudience, p, kNow, absl::Hours(1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MintHs256Token(kKey, kIssuer, kAudience, p, kNow, absl::ZeroDuration()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MintHs256Token(kKey, kIssuer, kAudience, Principal{}, kNow, absl::Hours(1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(TokenVerifierTest, AudienceArrayContainingOursIsAccepted) {
  const std::string claims = absl::Substitute(
      R"({"iss":"crm-test","aud":["other","crm"],"sub":"u","role":"ADMIN","exp":$0})",
      absl::ToUnixSeconds(kNow + absl::Hours(1)));
  EXPECT_THAT(hs256_->Verify(SignHs256(kHs256Header, claims, kKey)), IsOk());
}

TEST_F(TokenVerifierTest, NonIntegerExpiryIsAccepted) {
  // RFC 7519 NumericDate may carry fractions; libjwt's integer getter reads 0.
  const std::string claims = absl::Substitute(
      R"({"iss":"crm-test","aud":"crm","sub":"u","role":"SERVICE","exp":$0.5})",
      absl::ToUnixSeconds(kNow + absl::Hours(1)));
  EXPECT_THAT(hs256_->Verify(SignHs256(kHs256Header, claims, kKey)), IsOk());
}

TEST_F(TokenVerifierTest, ValidRs256TokenIsAccepted) {
  auto rs256 = Rs256Verifier();
  ASSERT_NE(rs256, nullptr);
  auto principal = rs256->Verify(SignRs256(kRs256Header, Claims(), rsa_key_));
  ASSERT_THAT(principal, IsOk());
  EXPECT_EQ(principal->subject, "u-42");
}

// ---- Signature and algorithm ----

TEST_F(TokenVerifierTest, WrongSignatureIsRefused) {
  const std::string token =
      SignHs256(kHs256Header, Claims(), "another-key-another-key-another-key");
  EXPECT_THAT(hs256_->Verify(token), StatusIs(kUnauthenticated, HasSubstr("signature")));
}

TEST_F(TokenVerifierTest, TamperedPayloadIsRefused) {
  const std::string good = SignHs256(kHs256Header, Claims(), kKey);
  // Payload changed (role MANAGER, no team), genuine signature kept.
  const std::string spliced = absl::StrCat(good.substr(0, good.find('.')), ".",
                                           Segment(ClaimsWithout("team")),
                                           good.substr(good.rfind('.')));
  EXPECT_THAT(hs256_->Verify(spliced), StatusIs(kUnauthenticated, HasSubstr("signature")));
}

TEST_F(TokenVerifierTest, AlgNoneIsRefused) {
  const std::string unsigned_token =
      absl::StrCat(Segment(R"({"alg":"none","typ":"JWT"})"), ".", Segment(Claims()), ".");
  EXPECT_THAT(hs256_->Verify(unsigned_token), StatusIs(kUnauthenticated));
  auto rs256 = Rs256Verifier();
  ASSERT_NE(rs256, nullptr);
  EXPECT_THAT(rs256->Verify(unsigned_token), StatusIs(kUnauthenticated));

  // alg "none" with a signature attached is refused too.
  const std::string hs = SignHs256(kHs256Header, Claims(), kKey);
  const std::string none_with_sig = absl::StrCat(Segment(R"({"alg":"none"})"), ".",
                                                 Segment(Claims()), hs.substr(hs.rfind('.')));
  EXPECT_THAT(hs256_->Verify(none_with_sig),
              StatusIs(kUnauthenticated, HasSubstr("algorithm")));
}

TEST_F(TokenVerifierTest, Hs256TokenIsRefusedByRs256Verifier) {
  auto rs256 = Rs256Verifier();
  ASSERT_NE(rs256, nullptr);
  EXPECT_THAT(rs256->Verify(SignHs256(kHs256Header, Claims(), kKey)),
              StatusIs(kUnauthenticated, HasSubstr("algorithm")));
  // Algorithm confusion: HMAC keyed with the (public) RSA key PEM. libjwt
  // 1.10 alone accepts this token; the verifier must not.
  const std::string confused = SignHs256(kHs256Header, Claims(), PublicKeyPem(rsa_key_));
  EXPECT_THAT(rs256->Verify(confused), StatusIs(kUnauthenticated));
}

TEST_F(TokenVerifierTest, Rs256TokenIsRefusedByHs256Verifier) {
  EXPECT_THAT(hs256_->Verify(SignRs256(kRs256Header, Claims(), rsa_key_)),
              StatusIs(kUnauthenticated, HasSubstr("algorithm")));
}

TEST_F(TokenVerifierTest, OtherHmacAlgorithmsAreRefused) {
  // Same key, other HMAC hashes: the signature alone would not catch these
  // if the library followed the header.
  for (const char* header : {R"({"alg":"HS384"})", R"({"alg":"HS512"})", R"({"alg":"hs256"})",
                             R"({"alg":"ES256"})", R"({"typ":"JWT"})", R"({"alg":["HS256"]})"}) {
    EXPECT_THAT(hs256_->Verify(SignHs256(header, Claims(), kKey)),
                StatusIs(kUnauthenticated, HasSubstr("algorithm")))
        << header;
  }
}

TEST_F(TokenVerifierTest, DuplicatedAlgHeaderIsRefused) {
  auto rs256 = Rs256Verifier();
  ASSERT_NE(rs256, nullptr);
  const std::string pem = PublicKeyPem(rsa_key_);
  EXPECT_THAT(rs256->Verify(SignHs256(R"({"alg":"RS256","alg":"HS256"})", Claims(), pem)),
              StatusIs(kUnauthenticated));
  EXPECT_THAT(rs256->Verify(SignHs256(R"({"alg":"HS256","alg":"RS256"})", Claims(), pem)),
              StatusIs(kUnauthenticated));
  EXPECT_THAT(hs256_->Verify(SignHs256(R"({"alg":"HS256","alg":"none"})", Claims(), kKey)),
              StatusIs(kUnauthenticated));
}

TEST_F(TokenVerifierTest, CriticalHeaderIsRefused) {
  EXPECT_THAT(hs256_->Verify(SignHs256(R"({"alg":"HS256","crit":["exp"]})", Claims(), kKey)),
              StatusIs(kUnauthenticated));
}

TEST_F(TokenVerifierTest, MalformedTokensAreRefused) {
  const std::string good = SignHs256(kHs256Header, Claims(), kKey);
  for (const std::string& token :
       {std::string(""), std::string("abc"), std::string("a.b"), absl::StrCat(good, ".x"),
        std::string("!!!.###.$$$"), absl::StrCat(Segment("not json"), ".", Segment(Claims()), ".c2ln"),
        absl::StrCat(good.substr(0, good.rfind('.')), "."), std::string(10000, 'a')}) {
    EXPECT_THAT(hs256_->Verify(token), StatusIs(kUnauthenticated)) << token.substr(0, 40);
  }
}

// ---- Time ----

TEST_F(TokenVerifierTest, ExpiredTokenIsRefusedAfterLeeway) {
  const std::string token = SignHs256(kHs256Header, Claims(), kKey);
  clock_.Set(kNow + absl::Hours(1) + absl::Seconds(29));
  EXPECT_THAT(hs256_->Verify(token), IsOk());
  clock_.Set(kNow + absl::Hours(1) + absl::Seconds(30));
  EXPECT_THAT(hs256_->Verify(token), StatusIs(kUnauthenticated, HasSubstr("expired")));
}

TEST_F(TokenVerifierTest, NotYetValidTokenIsRefused) {
  const std::string nbf = absl::StrCat(R"(,"nbf":)", absl::ToUnixSeconds(kNow + absl::Minutes(5)));
  const std::string token = SignHs256(kHs256Header, Claims(nbf), kKey);
  EXPECT_THAT(hs256_->Verify(token), StatusIs(kUnauthenticated, HasSubstr("not yet valid")));
  clock_.Set(kNow + absl::Minutes(5) - absl::Seconds(30));  // within the leeway
  EXPECT_THAT(hs256_->Verify(token), IsOk());
}

TEST_F(TokenVerifierTest, NotBeforeLeewayBoundaries) {
  const absl::Time nbf = kNow + absl::Minutes(5);
  const std::string token = SignHs256(
      kHs256Header, Claims(absl::StrCat(R"(,"nbf":)", absl::ToUnixSeconds(nbf))), kKey);
  clock_.Set(nbf - absl::Seconds(30) - absl::Seconds(1));  // one second before the leeway
  EXPECT_THAT(hs256_->Verify(token), StatusIs(kUnauthenticated, HasSubstr("not yet valid")));
  clock_.Set(nbf - absl::Seconds(30));  // exactly the leeway early
  EXPECT_THAT(hs256_->Verify(token), IsOk());
  clock_.Set(nbf);
  EXPECT_THAT(hs256_->Verify(token), IsOk());
}

TEST_F(TokenVerifierTest, ExpiryBoundaryHoldsForCachedTokens) {
  const std::string token = SignHs256(kHs256Header, Claims(), kKey);
  ASSERT_THAT(hs256_->Verify(token), IsOk());  // now cached
  const absl::Time exp = kNow + absl::Hours(1);
  clock_.Set(exp + absl::Seconds(30) - absl::Nanoseconds(1));
  EXPECT_THAT(hs256_->Verify(token), IsOk());
  clock_.Set(exp + absl::Seconds(30));
  EXPECT_THAT(hs256_->Verify(token), StatusIs(kUnauthenticated, HasSubstr("expired")));
}

TEST_F(TokenVerifierTest, ZeroLeewayIsExact) {
  AuthConfig config = Hs256Config();
  config.leeway = absl::ZeroDuration();
  auto strict = TokenVerifier::Create(config, clock_);
  ASSERT_THAT(strict, IsOk());
  const absl::Time nbf = kNow + absl::Minutes(1);
  const std::string token = SignHs256(
      kHs256Header, Claims(absl::StrCat(R"(,"nbf":)", absl::ToUnixSeconds(nbf))), kKey);
  clock_.Set(nbf - absl::Seconds(1));
  EXPECT_THAT((*strict)->Verify(token), StatusIs(kUnauthenticated, HasSubstr("not yet valid")));
  clock_.Set(nbf);
  EXPECT_THAT((*strict)->Verify(token), IsOk());
  clock_.Set(kNow + absl::Hours(1) - absl::Seconds(1));
  EXPECT_THAT((*strict)->Verify(token), IsOk());
  clock_.Set(kNow + absl::Hours(1));
  EXPECT_THAT((*strict)->Verify(token), StatusIs(kUnauthenticated, HasSubstr("expired")));
}

TEST_F(TokenVerifierTest, MissingOrMalformedExpiryIsRefused) {
  EXPECT_THAT(hs256_->Verify(SignHs256(kHs256Header, ClaimsWithout("exp"), kKey)),
              StatusIs(kUnauthenticated, HasSubstr("expiry")));
  const std::string string_exp =
      R"({"iss":"crm-test","aud":"crm","sub":"u","role":"ADMIN","exp":"2099-01-01"})";
  EXPECT_THAT(hs256_->Verify(SignHs256(kHs256Header, string_exp, kKey)),
              StatusIs(kUnauthenticated, HasSubstr("expiry")));
}

// ---- Issuer, audience, subject, role ----

TEST_F(TokenVerifierTest, WrongOrMissingIssuerIsRefused) {
  const std::string wrong = R"({"iss":"someone-else","aud":"crm","sub":"u","role":"ADMIN","exp":1800000000})";
  EXPECT_THAT(hs256_->Verify(SignHs256(kHs256Header, wrong, kKey)),
              StatusIs(kUnauthenticated, HasSubstr("issuer")));
  EXPECT_THAT(hs256_->Verify(SignHs256(kHs256Header, ClaimsWithout("iss"), kKey)),
              StatusIs(kUnauthenticated, HasSubstr("issuer")));
}

TEST_F(TokenVerifierTest, WrongOrMissingAudienceIsRefused) {
  const std::string wrong = R"({"iss":"crm-test","aud":"billing","sub":"u","role":"ADMIN","exp":1800000000})";
  EXPECT_THAT(hs256_->Verify(SignHs256(kHs256Header, wrong, kKey)),
              StatusIs(kUnauthenticated, HasSubstr("audience")));
  const std::string list = R"({"iss":"crm-test","aud":["a","b"],"sub":"u","role":"ADMIN","exp":1800000000})";
  EXPECT_THAT(hs256_->Verify(SignHs256(kHs256Header, list, kKey)),
              StatusIs(kUnauthenticated, HasSubstr("audience")));
  EXPECT_THAT(hs256_->Verify(SignHs256(kHs256Header, ClaimsWithout("aud"), kKey)),
              StatusIs(kUnauthenticated, HasSubstr("audience")));
}

TEST_F(TokenVerifierTest, MissingSubjectIsRefused) {
  EXPECT_THAT(hs256_->Verify(SignHs256(kHs256Header, ClaimsWithout("sub"), kKey)),
              StatusIs(kUnauthenticated, HasSubstr("subject")));
}

TEST_F(TokenVerifierTest, MissingOrUnknownRoleIsRefused) {
  EXPECT_THAT(hs256_->Verify(SignHs256(kHs256Header, ClaimsWithout("role"), kKey)),
              StatusIs(kUnauthenticated, HasSubstr("role")));
  for (absl::string_view role : {R"("ROOT")", R"("manager")", R"("")", "1", R"(["ADMIN"])"}) {
    const std::string claims = absl::Substitute(
        R"({"iss":"crm-test","aud":"crm","sub":"u","role":$0,"exp":1800000000})", role);
    EXPECT_THAT(hs256_->Verify(SignHs256(kHs256Header, claims, kKey)),
                StatusIs(kUnauthenticated, HasSubstr("role")))
        << role;
  }
}

TEST_F(TokenVerifierTest, ReasonDoesNotEchoTokenContents) {
  const std::string claims =
      R"({"iss":"evil-issuer-xyz","aud":"crm","sub":"secret-subject-xyz","role":"ADMIN","exp":1800000000})";
  auto result = hs256_->Verify(SignHs256(kHs256Header, claims, kKey));
  ASSERT_THAT(result, StatusIs(kUnauthenticated));
  EXPECT_THAT(std::string(result.status().message()), Not(HasSubstr("xyz")));
}

// ---- Key rotation ----

constexpr char kNewKey[] = "new-key-new-key-new-key-new-key-0001";
constexpr char kThirdKey[] = "third-key-third-key-third-key-third-9";

TEST_F(TokenVerifierTest, RolloverAcceptsBothKeysAndRefusesAThird) {
  AuthConfig config = Hs256Config();
  config.hs256_key = kNewKey;
  config.rollover_keys = {kKey};  // the old key, still accepted
  auto both = TokenVerifier::Create(config, clock_);
  ASSERT_THAT(both, IsOk());
  const std::string old_token = SignHs256(kHs256Header, Claims(), kKey);
  const std::string new_token = SignHs256(kHs256Header, Claims(), kNewKey);
  const std::string third_token = SignHs256(kHs256Header, Claims(), kThirdKey);
  EXPECT_THAT((*both)->Verify(old_token), IsOk());
  EXPECT_THAT((*both)->Verify(new_token), IsOk());
  EXPECT_THAT((*both)->Verify(third_token), StatusIs(kUnauthenticated, HasSubstr("signature")));
  // The old-only verifier (before the rollover) refuses the new key's token.
  EXPECT_THAT(hs256_->Verify(new_token), StatusIs(kUnauthenticated, HasSubstr("signature")));

  // The old key removed and the process restarted (a new verifier): the
  // old key's token, verified and cached a moment ago, is refused, because
  // the cache belonged to the previous process.
  AuthConfig after = Hs256Config();
  after.hs256_key = kNewKey;
  auto new_only = TokenVerifier::Create(after, clock_);
  ASSERT_THAT(new_only, IsOk());
  EXPECT_THAT((*new_only)->Verify(old_token), StatusIs(kUnauthenticated, HasSubstr("signature")));
  EXPECT_THAT((*new_only)->Verify(new_token), IsOk());
}

TEST_F(TokenVerifierTest, RolloverKeysKeepTheirOwnClaimsChecked) {
  AuthConfig config = Hs256Config();
  config.rollover_keys = {kNewKey};
  auto both = TokenVerifier::Create(config, clock_);
  ASSERT_THAT(both, IsOk());
  const std::string wrong_aud = R"({"iss":"crm-test","aud":"billing","sub":"u","role":"ADMIN","exp":1800000000})";
  EXPECT_THAT((*both)->Verify(SignHs256(kHs256Header, wrong_aud, kNewKey)),
              StatusIs(kUnauthenticated, HasSubstr("audience")));
  // A token of the rollover key obeys the same time window.
  const std::string token = SignHs256(kHs256Header, Claims(), kNewKey);
  clock_.Set(kNow + absl::Hours(1) + absl::Seconds(30));
  EXPECT_THAT((*both)->Verify(token), StatusIs(kUnauthenticated, HasSubstr("expired")));
  // Tokens minted the way services mint their own verify under either key.
  clock_.Set(kNow);
  const Principal who{.subject = "svc", .role = Role::kService, .team = ""};
  for (const char* key : {kKey, kNewKey}) {
    auto minted = MintHs256Token(key, kIssuer, kAudience, who, kNow, absl::Minutes(10));
    ASSERT_THAT(minted, IsOk());
    EXPECT_THAT((*both)->Verify(*minted), IsOk()) << key;
  }
}

TEST_F(TokenVerifierTest, Rs256RolloverAcceptsBothKeysAndRefusesConfusion) {
  PkeyPtr new_rsa = GenerateRsaKey(2048);
  PkeyPtr third_rsa = GenerateRsaKey(2048);
  ASSERT_NE(new_rsa, nullptr);
  ASSERT_NE(third_rsa, nullptr);
  AuthConfig config = Hs256Config();
  config.hs256_key.clear();
  config.rs256_public_key_pem = PublicKeyPem(new_rsa.get());
  config.rollover_keys = {PublicKeyPem(rsa_key_)};
  auto both = TokenVerifier::Create(config, clock_);
  ASSERT_THAT(both, IsOk());
  EXPECT_THAT((*both)->Verify(SignRs256(kRs256Header, Claims(), rsa_key_)), IsOk());
  EXPECT_THAT((*both)->Verify(SignRs256(kRs256Header, Claims(), new_rsa.get())), IsOk());
  EXPECT_THAT((*both)->Verify(SignRs256(kRs256Header, Claims(), third_rsa.get())),
              StatusIs(kUnauthenticated, HasSubstr("signature")));
  // RS256 → HS256 confusion with either public key as the HMAC secret.
  for (const std::string& pem : {PublicKeyPem(rsa_key_), PublicKeyPem(new_rsa.get())}) {
    EXPECT_THAT((*both)->Verify(SignHs256(kHs256Header, Claims(), pem)),
                StatusIs(kUnauthenticated, HasSubstr("algorithm")));
  }
}

TEST(TokenVerifierCreateTest, RefusesBadRolloverKeys) {
  FakeClock clock(kNow);
  const auto invalid = StatusIs(absl::StatusCode::kInvalidArgument);

  AuthConfig short_rollover = Hs256Config();
  short_rollover.rollover_keys = {"too-short"};
  EXPECT_THAT(TokenVerifier::Create(short_rollover, clock), invalid);

  AuthConfig too_many = Hs256Config();
  too_many.rollover_keys.assign(TokenVerifier::kMaxKeys, kNewKey);
  EXPECT_THAT(TokenVerifier::Create(too_many, clock), invalid);
  too_many.rollover_keys.pop_back();
  EXPECT_THAT(TokenVerifier::Create(too_many, clock), IsOk());

  // An RSA public key listed as an HS256 key would let anyone sign.
  PkeyPtr key = GenerateRsaKey(2048);
  AuthConfig pem_as_secret = Hs256Config();
  pem_as_secret.rollover_keys = {PublicKeyPem(key.get())};
  EXPECT_THAT(TokenVerifier::Create(pem_as_secret, clock),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("PEM")));
  AuthConfig pem_main = Hs256Config();
  pem_main.hs256_key = PublicKeyPem(key.get());
  EXPECT_THAT(TokenVerifier::Create(pem_main, clock), invalid);

  AuthConfig garbage_rsa_rollover = Hs256Config();
  garbage_rsa_rollover.hs256_key.clear();
  garbage_rsa_rollover.rs256_public_key_pem = PublicKeyPem(key.get());
  garbage_rsa_rollover.rollover_keys = {kKey};  // an HMAC secret among RSA keys
  EXPECT_THAT(TokenVerifier::Create(garbage_rsa_rollover, clock), invalid);
}

// ---- Concurrency ----

TEST_F(TokenVerifierTest, ConcurrentVerificationIsSafe) {
  auto rs256 = Rs256Verifier();
  ASSERT_NE(rs256, nullptr);
  const std::string hs_token = SignHs256(kHs256Header, Claims(), kKey);
  const std::string rs_token = SignRs256(kRs256Header, Claims(), rsa_key_);
  const std::string bad_token = SignHs256(kHs256Header, Claims(), "wrong-wrong-wrong-wrong-wrong-wrong");
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (!hs256_->Verify(hs_token).ok()) ++failures;
        if (!rs256->Verify(rs_token).ok()) ++failures;
        if (hs256_->Verify(bad_token).ok()) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

// ---- Configuration ----

TEST(TokenVerifierCreateTest, RefusesBadConfiguration) {
  FakeClock clock(kNow);
  const auto invalid = StatusIs(absl::StatusCode::kInvalidArgument);

  AuthConfig neither = Hs256Config();
  neither.hs256_key.clear();
  EXPECT_THAT(TokenVerifier::Create(neither, clock), invalid);

  PkeyPtr key = GenerateRsaKey(2048);
  AuthConfig both = Hs256Config();
  both.rs256_public_key_pem = PublicKeyPem(key.get());
  EXPECT_THAT(TokenVerifier::Create(both, clock), invalid);

  AuthConfig short_key = Hs256Config();
  short_key.hs256_key = "too-short";
  EXPECT_THAT(TokenVerifier::Create(short_key, clock), invalid);

  AuthConfig garbage_pem = Hs256Config();
  garbage_pem.hs256_key.clear();
  garbage_pem.rs256_public_key_pem = "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n";
  EXPECT_THAT(TokenVerifier::Create(garbage_pem, clock), invalid);

  AuthConfig private_pem = garbage_pem;
  private_pem.rs256_public_key_pem = PrivateKeyPem(key.get());
  EXPECT_THAT(TokenVerifier::Create(private_pem, clock), invalid);

  PkeyPtr weak = GenerateRsaKey(1024);
  AuthConfig weak_rsa = garbage_pem;
  weak_rsa.rs256_public_key_pem = PublicKeyPem(weak.get());
  EXPECT_THAT(TokenVerifier::Create(weak_rsa, clock), invalid);

  AuthConfig no_issuer = Hs256Config();
  no_issuer.issuer.clear();
  EXPECT_THAT(TokenVerifier::Create(no_issuer, clock), invalid);

  AuthConfig no_audience = Hs256Config();
  no_audience.audience.clear();
  EXPECT_THAT(TokenVerifier::Create(no_audience, clock), invalid);

  AuthConfig negative_leeway = Hs256Config();
  negative_leeway.leeway = absl::Seconds(-1);
  EXPECT_THAT(TokenVerifier::Create(negative_leeway, clock), invalid);
}

TEST(RoleTest, NamesRoundTrip) {
  for (Role role : {Role::kManager, Role::kSupervisor, Role::kPhoneManager, Role::kAdmin,
                    Role::kService}) {
    EXPECT_EQ(ParseRole(RoleName(role)), role);
  }
  EXPECT_EQ(RoleName(Role::kPhoneManager), "PHONE_MANAGER");
  EXPECT_EQ(ParseRole("admin"), std::nullopt);
  EXPECT_EQ(ParseRole(""), std::nullopt);
}

}  // namespace
}  // namespace crm::auth
