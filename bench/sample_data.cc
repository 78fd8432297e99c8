#include "bench/sample_data.h"

#include <array>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace crm::bench {
namespace {

namespace pb = crm::customers::v1;

constexpr absl::string_view kCreditCodeChars = "0123456789ABCDEFGHJKLMNPQRTUWXY";
constexpr std::array<int, 17> kCreditCodeWeights = {1, 3, 9, 27, 19, 26, 16, 17, 20,
                                                    29, 25, 13, 8, 24, 10, 30, 28};

template <size_t N>
const char* Pick(std::mt19937_64& rng, const std::array<const char*, N>& items) {
  return items[std::uniform_int_distribution<size_t>(0, N - 1)(rng)];
}

constexpr std::array<const char*, 12> kCities = {"北京", "上海", "杭州", "深圳", "广州", "成都",
                                                 "武汉", "南京", "西安", "苏州", "天津", "重庆"};
constexpr std::array<const char*, 12> kWords = {"云帆", "华信", "启明", "海川", "博远", "恒通",
                                                "瑞丰", "中科", "星河", "天诚", "汇智", "新锐"};
constexpr std::array<const char*, 8> kTrades = {"信息科技", "物流", "医药", "建设工程",
                                                "电子商务", "精密制造", "文化传媒", "能源"};
constexpr std::array<const char*, 8> kIndustries = {"软件和信息技术服务业", "交通运输", "医药制造",
                                                    "建筑业", "批发和零售业", "制造业",
                                                    "文化、体育和娱乐业", "电力、热力生产和供应业"};
constexpr std::array<const char*, 16> kSurnames = {"王", "李", "张", "刘", "陈", "杨", "赵", "黄",
                                                   "周", "吴", "徐", "孙", "胡", "朱", "高", "林"};
constexpr std::array<const char*, 16> kGivenNames = {"伟", "芳", "思远", "秀英", "敏", "静",
                                                     "强", "磊", "洋", "艳", "俊杰", "子涵",
                                                     "浩然", "雨桐", "建国", "晓明"};
constexpr std::array<const char*, 8> kDepartments = {"财务部", "市场部", "研发中心", "人力资源部",
                                                     "销售一部", "客服中心", "行政部", "信息部"};
constexpr std::array<const char*, 6> kTitles = {"经理", "主管", "工程师", "专员", "总监", "助理"};
constexpr std::array<const char*, 3> kBrands = {"中国移动", "中国电信", "中国联通"};
constexpr std::array<const char*, 6> kProducts = {"5G套餐", "家庭宽带", "云电脑",
                                                  "企业短信", "物联网卡", "视频会议"};
constexpr std::array<const char*, 9> kRatings = {"AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C"};

}  // namespace

std::string CreditCode(uint64_t serial) {
  std::string code = "91110108";
  std::string org(9, '0');
  for (int i = 8; i >= 0; --i) {
    org[i] = kCreditCodeChars[serial % 31];
    serial /= 31;
  }
  code += org;
  int sum = 0;
  for (int i = 0; i < 17; ++i) {
    sum += static_cast<int>(kCreditCodeChars.find(code[i])) * kCreditCodeWeights[i];
  }
  const int check = (31 - sum % 31) % 31;
  code.push_back(kCreditCodeChars[check]);
  return code;
}

std::string MobilePhone(uint64_t serial) { return absl::StrFormat("139%08d", serial % 100000000); }

std::string CompanyName(std::mt19937_64& rng, uint64_t serial) {
  return absl::StrCat(Pick(rng, kCities), Pick(rng, kWords), Pick(rng, kTrades), "有限公司 ",
                      absl::StrFormat("%06d", serial));
}

std::string PersonName(std::mt19937_64& rng, uint64_t serial) {
  std::string name = absl::StrCat(Pick(rng, kSurnames), Pick(rng, kGivenNames));
  if (serial != 0) absl::StrAppend(&name, serial);
  return name;
}

std::string SampleRating(std::mt19937_64& rng) {
  std::binomial_distribution<int> skew(static_cast<int>(kRatings.size()) - 1, 0.5);
  return kRatings[skew(rng)];
}

int64_t LogUniform(std::mt19937_64& rng, double lo, double hi) {
  std::uniform_real_distribution<double> u(std::log(lo), std::log(hi));
  return static_cast<int64_t>(std::exp(u(rng)));
}

pb::Customer SampleEnterprise(std::mt19937_64& rng, uint64_t serial, const std::string& owner) {
  pb::Customer c;
  c.set_kind(pb::ENTERPRISE);
  c.set_display_name(CompanyName(rng, serial));
  c.set_credit_code(CreditCode(serial));
  c.set_industry(Pick(rng, kIndustries));
  c.set_address(absl::StrCat(Pick(rng, kCities), "市高新区创新大道", serial % 999 + 1, "号"));
  c.mutable_location()->set_latitude(std::uniform_real_distribution<double>(22.0, 40.0)(rng));
  c.mutable_location()->set_longitude(std::uniform_real_distribution<double>(104.0, 121.0)(rng));
  c.mutable_annual_revenue()->set_currency_code("CNY");
  c.mutable_annual_revenue()->set_units(LogUniform(rng, 1e6, 1e10));
  c.set_employee_count(LogUniform(rng, 10, 50000));
  c.set_qualification_rating(SampleRating(rng));
  c.set_it_usage_notes("自建机房两处，计划两年内迁移至公有云；办公网络由本地运营商提供。");
  c.set_competitor_notes("竞争对手去年提供过专线优惠报价。");
  c.set_status(pb::ACTIVE);
  c.set_owner(owner);
  c.set_team("bench");
  c.set_phone(absl::StrFormat("010-%08d", serial % 100000000));
  return c;
}

pb::Customer SampleIndividual(std::mt19937_64& rng, uint64_t serial, const std::string& owner) {
  pb::Customer c;
  c.set_kind(pb::INDIVIDUAL);
  c.set_display_name(PersonName(rng, serial));
  c.set_address(absl::StrCat(Pick(rng, kCities), "市人民路", serial % 999 + 1, "号"));
  c.set_status(pb::ACTIVE);
  c.set_owner(owner);
  c.set_team("bench");
  c.set_phone(MobilePhone(serial));
  c.set_aml_rating(pb::AML_LOW);
  return c;
}

pb::Member SampleMember(std::mt19937_64& rng, uint64_t serial) {
  pb::Member m;
  m.set_display_name(PersonName(rng, 0));
  m.set_phone(MobilePhone(serial));
  m.set_department(Pick(rng, kDepartments));
  m.set_title(Pick(rng, kTitles));
  m.set_brand(Pick(rng, kBrands));
  const int products = std::uniform_int_distribution<int>(1, 3)(rng);
  for (int i = 0; i < products; ++i) m.add_products(Pick(rng, kProducts));
  return m;
}

}  // namespace crm::bench
