-- Scheduling service schema (DOMAIN.md §4). Times are UTC DATETIME(6).
--
-- Each resource is stored as its protobuf message (body, without name, etag
-- or times) plus the columns that queries filter, order and lock on.

-- SCH-1/SCH-2. Only PLANNED and DONE visits occupy the manager (busy).
CREATE TABLE IF NOT EXISTS visits (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  owner VARCHAR(100) NOT NULL,
  team VARCHAR(100) NOT NULL DEFAULT '',
  customer VARCHAR(64) NOT NULL,
  status INT NOT NULL,
  purpose INT NOT NULL,
  busy BOOLEAN NOT NULL,
  start_time DATETIME(6) NOT NULL,
  end_time DATETIME(6) NOT NULL,
  -- Set once a DONE visit's log is verified by the supervisor (SCH-4).
  log_verified BOOLEAN NOT NULL DEFAULT FALSE,
  version BIGINT NOT NULL DEFAULT 1,
  body MEDIUMBLOB NOT NULL,
  create_time DATETIME(6) NOT NULL,
  update_time DATETIME(6) NOT NULL,
  -- The conflict check reads overlapping visits and the nearest neighbour
  -- on each side of one manager's busy visits.
  KEY k_owner_start (owner, busy, start_time),
  KEY k_owner_end (owner, busy, end_time),
  KEY k_customer (customer, start_time),
  KEY k_team (team, start_time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per manager, locked FOR UPDATE while a booking of that manager is
-- checked and written: bookings of one manager are serialised, bookings of
-- different managers never wait on each other.
CREATE TABLE IF NOT EXISTS manager_locks (
  owner VARCHAR(100) NOT NULL PRIMARY KEY
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- SCH-9/SCH-7. source_key makes one task per source event: a repeated
-- delivery finds the key taken and creates nothing.
CREATE TABLE IF NOT EXISTS tasks (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  kind INT NOT NULL,
  owner VARCHAR(100) NOT NULL,
  team VARCHAR(100) NOT NULL DEFAULT '',
  customer VARCHAR(64) NOT NULL DEFAULT '',
  source VARCHAR(200) NOT NULL DEFAULT '',
  source_key VARCHAR(255) NOT NULL,
  state INT NOT NULL,
  due_time DATETIME(6) NOT NULL,
  done_time DATETIME(6) NULL,
  version BIGINT NOT NULL DEFAULT 1,
  body MEDIUMBLOB NOT NULL,
  create_time DATETIME(6) NOT NULL,
  update_time DATETIME(6) NOT NULL,
  UNIQUE KEY k_source_key (source_key),
  KEY k_owner (owner, state, due_time),
  KEY k_team (team, state, due_time),
  KEY k_customer (customer, state),
  KEY k_source (source, state)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Care projection (SCH-5/SCH-6), kept current from the customers service's
-- events. Rows are only written by the event consumer, except last_care_time.
CREATE TABLE IF NOT EXISTS care_customers (
  customer VARCHAR(64) NOT NULL PRIMARY KEY,
  display_name VARCHAR(200) NOT NULL DEFAULT '',
  owner VARCHAR(100) NOT NULL DEFAULT '',
  team VARCHAR(100) NOT NULL DEFAULT '',
  tier INT NOT NULL DEFAULT 0,
  -- When the relationship began (CustomerCreated): anniversaries.
  since_time DATETIME(6) NULL,
  archived BOOLEAN NOT NULL DEFAULT FALSE,
  KEY k_owner (owner)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS care_contacts (
  contact VARCHAR(100) NOT NULL PRIMARY KEY,
  customer VARCHAR(64) NOT NULL,
  display_name VARCHAR(200) NOT NULL DEFAULT '',
  role VARCHAR(32) NOT NULL DEFAULT '',
  vip_level VARCHAR(32) NOT NULL DEFAULT '',
  birth_month INT NOT NULL DEFAULT 0,
  birth_day INT NOT NULL DEFAULT 0,
  -- When the contact was first seen: the cadence counts from here until
  -- the first care.
  since_time DATETIME(6) NOT NULL,
  last_care_time DATETIME(6) NULL,
  KEY k_customer (customer)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS care_policies (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  priority INT NOT NULL,
  contact_role VARCHAR(32) NOT NULL DEFAULT '',
  vip_level VARCHAR(32) NOT NULL DEFAULT '',
  tier_class VARCHAR(8) NOT NULL DEFAULT '',
  interval_days INT NOT NULL,
  description VARCHAR(500) NOT NULL DEFAULT '',
  version BIGINT NOT NULL DEFAULT 1,
  UNIQUE KEY k_match (contact_role, vip_level, tier_class)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Care records, work plans, work log entries and expense claims share one
-- shape: owner, team, a key the listing filters on (contact, period,
-- date or month), a status, and the body.
CREATE TABLE IF NOT EXISTS care_records (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  owner VARCHAR(100) NOT NULL,
  team VARCHAR(100) NOT NULL DEFAULT '',
  doc_key VARCHAR(100) NOT NULL,
  status INT NOT NULL DEFAULT 0,
  version BIGINT NOT NULL DEFAULT 1,
  body MEDIUMBLOB NOT NULL,
  create_time DATETIME(6) NOT NULL,
  update_time DATETIME(6) NOT NULL,
  KEY k_owner (owner, doc_key, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS work_plans LIKE care_records;
CREATE TABLE IF NOT EXISTS work_log_entries LIKE care_records;
CREATE TABLE IF NOT EXISTS expense_claims LIKE care_records;

-- One plan per owner and period; one claim per owner and month.
ALTER TABLE work_plans ADD UNIQUE KEY k_unique_key (owner, doc_key);
ALTER TABLE expense_claims ADD UNIQUE KEY k_unique_key (owner, doc_key);

-- Audit trail of every change: who, through which RPC, what.
CREATE TABLE IF NOT EXISTS audit_log (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  resource VARCHAR(200) NOT NULL,
  actor VARCHAR(100) NOT NULL,
  method VARCHAR(64) NOT NULL,
  detail VARCHAR(2000) NOT NULL DEFAULT '',
  change_time DATETIME(6) NOT NULL,
  KEY k_resource (resource, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS idempotency_keys (
  method VARCHAR(64) NOT NULL,
  request_id VARCHAR(64) NOT NULL,
  resource_name VARCHAR(200) NOT NULL,
  create_time DATETIME(6) NOT NULL,
  PRIMARY KEY (method, request_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
