-- As ../migrations/0013_imported_classes.sql: when a class was imported from another
-- ReplayDesk's bundle (a record for inspection: never delivered, resent or reconciled).
ALTER TABLE classes ADD COLUMN imported_at BIGINT;
