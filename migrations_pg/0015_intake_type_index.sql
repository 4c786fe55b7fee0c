-- As SQLite's 0025: intake's 1003s no longer update a (class, type) index; the recording
-- statements (`msg_type = 1004`, a literal) read a partial index of the 1004s alone.
DROP INDEX messages_class_type;
CREATE INDEX messages_class_recordings ON messages (class_id, id) WHERE msg_type = 1004;
