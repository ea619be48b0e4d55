-- Schema version 2: when data arrived, and when each source was polled.
--
-- Reports say which tickets of a closed month changed after it closed (a
-- re-issue note) and where polling had gaps, so both need the daemon's own
-- time, not the helpdesk's.

-- When the ticket's timeline last changed in this store (Unix seconds; 0 for
-- tickets stored before version 2).
ALTER TABLE tickets ADD COLUMN changed_at INTEGER NOT NULL DEFAULT 0;

CREATE INDEX tickets_by_changed_at ON tickets (source, changed_at);

-- One row per completed poll of a source (every stream caught up).
CREATE TABLE polls (
    source TEXT    NOT NULL CHECK (source <> ''),
    at     INTEGER NOT NULL,
    PRIMARY KEY (source, at)
) WITHOUT ROWID;
