-- Opportunities service schema (DOMAIN.md §2). Times are UTC DATETIME(6).
--
-- Each resource is stored as its protobuf message (body) plus the columns
-- that queries filter, sort or sum on; the body never holds the name, etag
-- or times, which come from the columns. name = name_prefix + collection/id.
-- Access (GW-2) filters on owner and team, copied from the customer.

CREATE TABLE IF NOT EXISTS needs (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  parent_id BIGINT NOT NULL DEFAULT 0,
  name_prefix VARCHAR(200) NOT NULL DEFAULT '',
  customer VARCHAR(64) NOT NULL,
  owner VARCHAR(100) NOT NULL,
  team VARCHAR(100) NOT NULL DEFAULT '',
  kind INT NOT NULL DEFAULT 0,          -- source
  state INT NOT NULL DEFAULT 0,         -- status
  flag BOOLEAN NOT NULL DEFAULT FALSE,  -- escalated
  due_time DATETIME(6) NULL,
  version BIGINT NOT NULL DEFAULT 1,
  body MEDIUMBLOB NOT NULL,
  create_time DATETIME(6) NOT NULL,
  update_time DATETIME(6) NOT NULL,
  KEY k_owner (owner, id),
  KEY k_team (team, id),
  KEY k_customer (customer, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS opportunities (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  parent_id BIGINT NOT NULL DEFAULT 0,
  name_prefix VARCHAR(200) NOT NULL DEFAULT '',
  customer VARCHAR(64) NOT NULL,
  owner VARCHAR(100) NOT NULL,
  team VARCHAR(100) NOT NULL DEFAULT '',
  kind INT NOT NULL DEFAULT 0,          -- type
  state INT NOT NULL DEFAULT 0,         -- OPEN / WON / LOST
  flag BOOLEAN NOT NULL DEFAULT FALSE,
  due_time DATETIME(6) NULL,
  -- Weighted pipeline (OPP-2): integer minor units, percent.
  amount_minor BIGINT NOT NULL DEFAULT 0,
  currency CHAR(3) NOT NULL DEFAULT '',
  win_probability INT NOT NULL DEFAULT 0,
  version BIGINT NOT NULL DEFAULT 1,
  body MEDIUMBLOB NOT NULL,
  create_time DATETIME(6) NOT NULL,
  update_time DATETIME(6) NOT NULL,
  KEY k_owner (owner, state, id),
  KEY k_team (team, state, id),
  KEY k_customer (customer, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS products (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  parent_id BIGINT NOT NULL DEFAULT 0,
  name_prefix VARCHAR(200) NOT NULL DEFAULT '',
  customer VARCHAR(64) NOT NULL DEFAULT '',
  owner VARCHAR(100) NOT NULL DEFAULT '',
  team VARCHAR(100) NOT NULL DEFAULT '',
  kind INT NOT NULL DEFAULT 0,          -- category
  state INT NOT NULL DEFAULT 0,         -- 1 active, 0 withdrawn
  flag BOOLEAN NOT NULL DEFAULT FALSE,
  due_time DATETIME(6) NULL,
  code VARCHAR(64) NOT NULL,
  version BIGINT NOT NULL DEFAULT 1,
  body MEDIUMBLOB NOT NULL,
  create_time DATETIME(6) NOT NULL,
  update_time DATETIME(6) NOT NULL,
  UNIQUE KEY uk_code (code),
  KEY k_category (kind, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Children of an opportunity (parent_id = opportunity id) share one shape.
CREATE TABLE IF NOT EXISTS proposals (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  parent_id BIGINT NOT NULL,
  name_prefix VARCHAR(200) NOT NULL,
  customer VARCHAR(64) NOT NULL,
  owner VARCHAR(100) NOT NULL,
  team VARCHAR(100) NOT NULL DEFAULT '',
  kind INT NOT NULL DEFAULT 0,
  state INT NOT NULL DEFAULT 0,         -- status
  flag BOOLEAN NOT NULL DEFAULT FALSE,  -- requires supervisor
  due_time DATETIME(6) NULL,
  version BIGINT NOT NULL DEFAULT 1,
  body MEDIUMBLOB NOT NULL,
  create_time DATETIME(6) NOT NULL,
  update_time DATETIME(6) NOT NULL,
  KEY k_parent (parent_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- OPP-3: every revision of a proposal as it was.
CREATE TABLE IF NOT EXISTS proposal_revisions (
  proposal_id BIGINT NOT NULL,
  revision INT NOT NULL,
  body MEDIUMBLOB NOT NULL,
  author VARCHAR(100) NOT NULL,
  create_time DATETIME(6) NOT NULL,
  PRIMARY KEY (proposal_id, revision)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- due_time: the feedback deadline while feedback is outstanding (OPP-6).
CREATE TABLE IF NOT EXISTS negotiation_rounds LIKE proposals;
ALTER TABLE negotiation_rounds ADD KEY k_due (due_time, id);

-- due_time: the revisit deadline while the revisit is outstanding (OPP-9).
CREATE TABLE IF NOT EXISTS contracts LIKE proposals;
ALTER TABLE contracts ADD KEY k_due (due_time, id);

CREATE TABLE IF NOT EXISTS loan_applications LIKE proposals;

-- parent_id = loan application id; kind = MONITORING / COLLECTION.
CREATE TABLE IF NOT EXISTS loan_tracking_entries LIKE proposals;

CREATE TABLE IF NOT EXISTS idempotency_keys (
  method VARCHAR(64) NOT NULL,
  request_id VARCHAR(64) NOT NULL,
  resource_name VARCHAR(200) NOT NULL,
  create_time DATETIME(6) NOT NULL,
  PRIMARY KEY (method, request_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Audit trail: one row per changed top-level field; root is the need,
-- product or opportunity the resource belongs to.
CREATE TABLE IF NOT EXISTS changes (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  root VARCHAR(64) NOT NULL,
  resource VARCHAR(200) NOT NULL,
  field VARCHAR(64) NOT NULL,
  old_value TEXT NOT NULL,
  new_value TEXT NOT NULL,
  actor VARCHAR(100) NOT NULL,
  method VARCHAR(64) NOT NULL,
  change_time DATETIME(6) NOT NULL,
  KEY k_root (root, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
