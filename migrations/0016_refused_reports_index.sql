-- A class keeps only its newest refused timeline reports: each refusal deletes those past
-- the cut, found through this index of refused reports alone (the class's accepted reports,
-- however many, are not read).
CREATE INDEX timeline_reports_refused ON timeline_reports (class_id, id) WHERE accepted = 0;
