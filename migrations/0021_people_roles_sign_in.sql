-- People, roles and sign-in (issue 23). Named console users with a role; their
-- server-side sessions and per-person API tokens, so that every node sharing the store
-- honours them. Nothing secret is kept in clear: a password as its Argon2id PHC string,
-- a setup code, a session id and an API token as their SHA-256.
CREATE TABLE users (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    name                  TEXT NOT NULL UNIQUE,
    role                  TEXT NOT NULL,
    password_hash         TEXT,
    setup_code_sha256     TEXT,
    setup_code_expires_at BIGINT,
    created_at            BIGINT NOT NULL,
    password_changed_at   BIGINT,
    disabled_at           BIGINT,
    -- Wrong passwords in a row (the throttle per account) and when the last one was.
    failed_sign_ins       BIGINT NOT NULL DEFAULT 0,
    last_failed_at        BIGINT
);
CREATE TABLE sessions (
    id_sha256    TEXT PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id),
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      BIGINT NOT NULL REFERENCES users (id),
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    last_used_at BIGINT,
    revoked_at   BIGINT,
    UNIQUE (user_id, name)
);
-- Who acted through which door (console, api_token, bootstrap_token, desktop, cli), and
-- the API token's name when one was used; '' for entries from before.
ALTER TABLE audit_log ADD COLUMN door TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN token_name TEXT NOT NULL DEFAULT '';
-- The audit log filtered by person, newest first.
CREATE INDEX audit_log_actor ON audit_log (actor, id);
