-- The ReplayGroup archive (issue 25). `group_history` stays the one copy of a class's
-- group history: reconcile and the archiver both write it, and a message's body is never
-- replaced by the IM's later placeholder for it (`is_place`: the stored item is one).
ALTER TABLE group_history ADD COLUMN is_place BIGINT NOT NULL DEFAULT 0;
-- A large item is kept zlib-compressed here (and `item` is then empty): whiteboard strokes
-- compress to about half.
ALTER TABLE group_history ADD COLUMN item_z BLOB;
UPDATE group_history SET is_place = 1
    WHERE item LIKE '%"IsPlaceMsg":1%' OR item LIKE '%"IsPlaceMsg":"1"%';

-- Where each class's archive stands. `last_seq`: every MsgSeq up to it has been read (as a
-- message or a hole). `unarchived_since`: the earliest time (unix ms) a message not yet
-- archived may have been sent, NULL when nothing is outstanding; the deadline is it plus
-- the IM's retention.
CREATE TABLE archive_state (
    class_id         TEXT PRIMARY KEY REFERENCES classes (class_id),
    state            TEXT NOT NULL CHECK (state IN ('pending', 'complete', 'partial', 'failed')),
    last_seq         BIGINT NOT NULL DEFAULT 0,
    error            TEXT,
    unarchived_since BIGINT,
    last_run_at      BIGINT,
    final_pass_at    BIGINT,
    updated_at       BIGINT NOT NULL
);

-- MsgSeq runs the archive does not hold a message for, and why (expired in the IM,
-- missing from its answers, or a page that kept failing).
CREATE TABLE archive_holes (
    class_id TEXT NOT NULL REFERENCES classes (class_id),
    from_seq BIGINT NOT NULL,
    to_seq   BIGINT NOT NULL,
    reason   TEXT NOT NULL,
    PRIMARY KEY (class_id, from_seq)
);

-- Each archiving pass, the job an admin's "archive now" answers with its progress.
CREATE TABLE archive_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    class_id    TEXT NOT NULL REFERENCES classes (class_id),
    state       TEXT NOT NULL CHECK (state IN ('running', 'finished', 'failed')),
    cause       TEXT NOT NULL,
    pages       BIGINT NOT NULL DEFAULT 0,
    fetched     BIGINT NOT NULL DEFAULT 0,
    error       TEXT,
    actor       TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX archive_runs_class ON archive_runs (class_id, id);
CREATE INDEX archive_runs_state ON archive_runs (state);
