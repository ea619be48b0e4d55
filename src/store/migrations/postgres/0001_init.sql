-- PostgreSQL store, schema version 1: the same records as the SQLite
-- store's version 8 (tickets, their events in chunks, clocks, cursors),
-- written by multi-row statements. Identifiers compare byte by byte (COLLATE "C"), as in SQLite,
-- whatever the database's locale: listings sorted by id come out in the
-- same order from both stores.

-- A ticket: its latest header (compact form, `src/store/codec.rs`), the
-- header's fields the store filters on, and when the store last changed
-- its data (`changed_at`, Unix seconds, the daemon's clock). A row without
-- a header holds events that arrived before their ticket. Rows are never
-- deleted: a deleted ticket keeps its row so older snapshots cannot revive it.
CREATE TABLE tickets (
    key             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source          TEXT COLLATE "C" NOT NULL,
    id              TEXT COLLATE "C" NOT NULL,
    header          BYTEA,
    updated_at      BIGINT,
    created_at      BIGINT,
    organization_id TEXT COLLATE "C",
    requester_id    TEXT COLLATE "C",
    deleted         BOOLEAN NOT NULL DEFAULT false,
    changed_at      BIGINT NOT NULL,
    -- The latest stored event's time (events never change their time): a
    -- batch's events later than it cannot be stored yet.
    last_event_at   BIGINT,
    -- How many event chunks the ticket has.
    chunks          INTEGER NOT NULL DEFAULT 0,
    UNIQUE (source, id)
);

-- The tables below refer to a ticket by its key. No foreign keys: the
-- store writes a ticket's row before anything that refers to it and never
-- deletes one, and a foreign key's check on every row of a backfill's
-- multi-row inserts cost more than the insert itself.

-- A ticket's events in chunks, each in the compact form of
-- `src/store/codec.rs` (a run of event frames, each with its id and time),
-- sorted by (at, id). No event id is in two chunks of a ticket. A batch of
-- pages appends one chunk per ticket with the events not stored yet;
-- chunks are numbered from 0 in the order written, and a ticket with many
-- has them merged into one (number 0). One row per ticket and batch, not
-- per event: a backfill writes about 15 times fewer rows and index entries.
CREATE TABLE event_chunks (
    key    BIGINT NOT NULL,
    seq    INTEGER NOT NULL,
    -- The latest event time in the chunk, and how many events it holds.
    max_at BIGINT NOT NULL,
    count  INTEGER NOT NULL,
    events BYTEA NOT NULL,
    PRIMARY KEY (key, seq)
);

-- Tickets whose clocks are missing or older than their timeline.
CREATE TABLE stale_tickets (
    key BIGINT PRIMARY KEY
);

-- Computed clocks (compact form) and the config hash they were computed under.
CREATE TABLE clocks (
    key         BIGINT PRIMARY KEY,
    config_hash TEXT NOT NULL,
    clocks      BYTEA NOT NULL
);

-- Which tickets read which organization (`o`) or user (`u`), so a change
-- of one marks them stale.
CREATE TABLE ticket_refs (
    source TEXT COLLATE "C" NOT NULL,
    kind   TEXT COLLATE "C" NOT NULL,
    ref    TEXT COLLATE "C" NOT NULL,
    key    BIGINT NOT NULL,
    PRIMARY KEY (source, kind, ref, key)
);

CREATE TABLE organizations (
    source TEXT COLLATE "C" NOT NULL,
    id     TEXT COLLATE "C" NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (source, id)
);

CREATE TABLE users (
    source TEXT COLLATE "C" NOT NULL,
    id     TEXT COLLATE "C" NOT NULL,
    agent  BOOLEAN NOT NULL,
    PRIMARY KEY (source, id)
);

CREATE TABLE cursors (
    source     TEXT COLLATE "C" NOT NULL,
    stream     TEXT COLLATE "C" NOT NULL,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (source, stream)
);

CREATE TABLE polls (
    source TEXT COLLATE "C" NOT NULL,
    at     BIGINT NOT NULL,
    PRIMARY KEY (source, at)
);

CREATE TABLE source_notes (
    source   TEXT COLLATE "C" NOT NULL,
    kind     TEXT COLLATE "C" NOT NULL,
    name     TEXT COLLATE "C" NOT NULL,
    first_at BIGINT NOT NULL,
    last_at  BIGINT NOT NULL,
    PRIMARY KEY (source, kind, name)
);
