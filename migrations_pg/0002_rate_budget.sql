-- The IM frequency limits shared by every node on this database (PostgreSQL only: one
-- SQLite file has one delivery worker in practice, whose in-process buckets suffice).
-- One row per budget ('app', 'group:<id>'): `tat` is the theoretical arrival time (GCRA)
-- of the next request in unix microseconds, on the database server's clock so that the
-- nodes' clocks need not agree.
CREATE TABLE rate_budget (
    key TEXT PRIMARY KEY,
    tat BIGINT NOT NULL
);
