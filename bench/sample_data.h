#pragma once
// Realistic-looking, valid and unique input for the benchmark: customer and
// member names in Chinese, mobile numbers, unified social credit codes with
// a correct GB 32100 check character.

#include <cstdint>
#include <random>
#include <string>

#include "crm/customers/v1/customers.pb.h"

namespace crm::bench {

// The 18-character code for `serial` (< 31^9, unique per serial): "91"
// (industry and commerce, enterprise), a Beijing district code, the serial
// in base 31 as the 9-character organisation code, then the check character.
std::string CreditCode(uint64_t serial);

// "139" followed by 8 digits of `serial` (valid mobile pattern, unique below 10^8).
std::string MobilePhone(uint64_t serial);

// A company name such as "杭州云帆信息科技有限公司 00042", unique by serial.
std::string CompanyName(std::mt19937_64& rng, uint64_t serial);
// A person's name such as "王思远", with the serial appended when non-zero.
std::string PersonName(std::mt19937_64& rng, uint64_t serial);

// An ACTIVE enterprise with every basic field filled (what GetCustomer
// returns for a typical customer file).
customers::v1::Customer SampleEnterprise(std::mt19937_64& rng, uint64_t serial, const std::string& owner);
// An ACTIVE individual customer (no credit code).
customers::v1::Customer SampleIndividual(std::mt19937_64& rng, uint64_t serial, const std::string& owner);
// One directory member with a phone unique by serial.
customers::v1::Member SampleMember(std::mt19937_64& rng, uint64_t serial);

// A qualification rating (AAA … C), skewed towards the middle.
std::string SampleRating(std::mt19937_64& rng);
// log-uniform in [lo, hi].
int64_t LogUniform(std::mt19937_64& rng, double lo, double hi);

}  // namespace crm::bench
