-- PostgreSQL store, schema version 2: leases on sources, for several
-- daemons sharing one database (`src/store/lease.rs`). One row per source
-- ever leased: its holder (an instance name), the token of the holding
-- (one more at every acquisition; writes check it), and when the lease
-- expires by the database's clock.
CREATE TABLE source_leases (
    source     TEXT COLLATE "C" PRIMARY KEY,
    holder     TEXT NOT NULL,
    token      BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
