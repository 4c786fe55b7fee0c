-- The same as SQLite's 0017: a class keeps only its newest refused timeline reports, and
-- each refusal finds the cut through this index of refused reports alone.
CREATE INDEX timeline_reports_refused ON timeline_reports (class_id, id) WHERE accepted = 0;
