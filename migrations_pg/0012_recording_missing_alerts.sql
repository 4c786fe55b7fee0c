-- Recordings that never arrive (issue 22, item 3; as SQLite 0022): one `recording_missing` alert per
-- recorder that started and produced no file, so a class with three silent recorders has
-- three alerts, each cleared on its own when its file comes (from the cloud or by hand).
--
-- `subject` names what an alert is about within its class (for `recording_missing`:
-- `<source>|<task_id>|<uid>|<media>`). At most one open alert per kind, class and subject:
-- several nodes on one database run the same periodic check, and the unique index (not a
-- read before the write) is what makes a second raise of the same alert add nothing.
ALTER TABLE alerts ADD COLUMN subject TEXT;
CREATE UNIQUE INDEX alerts_open_subject ON alerts (kind, class_id, subject)
    WHERE cleared_at IS NULL AND subject IS NOT NULL;
