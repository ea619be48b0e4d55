-- Schema version 9: each ticket's latest event instant, kept in its row
-- (the `max_at` of its last chunk, which includes the chunks before it),
-- so a scan of every ticket tells which changed recently without a look-up
-- in event_chunks per ticket: a report of a million tickets had read the
-- whole chunk table for it. NULL while the ticket has no events; a newer
-- event is written only when the ticket's updated_at does not cover it, so
-- the later of the two is the ticket's latest reported change.
ALTER TABLE tickets ADD COLUMN last_event_at INTEGER;
UPDATE tickets SET last_event_at =
    (SELECT max(c.max_at) FROM event_chunks c WHERE c.key = tickets.key);
