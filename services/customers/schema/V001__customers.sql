-- Customers service schema (DOMAIN.md §1). Times are UTC DATETIME(6).

CREATE TABLE IF NOT EXISTS customers (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  kind TINYINT NOT NULL,
  display_name VARCHAR(200) NOT NULL,
  -- Normalised name (suffixes like 有限公司 and punctuation removed) for CUS-11.
  name_key VARCHAR(200) NOT NULL,
  credit_code CHAR(18) NULL,
  industry VARCHAR(100) NOT NULL DEFAULT '',
  address VARCHAR(500) NOT NULL DEFAULT '',
  latitude DOUBLE NULL,
  longitude DOUBLE NULL,
  revenue_currency CHAR(3) NOT NULL DEFAULT '',
  revenue_units BIGINT NOT NULL DEFAULT 0,
  revenue_nanos INT NOT NULL DEFAULT 0,
  employee_count BIGINT NOT NULL DEFAULT 0,
  qualification_rating VARCHAR(8) NOT NULL DEFAULT '',
  it_usage_notes TEXT NOT NULL,
  competitor_notes TEXT NOT NULL,
  status TINYINT NOT NULL,
  owner VARCHAR(100) NOT NULL,
  team VARCHAR(100) NOT NULL DEFAULT '',
  high_value BOOLEAN NOT NULL DEFAULT FALSE,
  phone VARCHAR(32) NOT NULL DEFAULT '',
  risk_tolerance TINYINT NOT NULL DEFAULT 0,
  risk_assessed_on DATE NULL,
  aml_rating TINYINT NOT NULL DEFAULT 0,
  tier TINYINT NOT NULL DEFAULT 0,
  value_score DOUBLE NOT NULL DEFAULT 0,
  churn_risk BOOLEAN NOT NULL DEFAULT FALSE,
  retention_stage TINYINT NOT NULL DEFAULT 1,
  last_verified_at DATETIME(6) NULL,
  directory_collected_at DATETIME(6) NULL,
  member_count BIGINT NOT NULL DEFAULT 0,
  product_count BIGINT NOT NULL DEFAULT 0,
  version BIGINT NOT NULL DEFAULT 1,
  create_time DATETIME(6) NOT NULL,
  update_time DATETIME(6) NOT NULL,
  UNIQUE KEY uk_credit_code (credit_code),
  KEY k_owner (owner, id),
  KEY k_team (team, id),
  KEY k_tier (tier, id),
  KEY k_name_key (name_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS contacts (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  customer_id BIGINT NOT NULL,
  display_name VARCHAR(100) NOT NULL,
  role TINYINT NOT NULL,
  phone VARCHAR(32) NOT NULL DEFAULT '',
  title VARCHAR(100) NOT NULL DEFAULT '',
  birthday DATE NULL,
  hobbies TEXT NOT NULL,
  family_notes TEXT NOT NULL,
  vip_level TINYINT NOT NULL DEFAULT 0,
  version BIGINT NOT NULL DEFAULT 1,
  create_time DATETIME(6) NOT NULL,
  update_time DATETIME(6) NOT NULL,
  KEY k_customer (customer_id, id),
  CONSTRAINT fk_contacts_customer FOREIGN KEY (customer_id) REFERENCES customers (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Employee directory (CUS-3): keyed by phone within a customer so a
-- re-collection updates members instead of duplicating them.
CREATE TABLE IF NOT EXISTS members (
  customer_id BIGINT NOT NULL,
  phone VARCHAR(32) NOT NULL,
  display_name VARCHAR(100) NOT NULL,
  department VARCHAR(100) NOT NULL DEFAULT '',
  title VARCHAR(100) NOT NULL DEFAULT '',
  brand VARCHAR(50) NOT NULL DEFAULT '',
  products VARCHAR(500) NOT NULL DEFAULT '',
  collected_at DATETIME(6) NOT NULL,
  PRIMARY KEY (customer_id, phone)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- AIP-155 idempotency: the first result of a create, by request id.
CREATE TABLE IF NOT EXISTS idempotency_keys (
  method VARCHAR(64) NOT NULL,
  request_id VARCHAR(64) NOT NULL,
  resource_name VARCHAR(200) NOT NULL,
  create_time DATETIME(6) NOT NULL,
  PRIMARY KEY (method, request_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- CUS-12: one row per changed field.
CREATE TABLE IF NOT EXISTS field_changes (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  customer_id BIGINT NOT NULL,
  resource VARCHAR(200) NOT NULL,
  field VARCHAR(64) NOT NULL,
  old_value TEXT NOT NULL,
  new_value TEXT NOT NULL,
  actor VARCHAR(100) NOT NULL,
  method VARCHAR(64) NOT NULL,
  change_time DATETIME(6) NOT NULL,
  KEY k_customer (customer_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- CUS-4: configurable weights (a single row).
CREATE TABLE IF NOT EXISTS value_model (
  id TINYINT NOT NULL PRIMARY KEY,
  revenue_weight DOUBLE NOT NULL,
  employee_weight DOUBLE NOT NULL,
  qualification_weight DOUBLE NOT NULL,
  product_count_weight DOUBLE NOT NULL,
  member_count_weight DOUBLE NOT NULL,
  version BIGINT NOT NULL DEFAULT 1,
  update_time DATETIME(6) NOT NULL
) ENGINE=InnoDB;

INSERT IGNORE INTO value_model VALUES (1, 0.5, 0.2, 0.2, 0.05, 0.05, 1, UTC_TIMESTAMP(6));

CREATE TABLE IF NOT EXISTS tier_changes (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  customer_id BIGINT NOT NULL,
  old_tier TINYINT NOT NULL,
  new_tier TINYINT NOT NULL,
  score DOUBLE NOT NULL,
  reason VARCHAR(500) NOT NULL,
  change_time DATETIME(6) NOT NULL,
  KEY k_customer (customer_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- CUS-6/7: re-verification events (accuracy = 1 - corrected / checked).
CREATE TABLE IF NOT EXISTS verifications (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  customer_id BIGINT NOT NULL,
  fields_checked INT NOT NULL,
  fields_corrected INT NOT NULL,
  verified_by VARCHAR(100) NOT NULL,
  verify_time DATETIME(6) NOT NULL,
  KEY k_customer (customer_id)
) ENGINE=InnoDB;

-- CUS-6: re-verification intervals per tier class, in months (policy, not code).
CREATE TABLE IF NOT EXISTS freshness_policy (
  what VARCHAR(16) NOT NULL PRIMARY KEY,
  months INT NOT NULL
) ENGINE=InnoDB;

INSERT IGNORE INTO freshness_policy VALUES ('A', 1), ('B', 2), ('DIRECTORY', 6);

CREATE TABLE IF NOT EXISTS churn_signals (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  customer_id BIGINT NOT NULL,
  kind TINYINT NOT NULL,
  magnitude DOUBLE NOT NULL,
  note TEXT NOT NULL,
  recorded_by VARCHAR(100) NOT NULL,
  supervisor_notified BOOLEAN NOT NULL,
  create_time DATETIME(6) NOT NULL,
  KEY k_customer (customer_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS competitive_reports (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  author VARCHAR(100) NOT NULL,
  team VARCHAR(100) NOT NULL,
  period CHAR(7) NOT NULL,
  competitor_strategy TEXT NOT NULL,
  counter_poaching TEXT NOT NULL,
  special_needs TEXT NOT NULL,
  industry_trends TEXT NOT NULL,
  create_time DATETIME(6) NOT NULL,
  KEY k_author (author, period),
  KEY k_team (team, period)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
