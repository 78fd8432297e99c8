#pragma once
// The opportunities schema (services/opportunities/schema/V*.sql), compiled in.

#include <vector>

#include "common/db/migrations.h"

namespace crm::opportunities {
const std::vector<db::Migration>& Migrations();
}
