-- Schema version 5: a ticket's computed clocks in a compact BLOB.
--
-- Version 4 kept them as the JSON list of the engine's clock views, about
-- 1 KB per ticket: more than half of a backfilled file, and most of the
-- time of saving clocks and of loading them when the daemon starts. Now
-- they are the form of `src/store/codec.rs` (names, instants as offsets,
-- durations), about a fifth of that.
--
-- The store's code converts each version 4 row before the second half of
-- this file runs; a row that does not convert is dropped and its ticket
-- marked stale, so its clocks are computed again.

CREATE TABLE clocks_v5 (
    key         INTEGER PRIMARY KEY,
    config_hash TEXT    NOT NULL,
    clocks      BLOB    NOT NULL
);
