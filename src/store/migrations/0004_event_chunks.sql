-- Schema version 4: a ticket's events in chunks, appended.
--
-- Version 3 kept all of a ticket's events in one BLOB in the ticket's row,
-- so every transaction that brought a ticket new events read, merged and
-- wrote back all of its events (and its header): a backfill, whose events
-- stream brings a ticket's events over several transactions, rewrote each
-- ticket about four times. Now a transaction appends one chunk per ticket
-- with only the events it has not stored yet, and the ticket's row holds
-- the header alone.
--
-- The store's code moves each version 3 row's events into a chunk before
-- the second half of this file runs.

-- Events of one ticket (`key` is the ticket's), in the form of
-- `src/store/codec.rs`, sorted by (at, id). No event id appears in two
-- chunks of a ticket: an event is appended only if no chunk has it. A
-- ticket's timeline is all its chunks' events, sorted by (at, id).
CREATE TABLE event_chunks (
    seq       INTEGER PRIMARY KEY,
    key       INTEGER NOT NULL,
    -- The latest event time in the chunk: an event later than every chunk's
    -- cannot be stored yet (an event's time never changes), so appending it
    -- needs no look at the stored events.
    max_at    INTEGER NOT NULL,
    count     INTEGER NOT NULL,
    -- When the chunk was written (Unix seconds, the daemon's clock): when
    -- the ticket's timeline changed.
    stored_at INTEGER NOT NULL,
    events    BLOB    NOT NULL
);

-- A ticket's chunks; with `max_at`, enough to decide an append.
CREATE INDEX event_chunks_by_key ON event_chunks (key, max_at);
