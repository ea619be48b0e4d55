-- Schema version 1 of the helpdesk-slo store.
--
-- Every table is keyed by `source` (the configured helpdesk name) first, so
-- several helpdesks share one file. Instants are Unix seconds (UTC). The JSON
-- columns hold the normalized records of `sources` (serde form); the plain
-- columns beside them are copies for indexes and conditions.

-- A ticket's latest header. Replaced only by a header at least as new.
CREATE TABLE tickets (
    source          TEXT    NOT NULL CHECK (source <> ''),
    id              TEXT    NOT NULL CHECK (id <> ''),
    updated_at      INTEGER NOT NULL,
    organization_id TEXT,
    deleted         INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    header          TEXT    NOT NULL,
    PRIMARY KEY (source, id)
) WITHOUT ROWID;

CREATE INDEX tickets_by_organization
    ON tickets (source, organization_id) WHERE organization_id IS NOT NULL;

-- A ticket's history, deduplicated by event id. `organization_id` (of an
-- organization change) and `author_id` (of a comment) are copied out of
-- `change` so a changed organization or user finds its tickets.
CREATE TABLE events (
    source          TEXT    NOT NULL CHECK (source <> ''),
    ticket_id       TEXT    NOT NULL CHECK (ticket_id <> ''),
    event_id        TEXT    NOT NULL CHECK (event_id <> ''),
    at              INTEGER NOT NULL,
    organization_id TEXT,
    author_id       TEXT,
    change          TEXT    NOT NULL,
    PRIMARY KEY (source, ticket_id, event_id)
) WITHOUT ROWID;

CREATE INDEX events_by_organization
    ON events (source, organization_id) WHERE organization_id IS NOT NULL;
CREATE INDEX events_by_author
    ON events (source, author_id) WHERE author_id IS NOT NULL;

-- The latest record of each organization.
CREATE TABLE organizations (
    source TEXT NOT NULL CHECK (source <> ''),
    id     TEXT NOT NULL CHECK (id <> ''),
    record TEXT NOT NULL,
    PRIMARY KEY (source, id)
) WITHOUT ROWID;

-- Who is an agent.
CREATE TABLE users (
    source TEXT    NOT NULL CHECK (source <> ''),
    id     TEXT    NOT NULL CHECK (id <> ''),
    agent  INTEGER NOT NULL CHECK (agent IN (0, 1)),
    PRIMARY KEY (source, id)
) WITHOUT ROWID;

-- Where each stream resumes; written in the transaction of its page.
CREATE TABLE cursors (
    source     TEXT    NOT NULL CHECK (source <> ''),
    stream     TEXT    NOT NULL CHECK (stream <> ''),
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (source, stream)
) WITHOUT ROWID;

-- The last computed clocks of a ticket (JSON list of the engine's clock
-- views) and the config hash they were computed with. `stale` is set in the
-- transaction that changes the ticket's timeline and cleared when new clocks
-- are saved, so a crash between the two leaves the ticket marked.
CREATE TABLE clocks (
    source      TEXT    NOT NULL CHECK (source <> ''),
    ticket_id   TEXT    NOT NULL CHECK (ticket_id <> ''),
    config_hash TEXT    NOT NULL,
    json        TEXT    NOT NULL,
    stale       INTEGER NOT NULL DEFAULT 0 CHECK (stale IN (0, 1)),
    PRIMARY KEY (source, ticket_id)
) WITHOUT ROWID;
