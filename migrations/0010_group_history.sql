-- A ReplayGroup's history as reconcile fetched it, kept read-only beside the class (one
-- row per MsgSeq, the RspMsgList item exactly as received), and the reconcile runs with
-- their resumable cursor and their report.
CREATE TABLE group_history (
    class_id   TEXT NOT NULL REFERENCES classes (class_id),
    im_msg_seq BIGINT NOT NULL,
    item       TEXT NOT NULL,
    fetched_at BIGINT NOT NULL,
    PRIMARY KEY (class_id, im_msg_seq)
);

CREATE TABLE reconcile_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    class_id    TEXT NOT NULL REFERENCES classes (class_id),
    state       TEXT NOT NULL CHECK (state IN ('running', 'finished', 'failed')),
    -- The next page's ReqMsgSeq (the oldest MsgSeq fetched − 1); NULL: from the newest.
    cursor      BIGINT,
    pages       BIGINT NOT NULL DEFAULT 0,
    fetched     BIGINT NOT NULL DEFAULT 0,
    error       TEXT,
    actor       TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    finished_at BIGINT,
    -- The comparison with the log (JSON ReconcileReport) once finished.
    report      TEXT
);
CREATE INDEX reconcile_runs_class ON reconcile_runs (class_id, id);
