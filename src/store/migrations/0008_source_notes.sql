-- Schema version 8: what an adapter read past or could not map (a kind of
-- helpdesk record that changes nothing an SLA reads, a custom status the
-- account does not list), by source, with the span of helpdesk time it was
-- seen in, so a report can say so for its month.
CREATE TABLE source_notes (
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    first_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    PRIMARY KEY (source, kind, name)
) WITHOUT ROWID;
