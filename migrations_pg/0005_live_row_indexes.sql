-- The same as SQLite's 0015: the delivery worker's indexes hold only the rows it looks for.
-- `messages_due` was (status, next_attempt_at) over every message, each sent message in it
-- for good; now it holds only the messages waiting to be sent, in claim order (the claim's
-- `status IN ('pending', 'retrying')` matches the index's predicate). Taking back expired
-- leases gets a small index of the messages in flight. `messages_status_updated` stays:
-- the console's filter by status across classes and "recover everything failed since T"
-- use it.
DROP INDEX messages_due;
CREATE INDEX messages_due ON messages (next_attempt_at, id)
    WHERE status IN ('pending', 'retrying');
CREATE INDEX messages_leased ON messages (lease_until) WHERE status = 'sending';
