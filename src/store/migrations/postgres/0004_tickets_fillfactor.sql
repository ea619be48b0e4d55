-- PostgreSQL store, schema version 4: room on each page of `tickets` for
-- the row's next versions. A batch of events updates its tickets' rows
-- (latest event time, chunk count, change time; no indexed column), and a
-- backfill brings most tickets' events in batches after their headers:
-- with free room on the row's own page the update is a heap-only one, with
-- no new entries in the table's two indexes. It applies to pages written
-- from now on; existing pages keep theirs until rewritten.
ALTER TABLE tickets SET (fillfactor = 75);
