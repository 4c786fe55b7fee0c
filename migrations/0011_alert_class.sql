-- An alert may be about one class (e.g. its IM group is missing): one open alert per kind
-- and class, and the console offers the class's fix.
ALTER TABLE alerts ADD COLUMN class_id TEXT;
CREATE INDEX alerts_open_class ON alerts (kind, class_id, cleared_at);
