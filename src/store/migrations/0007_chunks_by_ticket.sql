-- Schema version 7: a ticket's event chunks are stored together, in a
-- table keyed by (ticket, chunk number).
--
-- Version 4 kept chunks in a table ordered by when they were written, with
-- an index by ticket: appending a chunk inserted into both, and reading a
-- ticket's timeline went from the index to the table once per chunk. Now
-- the table is ordered by ticket, so a ticket's chunks are read in one
-- range and appending writes one row. Chunks are numbered from 0 within
-- their ticket in the order they were written; the store appends number
-- `count of the ticket's chunks`, and compacting replaces them all by
-- number 0.
CREATE TABLE event_chunks_v7 (
    key       INTEGER NOT NULL,
    seq       INTEGER NOT NULL,
    -- As in version 4: the latest event time in the chunk, the number of
    -- its events, when it was written, and its events.
    max_at    INTEGER NOT NULL,
    count     INTEGER NOT NULL,
    stored_at INTEGER NOT NULL,
    events    BLOB    NOT NULL,
    PRIMARY KEY (key, seq)
) WITHOUT ROWID;

INSERT INTO event_chunks_v7 (key, seq, max_at, count, stored_at, events)
SELECT key, row_number() OVER (PARTITION BY key ORDER BY seq) - 1,
       max_at, count, stored_at, events
FROM event_chunks;

DROP TABLE event_chunks;
ALTER TABLE event_chunks_v7 RENAME TO event_chunks;
