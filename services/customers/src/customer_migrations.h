#pragma once
// The customers schema (services/customers/schema/V*.sql), compiled in.

#include <vector>

#include "common/db/migrations.h"

namespace crm::customers {
const std::vector<db::Migration>& Migrations();
}
