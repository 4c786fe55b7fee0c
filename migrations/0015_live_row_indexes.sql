-- The delivery worker's indexes hold only the rows it looks for. `messages_due` was
-- (status, next_attempt_at) over every message: each sent message stayed in it for good,
-- and a claim (`status IN ('pending', 'retrying') ... ORDER BY next_attempt_at, id`) read
-- both statuses' entries and sorted them in a temporary B-tree on every claim. Now it holds
-- only the messages waiting to be sent, in claim order, and a message leaves it when it is
-- claimed. Taking back expired leases (`status = 'sending' AND lease_until ...`) gets a
-- small index of the messages in flight instead of a scan of every message. SQLite, never
-- `ANALYZE`d, would still pick `messages_status_updated` for these: the worker names the two
-- partial indexes (`INDEXED BY`, src/store/messages.rs).
-- `messages_status_updated` stays: the console's filter by status across classes and
-- "recover everything failed since T" (status, updated_at) use it.
DROP INDEX messages_due;
CREATE INDEX messages_due ON messages (next_attempt_at, id)
    WHERE status IN ('pending', 'retrying');
CREATE INDEX messages_leased ON messages (lease_until) WHERE status = 'sending';
