-- Per-member report credentials. Each class gets a random key; a member's credential is
-- HMAC-SHA256(key, class_id, uid), derived on demand, so nothing per student is stored.
-- The class-wide report token becomes a legacy option, off for new classes; classes that
-- existed before this migration keep it on so their clients keep working.
ALTER TABLE classes ADD COLUMN credential_key TEXT NOT NULL DEFAULT '';
ALTER TABLE classes ADD COLUMN legacy_class_token INTEGER NOT NULL DEFAULT 0
    CHECK (legacy_class_token IN (0, 1));
-- A uid the class does not know is refused unless the class allows open enrolment.
ALTER TABLE classes ADD COLUMN open_enrolment INTEGER NOT NULL DEFAULT 0
    CHECK (open_enrolment IN (0, 1));
UPDATE classes SET credential_key = lower(hex(randomblob(32))), legacy_class_token = 1,
    open_enrolment = 1;
