-- Request ids are client-chosen bytes (printable ASCII, common/db/idempotency):
-- "abc" and "ABC" are two requests. VARCHAR compared them case-insensitively
-- (the table's default collation), so a second create whose id differed only
-- in case was answered with the first one's resource and never written.
ALTER TABLE idempotency_keys MODIFY request_id VARBINARY(64) NOT NULL;
