-- The same as SQLite's 0019: a message's recording callback by the message, for the
-- message detail's source.
CREATE INDEX recording_callbacks_message ON recording_callbacks (message_id);
