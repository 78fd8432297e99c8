#pragma once
// The complaints schema (services/complaints/schema/V*.sql), compiled in.

#include <vector>

#include "common/db/migrations.h"

namespace crm::complaints {
const std::vector<db::Migration>& Migrations();
}
