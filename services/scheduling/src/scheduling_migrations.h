#pragma once
// The scheduling schema (services/scheduling/schema/V*.sql), compiled in.

#include <vector>

#include "common/db/migrations.h"

namespace crm::scheduling {
const std::vector<db::Migration>& Migrations();
}
