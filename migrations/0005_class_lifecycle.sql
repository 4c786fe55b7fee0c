-- Class lifecycle: one 1001 and one 1002 per class. The class points at the message that
-- started it and the one that ended it; a report of either with a new timestamp (a client
-- retry) answers with that message instead of adding another. Only an admin's audited
-- reopen clears them (and counts the reopen).
ALTER TABLE classes ADD COLUMN start_message_id INTEGER REFERENCES messages (id);
ALTER TABLE classes ADD COLUMN end_message_id INTEGER REFERENCES messages (id);
ALTER TABLE classes ADD COLUMN reopen_count INTEGER NOT NULL DEFAULT 0;
-- Classes from before: their first 1001 / 1002 is the one that counts.
UPDATE classes SET
    start_message_id = (SELECT MIN(id) FROM messages m
                        WHERE m.class_id = classes.class_id AND m.msg_type = 1001),
    end_message_id = (SELECT MIN(id) FROM messages m
                      WHERE m.class_id = classes.class_id AND m.msg_type = 1002);
