-- CUS-6 staleness announcer: the verification time (last_verified_at, or
-- create_time when never verified) whose lapse was last announced as
-- CustomerDataStale. A lapse is announced when this differs from the
-- current verification time, so a new verification starts a new lapse.
ALTER TABLE customers ADD COLUMN IF NOT EXISTS stale_announced_for DATETIME(6) NULL;
