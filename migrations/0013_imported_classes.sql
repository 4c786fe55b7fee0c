-- A class imported from another ReplayDesk's bundle (`replaydesk import`,
-- POST /v1/admin/import) is a record for inspection, not work: when it was imported. Its
-- messages are never delivered, resent or reconciled, and it takes no reports.
ALTER TABLE classes ADD COLUMN imported_at BIGINT;
