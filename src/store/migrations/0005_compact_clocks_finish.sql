-- Schema version 5, second half: the JSON clocks give way to the compact
-- ones (converted by the store's code in the same transaction).

DROP TABLE clocks;
ALTER TABLE clocks_v5 RENAME TO clocks;
