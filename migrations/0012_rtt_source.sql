-- Which round trip corrected a timeline report's time_line: 'client' (its rtt_ms),
-- 'kernel' (the connection's TCP_INFO RTT), 'none' (receipt time). NULL for reports
-- stored before this column existed (read as client when rtt_ms is set, else none).
ALTER TABLE timeline_reports ADD COLUMN rtt_source TEXT;
