-- The same as SQLite's 0018: a message's timeline reports by the message, for the
-- alignment's join of a class's messages to their accepted reports, which otherwise read
-- every stored report (tests/query_plans.rs checks the plans).
CREATE INDEX timeline_reports_message ON timeline_reports (message_id);
