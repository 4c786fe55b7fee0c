-- Recordings from TRTC cloud recording and from CSS recordings started by API (issue 22).
--
-- 1. A class may carry the TRTC room it is held in, kept as text: TRTC sends one numeric
--    room as a string in recording callbacks and as a number in room events, so both are
--    compared as the same text. Not unique: a school reuses a room for lesson after lesson;
--    a callback goes to the newest class of that room created before the recording.
ALTER TABLE classes ADD COLUMN room_id TEXT;
CREATE INDEX classes_room ON classes (room_id, created_at) WHERE room_id IS NOT NULL;

-- 2. Stream ids an admin registered for a member of a class: a CSS recording started by
--    API carries no stream_param, so its stream id is the only way to the class and user.
CREATE TABLE class_streams (
    class_id   TEXT NOT NULL REFERENCES classes (class_id) ON DELETE CASCADE,
    stream_id  TEXT NOT NULL,
    uid        TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (class_id, stream_id)
);
CREATE INDEX class_streams_stream ON class_streams (stream_id, created_at);

-- 3. Callbacks now come from two clouds (`source`), and a verified event that is part of a
--    recording's life but announces no file (a recorder started, a slice, an error) is
--    `recorded`. SQLite cannot alter a CHECK constraint: the table is rebuilt with the same
--    rows and indexes, as 0004 did.
CREATE TABLE recording_callbacks_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at BIGINT NOT NULL,
    body        TEXT NOT NULL,
    status      TEXT NOT NULL
                CHECK (status IN ('accepted', 'duplicate', 'conflict', 'ignored', 'refused',
                                  'unmatched', 'assigned', 'recorded')),
    reason      TEXT,
    file_key    TEXT,
    class_id    TEXT,
    uid         TEXT,
    message_id  BIGINT REFERENCES messages (id),
    body_bytes  BIGINT,
    source      TEXT NOT NULL DEFAULT 'css' CHECK (source IN ('css', 'trtc'))
);
INSERT INTO recording_callbacks_new
    (id, received_at, body, status, reason, file_key, class_id, uid, message_id, body_bytes)
    SELECT id, received_at, body, status, reason, file_key, class_id, uid, message_id, body_bytes
    FROM recording_callbacks;
DROP TABLE recording_callbacks;
ALTER TABLE recording_callbacks_new RENAME TO recording_callbacks;
CREATE INDEX recording_callbacks_status ON recording_callbacks (status, id);
CREATE INDEX recording_callbacks_file ON recording_callbacks (file_key);
CREATE INDEX recording_callbacks_message ON recording_callbacks (message_id);

-- 4. The recorder life: every recording status event from either cloud, one row per event
--    (a repeat of the same event adds none: `dedup_key` is unique), with the class and
--    member it belongs to when known, the file it names, the callback it came in and the
--    1004 it made. `source` 'manual' is a file an admin entered by hand (no callback).
--    A member's recorders are the rows of one (class_id, uid, source, task_id, media).
CREATE TABLE recorder_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    source        TEXT NOT NULL CHECK (source IN ('trtc', 'css', 'manual')),
    task_id       TEXT NOT NULL,
    class_id      TEXT REFERENCES classes (class_id),
    uid           TEXT,
    room_id       TEXT,
    stream_id     TEXT,
    media         TEXT,
    event_type    BIGINT NOT NULL,
    event_name    TEXT NOT NULL,
    stage         TEXT NOT NULL
                  CHECK (stage IN ('started', 'stopped', 'uploading', 'slice', 'ready',
                                   'error', 'failover', 'paused', 'resumed', 'other')),
    event_at      BIGINT,
    file_key      TEXT,
    file_start_ms BIGINT,
    file_end_ms   BIGINT,
    status        TEXT NOT NULL,
    detail        TEXT,
    dedup_key     TEXT NOT NULL UNIQUE,
    callback_id   BIGINT REFERENCES recording_callbacks (id),
    message_id    BIGINT REFERENCES messages (id),
    received_at   BIGINT NOT NULL
);
CREATE INDEX recorder_events_class ON recorder_events (class_id, uid, id);
CREATE INDEX recorder_events_task ON recorder_events (source, task_id, id);
CREATE INDEX recorder_events_message ON recorder_events (message_id);
CREATE INDEX recorder_events_stage ON recorder_events (stage, received_at);
