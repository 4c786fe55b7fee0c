-- A callback whose file is already the 1004 of another class or user is a `conflict`
-- (listed for an admin), not a `duplicate` (which only repeats the same claim). SQLite
-- cannot alter a CHECK constraint: the table is rebuilt with the same columns and indexes.
CREATE TABLE recording_callbacks_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at BIGINT NOT NULL,
    body        TEXT NOT NULL,
    status      TEXT NOT NULL
                CHECK (status IN ('accepted', 'duplicate', 'conflict', 'ignored', 'refused',
                                  'unmatched', 'assigned')),
    reason      TEXT,
    file_key    TEXT,
    class_id    TEXT,
    uid         TEXT,
    message_id  BIGINT REFERENCES messages (id),
    body_bytes  BIGINT
);
INSERT INTO recording_callbacks_new
    (id, received_at, body, status, reason, file_key, class_id, uid, message_id, body_bytes)
    SELECT id, received_at, body, status, reason, file_key, class_id, uid, message_id, body_bytes
    FROM recording_callbacks;
DROP TABLE recording_callbacks;
ALTER TABLE recording_callbacks_new RENAME TO recording_callbacks;
CREATE INDEX recording_callbacks_status ON recording_callbacks (status, id);
CREATE INDEX recording_callbacks_file ON recording_callbacks (file_key);
