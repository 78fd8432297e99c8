-- Complaints service schema (DOMAIN.md §3). Times are UTC DATETIME(6).
--
-- A complaint is stored as its protobuf message (body, without name, etag,
-- times or clocks) plus the columns that queries filter and group on. Each
-- SLA clock is a row of complaint_clocks whose state is computed from its
-- transitions (clock_transitions, CMP-6); the clock row also keeps the
-- schedule the breach job scans (breach_due) and denormalised owner, team
-- and customer so the job never touches, nor locks, the complaint row.

CREATE TABLE IF NOT EXISTS complaints (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  customer VARCHAR(64) NOT NULL,
  owner VARCHAR(100) NOT NULL,
  team VARCHAR(100) NOT NULL DEFAULT '',
  kind INT NOT NULL,
  status INT NOT NULL,
  vip BOOLEAN NOT NULL DEFAULT FALSE,
  -- Recorded while the customers service was unreachable (CMP-3).
  provisional BOOLEAN NOT NULL DEFAULT FALSE,
  -- CMP-7: 1..5 once revisited.
  satisfaction INT NULL,
  version BIGINT NOT NULL DEFAULT 1,
  body MEDIUMBLOB NOT NULL,
  create_time DATETIME(6) NOT NULL,
  update_time DATETIME(6) NOT NULL,
  KEY k_owner (owner, id),
  KEY k_team (team, id),
  KEY k_customer (customer, id),
  KEY k_provisional (provisional, id),
  KEY k_create (create_time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS complaint_clocks (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  complaint_id BIGINT NOT NULL,
  kind INT NOT NULL,                 -- ClockKind
  transfer_id BIGINT NOT NULL DEFAULT 0,
  basis INT NOT NULL,                -- ClockBasis
  stopped BOOLEAN NOT NULL DEFAULT FALSE,
  breached BOOLEAN NOT NULL DEFAULT FALSE,
  -- 0 undecided, 1 met (stopped within target), 2 breached.
  outcome INT NOT NULL DEFAULT 0,
  -- When a running, not yet breached clock breaches; NULL otherwise.
  breach_due DATETIME(6) NULL,
  -- When it turns AT_RISK (or turned, if still undecided); NULL when decided.
  at_risk_time DATETIME(6) NULL,
  customer VARCHAR(64) NOT NULL,
  owner VARCHAR(100) NOT NULL,
  team VARCHAR(100) NOT NULL DEFAULT '',
  KEY k_complaint (complaint_id, id),
  KEY k_breach_due (breach_due),
  KEY k_at_risk (at_risk_time)
) ENGINE=InnoDB;

-- CMP-6: every clock transition, who, when, why.
CREATE TABLE IF NOT EXISTS clock_transitions (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  clock_id BIGINT NOT NULL,
  complaint_id BIGINT NOT NULL,
  action INT NOT NULL,               -- ClockAction
  at DATETIME(6) NOT NULL,
  actor VARCHAR(100) NOT NULL,
  reason VARCHAR(1000) NOT NULL DEFAULT '',
  target_seconds BIGINT NOT NULL DEFAULT 0,
  KEY k_complaint (complaint_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- CMP-2: hand-offs to back-office departments; the owner does not change.
CREATE TABLE IF NOT EXISTS transfers (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  complaint_id BIGINT NOT NULL,
  body BLOB NOT NULL,
  create_time DATETIME(6) NOT NULL,
  KEY k_complaint (complaint_id, id)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS timeline (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  complaint_id BIGINT NOT NULL,
  kind INT NOT NULL,
  text TEXT NOT NULL,
  author VARCHAR(100) NOT NULL,
  create_time DATETIME(6) NOT NULL,
  KEY k_complaint (complaint_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- CMP-3 targets; rows are seeded by the service from its defaults.
CREATE TABLE IF NOT EXISTS sla_policies (
  kind INT NOT NULL,
  severity INT NOT NULL,
  vip BOOLEAN NOT NULL,
  tier_class INT NOT NULL,
  first_response_seconds BIGINT NOT NULL,
  resolution_seconds BIGINT NOT NULL,
  basis INT NOT NULL,
  version BIGINT NOT NULL DEFAULT 1,
  update_time DATETIME(6) NOT NULL,
  updated_by VARCHAR(100) NOT NULL DEFAULT '',
  PRIMARY KEY (kind, severity, vip, tier_class)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS idempotency_keys (
  method VARCHAR(64) NOT NULL,
  request_id VARCHAR(64) NOT NULL,
  resource_name VARCHAR(200) NOT NULL,
  create_time DATETIME(6) NOT NULL,
  PRIMARY KEY (method, request_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
