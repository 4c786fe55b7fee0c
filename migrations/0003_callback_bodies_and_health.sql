-- Recording callback bodies are kept as the bytes received (BLOB values in the body
-- column); body_bytes is the size received, which exceeds the stored length when only a
-- sample of a refused body was kept. NULL for rows from before: their body is whole.
ALTER TABLE recording_callbacks ADD COLUMN body_bytes BIGINT;

-- One row /healthz rewrites (at most every few seconds) to learn that the database and its
-- disk still take writes.
CREATE TABLE health_probe (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at BIGINT NOT NULL
);
