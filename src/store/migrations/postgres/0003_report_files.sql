-- PostgreSQL store, schema version 3: monthly reports kept in the
-- database, so that every daemon sharing it serves them, and the
-- scheduled runs claimed, so that one daemon of the fleet writes each.
CREATE TABLE report_files (
    name     TEXT COLLATE "C" PRIMARY KEY,
    content  BYTEA NOT NULL,
    -- Unix seconds, the writing daemon's clock.
    saved_at BIGINT NOT NULL
);

-- A scheduled report run (its instant, Unix seconds) and the instance
-- that claimed it.
CREATE TABLE report_runs (
    at     BIGINT PRIMARY KEY,
    holder TEXT NOT NULL
);
