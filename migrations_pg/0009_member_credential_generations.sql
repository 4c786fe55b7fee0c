-- A member's credential can be issued again and revoked. The credential carries the
-- member's generation, and only the current one is accepted; generation 0 is the
-- credential derived before issuing existed (`rdc1.`), so members of existing classes
-- keep reporting with theirs until an admin issues a new one or revokes it.
ALTER TABLE class_members ADD COLUMN credential_generation BIGINT NOT NULL DEFAULT 0;
ALTER TABLE class_members ADD COLUMN credential_issued_at BIGINT;
ALTER TABLE class_members ADD COLUMN credential_revoked_at BIGINT;
-- The audit log filtered by action, newest first (the console's filter).
CREATE INDEX audit_log_action ON audit_log (action, id);
