-- Schema version 3: one row per ticket, its events in one compact BLOB.
--
-- Version 2 kept a row and a JSON text per event, under a text primary key
-- and two indexes; a backfill touched several B-tree entries per event and
-- the file grew to about 4.7 KB per ticket. Now a page touches one row per
-- ticket (read, merge the new events, write back), rows have an integer
-- `key`, and the computed clocks and the reverse lookups hang off that key.
--
-- The store's code copies the version 2 rows over (`tickets_v3` is filled
-- from `tickets` and `events`) before the second half of this file runs.

-- A ticket: its latest header (NULL until the header arrives; events may
-- come first) and its events (see `src/store/codec.rs`), sorted by
-- (at, id) and deduplicated by id.
CREATE TABLE tickets_v3 (
    key             INTEGER PRIMARY KEY,
    source          TEXT    NOT NULL CHECK (source <> ''),
    id              TEXT    NOT NULL CHECK (id <> ''),
    header          TEXT,
    updated_at      INTEGER,
    created_at      INTEGER,
    organization_id TEXT,
    -- Copied out of the header: a merge decides with it which comment
    -- authors need a user lookup without decoding the header.
    requester_id    TEXT,
    deleted         INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    events          BLOB    NOT NULL,
    event_count     INTEGER NOT NULL DEFAULT 0,
    changed_at      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (source, id)
);

-- The last computed clocks of a ticket (JSON list of the engine's clock
-- views) and the config hash they were computed with; `key` is the
-- ticket's.
CREATE TABLE clocks_v3 (
    key         INTEGER PRIMARY KEY,
    config_hash TEXT    NOT NULL,
    json        TEXT    NOT NULL
);

-- Tickets whose timeline changed after their clocks were computed, or
-- whose clocks never were: added with the change, removed when the clocks
-- are saved (a table of its own, so neither rewrites the ticket's row).
CREATE TABLE stale_tickets (
    key INTEGER PRIMARY KEY
);

-- Which tickets refer to an organization ('o') or to a comment author other
-- than the requester ('u'), so a changed organization or user finds its
-- tickets. Only ever added to: an extra pair costs a needless recompute, a
-- missing one a wrong clock.
CREATE TABLE ticket_refs (
    source TEXT    NOT NULL,
    kind   TEXT    NOT NULL CHECK (kind IN ('o', 'u')),
    ref    TEXT    NOT NULL,
    key    INTEGER NOT NULL,
    PRIMARY KEY (source, kind, ref, key)
) WITHOUT ROWID;
