#pragma once
// Employee directory CSV for `crmctl members import`: RFC 4180 fields
// display_name,phone,department,title,brand,products with products
// separated by ';'. An optional header row and a UTF-8 BOM (as written by
// spreadsheet programs) are skipped; missing trailing columns are empty.

#include <istream>
#include <vector>

#include "absl/status/statusor.h"
#include "crm/customers/v1/customers.pb.h"

namespace crm::crmctl {

// INVALID_ARGUMENT naming the line for an unterminated quote or a row
// with more than six columns. Content is validated by the server.
absl::StatusOr<std::vector<crm::customers::v1::Member>> ReadMembersCsv(std::istream& in);

}  // namespace crm::crmctl
