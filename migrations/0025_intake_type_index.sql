-- Intake writes a 1003 for nearly every report, and each insert updated every index of
-- `messages`. `messages_class_type` (class_id, msg_type, id) held every message, but the
-- only statements that need a class's messages of one type by index are the recording
-- ones (`msg_type = 1004`, written as a literal: missing.rs). They get a partial index of
-- the 1004s alone, which a 1003 never touches. The console's type filter within a class
-- reads messages_class_status or messages_class_id (both a search of the class, never of
-- the whole store: tests/it/query_plans.rs); across classes it was a walk by id already.
DROP INDEX messages_class_type;
CREATE INDEX messages_class_recordings ON messages (class_id, id) WHERE msg_type = 1004;
