-- A message's timeline reports by the message: the alignment joins each message of a class
-- to its accepted report (`r.message_id = m.id`), and without this index that join read
-- every stored report once per message, so a class's alignment and export slowed down
-- with the whole store instead of with the class (tests/query_plans.rs checks the plans
-- of every query a console page and the export run).
CREATE INDEX timeline_reports_message ON timeline_reports (message_id);
