-- Schema version 4, second half: the events left the tickets' rows.

ALTER TABLE tickets DROP COLUMN events;
ALTER TABLE tickets DROP COLUMN event_count;
