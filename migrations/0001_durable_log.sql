-- ReplayDesk's durable log. Portable SQL where SQLite allows it: plain types, CHECK
-- constraints for enumerations, times as unix milliseconds in BIGINT columns. The later
-- PostgreSQL store will keep these tables and columns (ids become GENERATED identities).

-- A class and the ReplayGroup its messages go to.
CREATE TABLE classes (
    class_id            TEXT PRIMARY KEY,
    group_id            TEXT NOT NULL UNIQUE,
    teacher_uid         TEXT NOT NULL,
    -- SHA-256 (hex) of the per-class report token; the token itself is never stored.
    report_token_sha256 TEXT NOT NULL,
    state               TEXT NOT NULL DEFAULT 'created'
                        CHECK (state IN ('created', 'started', 'ended')),
    created_at          BIGINT NOT NULL,
    started_at          BIGINT,
    ended_at            BIGINT
);

-- Members are learnt from reports (and the teacher at creation).
CREATE TABLE class_members (
    class_id      TEXT NOT NULL REFERENCES classes (class_id) ON DELETE CASCADE,
    uid           TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('teacher', 'student')),
    first_seen_at BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    PRIMARY KEY (class_id, uid)
);

-- One row per logical protocol message: its exact Data text and where its delivery stands.
CREATE TABLE messages (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    class_id         TEXT NOT NULL REFERENCES classes (class_id),
    group_id         TEXT NOT NULL,
    msg_type         INTEGER NOT NULL CHECK (msg_type IN (1001, 1002, 1003, 1004)),
    uid              TEXT NOT NULL,
    seq              BIGINT NOT NULL,
    -- The IM duplicate filter's key, reused on automatic retries.
    random           BIGINT NOT NULL CHECK (random BETWEEN 0 AND 4294967295),
    data             TEXT NOT NULL,
    -- What makes two requests the same logical message (a repeated report or callback).
    dedup_key        TEXT NOT NULL,
    status           TEXT NOT NULL
                     CHECK (status IN ('pending', 'sending', 'sent', 'retrying', 'failed')),
    attempt_count    INTEGER NOT NULL DEFAULT 0,
    -- Position in the retry schedule: only transient failures advance it.
    retry_step       INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT,
    -- How the next attempt was asked for: scheduled, manual or bulk.
    next_trigger     TEXT NOT NULL DEFAULT 'scheduled'
                     CHECK (next_trigger IN ('scheduled', 'manual', 'bulk')),
    -- Start of the earliest attempt with the current Random whose outcome is unknown
    -- (timeout, lost response): the message may already be in the group.
    ambiguous_since  BIGINT,
    last_error       TEXT,
    im_msg_seq       BIGINT,
    im_msg_time      BIGINT,
    lease_owner      TEXT,
    lease_until      BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    sent_at          BIGINT,
    UNIQUE (group_id, seq),
    UNIQUE (class_id, dedup_key)
);
CREATE INDEX messages_due ON messages (status, next_attempt_at);
CREATE INDEX messages_class_id ON messages (class_id, id);
CREATE INDEX messages_class_status ON messages (class_id, status, id);
CREATE INDEX messages_class_type ON messages (class_id, msg_type, id);
CREATE INDEX messages_class_uid ON messages (class_id, uid, id);
CREATE INDEX messages_status_updated ON messages (status, updated_at);

-- Append-only: every delivery attempt and what came of it.
CREATE TABLE attempts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id      BIGINT NOT NULL REFERENCES messages (id),
    trigger_kind    TEXT NOT NULL CHECK (trigger_kind IN ('scheduled', 'manual', 'bulk', 'recovery')),
    random          BIGINT NOT NULL,
    started_at      BIGINT NOT NULL,
    duration_ms     BIGINT NOT NULL,
    http_status     INTEGER,
    im_error_code   BIGINT,
    im_error_info   TEXT,
    transport_error TEXT,
    outcome         TEXT NOT NULL
);
CREATE INDEX attempts_message ON attempts (message_id, id);

-- Every timeline report as received, accepted or not.
CREATE TABLE timeline_reports (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    class_id         TEXT,
    uid              TEXT,
    client_timestamp BIGINT,
    rtt_ms           BIGINT,
    received_at      BIGINT NOT NULL,
    time_line        BIGINT,
    uncertainty_ms   BIGINT,
    message_id       BIGINT REFERENCES messages (id),
    accepted         INTEGER NOT NULL CHECK (accepted IN (0, 1)),
    refusal_reason   TEXT,
    body             TEXT NOT NULL
);
CREATE INDEX timeline_reports_class ON timeline_reports (class_id, id);

-- Every recording callback body as received, and what became of it.
CREATE TABLE recording_callbacks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at BIGINT NOT NULL,
    body        TEXT NOT NULL,
    status      TEXT NOT NULL
                CHECK (status IN ('accepted', 'duplicate', 'ignored', 'refused', 'unmatched', 'assigned')),
    reason      TEXT,
    file_key    TEXT,
    class_id    TEXT,
    uid         TEXT,
    message_id  BIGINT REFERENCES messages (id)
);
CREATE INDEX recording_callbacks_status ON recording_callbacks (status, id);
CREATE INDEX recording_callbacks_file ON recording_callbacks (file_key);

-- Background jobs (bulk resend, recovery): their filter, and the messages they took on.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL CHECK (kind IN ('bulk_resend', 'recover_failed')),
    filter      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    -- 'enqueuing' while it is still choosing messages (resumable from cursor).
    state       TEXT NOT NULL CHECK (state IN ('enqueuing', 'running', 'finished')),
    cursor      BIGINT NOT NULL DEFAULT 0,
    total_expected BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE TABLE job_messages (
    job_id     BIGINT NOT NULL REFERENCES jobs (id),
    message_id BIGINT NOT NULL REFERENCES messages (id),
    PRIMARY KEY (job_id, message_id)
);

-- Conditions the console must show until they are cleared (e.g. wrong IM credentials).
CREATE TABLE alerts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL,
    detail     TEXT NOT NULL,
    raised_at  BIGINT NOT NULL,
    cleared_at BIGINT
);
CREATE INDEX alerts_open ON alerts (kind, cleared_at);

-- Every administrative action.
CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     BIGINT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);
