-- AIP-155 request ids are scoped to the caller (the principal's subject):
-- another caller reusing a request id gets a resource of its own, never the
-- first caller's. VARBINARY compares subjects byte for byte (no case
-- folding, no trailing-space padding). Keys written before this migration
-- keep caller '' and no principal (whose subject is never empty) matches
-- them: they no longer replay.
ALTER TABLE idempotency_keys
  ADD COLUMN IF NOT EXISTS caller VARBINARY(255) NOT NULL DEFAULT '' AFTER method,
  DROP PRIMARY KEY,
  ADD PRIMARY KEY (method, caller, request_id);
