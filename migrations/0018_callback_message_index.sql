-- A message's recording callback by the message: the message detail names the callback a
-- 1004 was made from (and, by 0018's index, the report a 1003 was made from), instead of
-- the console paging through every callback to find it.
CREATE INDEX recording_callbacks_message ON recording_callbacks (message_id);
