-- Heartbeats (issue 24). Heartbeats themselves are not stored: each node tracks its
-- members' clocks in memory and writes this summary every second or so.
--
-- `member_presence`: one row per class member that ever heartbeat; the newest summary
-- of its clock (run; offset and uncertainty in ms, drift in parts per billion) and when it was last seen. Every node
-- reads it to decide whether a class fell silent.
CREATE TABLE member_presence (
    class_id TEXT NOT NULL,
    uid TEXT NOT NULL,
    last_seen_at INTEGER NOT NULL,
    heartbeats INTEGER NOT NULL,
    clock_run INTEGER NOT NULL,
    last_client_ms INTEGER NOT NULL,
    last_server_ms INTEGER NOT NULL,
    offset_ms INTEGER,
    drift_ppb INTEGER,
    uncertainty_ms INTEGER,
    -- Server time of the oldest sample the line rests on: a node resuming the track
    -- from this summary lays the line over the same stretch.
    line_from_ms INTEGER,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (class_id, uid)
);
CREATE INDEX member_presence_seen ON member_presence (class_id, last_seen_at);

-- Each member's spans of continuous presence: from the heartbeat that began one (the
-- first, or the first after a silence longer than the console's `away`) to the last seen
-- in it. A node writes the span it sees with the member's summary; spans written by two
-- nodes (a take-over) that touch are joined when read.
CREATE TABLE presence_spans (
    class_id TEXT NOT NULL,
    uid TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at INTEGER NOT NULL,
    PRIMARY KEY (class_id, uid, started_at)
);

-- A 1003 ReplayDesk sent for a member from its tracked clock, and why. At most one per
-- earlier 1003 of that member (`prev_message_id`, 0 when there was none): several nodes
-- that decide the same re-anchor at once insert one row, and only that one sends.
CREATE TABLE heartbeat_reanchors (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    class_id TEXT NOT NULL,
    uid TEXT NOT NULL,
    prev_message_id INTEGER NOT NULL,
    reason TEXT NOT NULL,
    clock_run INTEGER NOT NULL,
    message_id INTEGER,
    offset_ms INTEGER NOT NULL,
    moved_ms INTEGER,
    uncertainty_ms INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX heartbeat_reanchors_once ON heartbeat_reanchors (class_id, uid, prev_message_id);

-- Who or what ended a class, when ReplayDesk did: `silence` (no heartbeat from anyone for
-- `heartbeat.silence_end`). NULL for a class its teacher (or an admin) ended.
ALTER TABLE classes ADD COLUMN ended_by TEXT;
